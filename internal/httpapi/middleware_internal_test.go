package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestPanicsBecomeProblems(t *testing.T) {
	var logs bytes.Buffer
	h := observe(slog.New(slog.NewJSONHandler(&logs, nil)), newMetrics(prometheus.NewRegistry()), DefaultRequestTimeout,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("secret internal detail")
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 500 || p.Code != "internal" || p.RequestID != resp.Header.Get("X-Request-Id") || p.RequestID == "" {
		t.Errorf("got %d %+v", resp.StatusCode, p)
	}
	if strings.Contains(p.Detail, "secret internal detail") {
		t.Errorf("the panic's text reached the client: %q", p.Detail)
	}
	if !strings.Contains(logs.String(), "secret internal detail") || !strings.Contains(logs.String(), `"requestId":"`+p.RequestID) {
		t.Errorf("the panic was not logged with its request id:\n%s", logs.String())
	}
}
