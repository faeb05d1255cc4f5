package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/roster-dev/roster/internal/directory"
)

// received is one request a test receiver got.
type received struct {
	Header http.Header
	Body   []byte
	// VerifyErr is what the Standard Webhooks library said of its signature.
	VerifyErr error
}

// receiver is an endpoint on loopback that records every request and checks
// its signature with the Standard Webhooks reference library, not with this
// package's code.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	secret string
	// release unblocks handlers that wait; closed when the test ends.
	release chan struct{}

	mu  sync.Mutex
	got []received
}

// newReceiver starts a receiver whose answer to its nth request (from 1) is
// written by answer, after the request is recorded.
func newReceiver(t testing.TB, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{t: t, secret: newSecret(), release: make(chan struct{})}
	wh, err := standardwebhooks.NewWebhook(rc.secret)
	if err != nil {
		t.Fatalf("standardwebhooks.NewWebhook: %v", err)
	}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		rec := received{Header: r.Header.Clone(), Body: body, VerifyErr: wh.Verify(body, r.Header)}
		rc.mu.Lock()
		rc.got = append(rc.got, rec)
		n := len(rc.got)
		rc.mu.Unlock()
		answer(n, w, r)
	}))
	// Cleanups run last in, first out: handlers are released before the
	// server waits for them.
	t.Cleanup(rc.srv.Close)
	t.Cleanup(func() { close(rc.release) })
	return rc
}

// requests returns a copy of what the receiver got so far.
func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// endpoint returns an endpoint of the given kind pointing at the receiver.
func (rc *receiver) endpoint(id, kind string) *directory.Endpoint {
	return &directory.Endpoint{
		ID: id, TenantID: "ten_1", URL: rc.srv.URL + "/hook", Kind: kind,
		Secret: rc.secret, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// wait blocks until the request's context ends or the test ends.
func (rc *receiver) wait(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-rc.release:
	}
}

// answerJSON returns an answer that writes status and body.
func answerJSON(status int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
