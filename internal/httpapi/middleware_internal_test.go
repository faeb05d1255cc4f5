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

// TestRequestLinesNameTheRequestFirst: the request line and a line a
// handler logs both carry the request ID, right after the message, before
// the line's own attributes, under a logger's own group.
func TestRequestLinesNameTheRequestFirst(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil)).With(slog.String("node", "n1")).WithGroup("http")
	h := observe(log, newMetrics(prometheus.NewRegistry()), DefaultRequestTimeout,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requestInfoFrom(r.Context()).log().Warn("handler line", slog.String("detail", "x"))
			w.WriteHeader(http.StatusTeapot)
		}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/tea", nil))
	id := w.Header().Get("X-Request-Id")
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines:\n%s", len(lines), logs.String())
	}
	for i, want := range []string{
		`"msg":"handler line","node":"n1","http":{"requestId":"` + id + `","detail":"x"}}`,
		`"msg":"request","node":"n1","http":{"requestId":"` + id + `","method":"GET","route":"unmatched","status":418,"durationMs":`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d:\n%s\nlacks\n%s", i, lines[i], want)
		}
	}
}
