package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/roster-dev/roster/client"
)

// flaky stands in front of a real server: it answers the first fail
// requests itself with status and Retry-After, then proxies the rest, and
// records each request's Idempotency-Key.
type flaky struct {
	mu         sync.Mutex
	fail       int
	status     int
	retryAfter string
	keys       []string // the Idempotency-Key of each request, in order
	srv        *httptest.Server
}

func newFlaky(t *testing.T, target string, fail, status int, retryAfter string) *flaky {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	f := &flaky{fail: fail, status: status, retryAfter: retryAfter}
	proxy := httputil.NewSingleHostReverseProxy(u)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
		failing := f.fail > 0
		f.fail--
		f.mu.Unlock()
		if !failing {
			proxy.ServeHTTP(w, r)
			return
		}
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-Id", "01JD8X2Q5T3N6W9Y0Z1A2B3C4D")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, `{"type":"https://roster.dev/problems/unavailable","title":"Unavailable","status":%d,"detail":"try later","code":"unavailable","request_id":"01JD8X2Q5T3N6W9Y0Z1A2B3C4D"}`, f.status)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flaky) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

func TestRetryOn503HonoursRetryAfter(t *testing.T) {
	e := newEnv(t)
	f := newFlaky(t, e.url, 2, http.StatusServiceUnavailable, "1")
	c := client.New(f.srv.URL, e.token)
	start := time.Now()
	u, err := c.Create(context.Background(), client.UserInput{Email: "retry@example.com"})
	if err != nil {
		t.Fatalf("create through two 503s: %v", err)
	}
	if d := time.Since(start); d < 2*time.Second {
		t.Errorf("retried after %v, want the two Retry-After: 1 waited", d)
	}
	keys := f.requests()
	if len(keys) != 3 {
		t.Fatalf("%d requests, want 3", len(keys))
	}
	if keys[0] == "" || keys[1] != keys[0] || keys[2] != keys[0] {
		t.Errorf("idempotency keys %q, want one key on every attempt", keys)
	}
	if got := collect(t, e.client().List(context.Background(), client.ListOptions{Email: "retry@example.com"})); len(got) != 1 || got[0].ID != u.ID {
		t.Errorf("stored %v, want the one user", got)
	}

	// Another call is another write, with another key.
	if _, err := c.Update(context.Background(), u.ID, client.UserPatch{Name: client.Set("R")}); err != nil {
		t.Fatal(err)
	}
	if keys := f.requests(); len(keys) != 4 || keys[3] == "" || keys[3] == keys[0] {
		t.Errorf("second write's key %q, want a fresh one", keys[3:])
	}
}

func TestRetryOn429(t *testing.T) {
	e := newEnv(t)
	f := newFlaky(t, e.url, 1, http.StatusTooManyRequests, "1")
	c := client.New(f.srv.URL, e.token)
	u := mustCreate(t, e.client(), client.UserInput{Email: "r429@example.com"})
	got, err := c.Get(context.Background(), u.ID)
	if err != nil || got.ID != u.ID {
		t.Fatalf("get through a 429: %+v, %v", got, err)
	}
	if keys := f.requests(); len(keys) != 2 || keys[0] != "" {
		t.Errorf("requests %q, want two and no idempotency key on a read", keys)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("count", func(t *testing.T) {
		f := newFlaky(t, e.url, 100, http.StatusServiceUnavailable, "")
		c := client.New(f.srv.URL, e.token, client.WithRetries(2, time.Minute))
		_, err := c.Usage(ctx)
		var p *client.Problem
		if !errors.As(err, &p) || p.Status != 503 || p.Code != client.CodeUnavailable || p.RequestID != "01JD8X2Q5T3N6W9Y0Z1A2B3C4D" {
			t.Fatalf("err = %v, want the 503 problem", err)
		}
		if n := len(f.requests()); n != 3 {
			t.Errorf("%d requests, want 1 and 2 retries", n)
		}
	})
	t.Run("wait", func(t *testing.T) {
		f := newFlaky(t, e.url, 100, http.StatusServiceUnavailable, "120")
		c := client.New(f.srv.URL, e.token, client.WithRetries(5, 10*time.Second))
		start := time.Now()
		_, err := c.Usage(ctx)
		var p *client.Problem
		if !errors.As(err, &p) || p.RetryAfter != 2*time.Minute {
			t.Fatalf("err = %v, want the 503 problem with its Retry-After", err)
		}
		if n := len(f.requests()); n != 1 || time.Since(start) > 5*time.Second {
			t.Errorf("%d requests in %v: a wait past the bound was made", n, time.Since(start))
		}
	})
	t.Run("context", func(t *testing.T) {
		f := newFlaky(t, e.url, 100, http.StatusTooManyRequests, "30")
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		// Cancelled once the 429 is in, so that it ends the wait for the
		// retry, however slowly the first request went.
		var start time.Time
		hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			start = time.Now()
			time.AfterFunc(100*time.Millisecond, cancel)
			return resp, err
		})}
		c := client.New(f.srv.URL, e.token, client.WithHTTPClient(hc))
		_, err := c.Usage(ctx)
		if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
			t.Errorf("err = %v after %v, want the context's end at once", err, time.Since(start))
		}
		var p *client.Problem
		if !errors.As(err, &p) || p.Status != 429 {
			t.Errorf("err = %v, want it to carry the 429 too", err)
		}
	})
	t.Run("off", func(t *testing.T) {
		f := newFlaky(t, e.url, 1, http.StatusServiceUnavailable, "1")
		c := client.New(f.srv.URL, e.token, client.WithRetries(0, 0))
		if _, err := c.Usage(ctx); err == nil || len(f.requests()) != 1 {
			t.Errorf("err = %v after %d requests, want the 503 at once", err, len(f.requests()))
		}
	})
	t.Run("not retried", func(t *testing.T) {
		f := newFlaky(t, e.url, 1, http.StatusInternalServerError, "1")
		c := client.New(f.srv.URL, e.token)
		if _, err := c.Usage(ctx); err == nil || len(f.requests()) != 1 {
			t.Errorf("err = %v after %d requests, want a 500 returned at once", err, len(f.requests()))
		}
	})
}

func TestUserAgentAndHTTPClient(t *testing.T) {
	e := newEnv(t)
	var agents []string
	var mu sync.Mutex
	hc := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		agents = append(agents, r.Header.Get("User-Agent"))
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := client.New(e.url+"/", e.token, client.WithHTTPClient(hc), client.WithUserAgent("sync-job/1.0"))
	if _, err := c.Roles(context.Background()); err != nil {
		t.Fatalf("roles: %v", err)
	}
	if len(agents) != 1 || agents[0] != "sync-job/1.0" {
		t.Errorf("user agents %q", agents)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRetryAfterALostAnswerCreatesOnce: a proxy passes the first create to
// the server and loses its answer, answering 503 instead; the client's retry
// carries the same Idempotency-Key, so the server answers the user it
// created rather than creating another.
func TestRetryAfterALostAnswerCreatesOnce(t *testing.T) {
	e := newEnv(t)
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	var keys []string
	replayed := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		first := len(keys) == 1
		mu.Unlock()
		if !first {
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r)
			mu.Lock()
			replayed = rec.Header().Get("Idempotent-Replayed")
			mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		proxy.ServeHTTP(httptest.NewRecorder(), r) // the answer is lost
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-Id", "01JD8X2Q5T3N6W9Y0Z1A2B3C4D")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"type":"https://roster.dev/problems/unavailable","title":"Unavailable","status":503,"detail":"upstream timed out","code":"unavailable","request_id":"01JD8X2Q5T3N6W9Y0Z1A2B3C4D"}`)
	}))
	t.Cleanup(srv.Close)

	created, err := client.New(srv.URL, e.token).Create(context.Background(), client.UserInput{Email: "lost@example.com"})
	if err != nil {
		t.Fatalf("create through a lost answer: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] == "" || keys[1] != keys[0] {
		t.Fatalf("idempotency keys %q, want two attempts with one key", keys)
	}
	if replayed != "true" {
		t.Errorf("the retry's answer: Idempotent-Replayed %q, want true", replayed)
	}
	got := collect(t, e.client().List(context.Background(), client.ListOptions{Email: "lost@example.com"}))
	if len(got) != 1 || got[0].ID != created.ID {
		t.Errorf("stored %v, want exactly the one user the client got (%s)", got, created.ID)
	}
}
