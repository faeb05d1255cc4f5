package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWireConn checks the load generator's own HTTP/1.1 client against
// net/http's server: the request it writes, each kind of answer framing, and
// that it reconnects when the server closes.
func TestWireConn(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/v1/users/plain":
			if r.Method == "PATCH" && (r.Header.Get("Content-Type") != "application/json" || string(body) != `{"a":1}`) {
				http.Error(w, "bad body "+string(body), http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"ok":true}`))
		case "/v1/users/chunked":
			f := w.(http.Flusher)
			w.Write([]byte("part one "))
			f.Flush()
			w.Write([]byte("part two"))
		case "/v1/users/chunked-error":
			w.WriteHeader(http.StatusConflict)
			w.(http.Flusher).Flush()
			w.Write([]byte("a conflict"))
		case "/v1/users/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		default:
			http.Error(w, "not here", http.StatusNotFound)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	wc, err := newWireConn(srv.URL, "tok", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer wc.close()
	for _, tc := range []struct {
		method, id string
		body       []byte
		status     int
		msg        string
	}{
		{"PATCH", "plain", []byte(`{"a":1}`), 200, ""},
		{"GET", "plain", nil, 200, ""},
		{"GET", "chunked", nil, 200, ""},
		{"GET", "chunked-error", nil, 409, "a conflict"},
		{"GET", "missing", nil, 404, "not here\n"},
		{"GET", "plain", nil, 200, ""},
	} {
		status, msg, err := wc.do(tc.method, "/v1/users/"+tc.id, tc.body)
		if err != nil || status != tc.status || msg != tc.msg {
			t.Fatalf("%s %s = %d %q %v, want %d %q", tc.method, tc.id, status, msg, err, tc.status, tc.msg)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for keep-alive requests, want 1", n)
	}
	// A server that closes makes the next request open a new connection.
	if status, _, err := wc.do("GET", "/v1/users/close", nil); err != nil || status != 200 {
		t.Fatalf("close: %d %v", status, err)
	}
	if status, _, err := wc.do("GET", "/v1/users/plain", nil); err != nil || status != 200 {
		t.Fatalf("after close: %d %v", status, err)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections after Connection: close, want 2", n)
	}

	bad, _ := newWireConn(srv.URL, "wrong", 5*time.Second)
	defer bad.close()
	if status, msg, err := bad.do("GET", "/v1/users/plain", nil); err != nil || status != 401 || !strings.Contains(msg, "no token") {
		t.Errorf("wrong token: %d %q %v", status, msg, err)
	}
}

// TestWireConnRejectsGarbage checks that an answer the client cannot frame is
// an error, not a success.
func TestWireConnRejectsGarbage(t *testing.T) {
	for name, answer := range map[string]string{
		"not http":         "SSH-2.0-OpenSSH\r\n\r\n",
		"bad length":       "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"unknown encoding": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"bad chunk":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"short body":       "HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\nabc",
	} {
		t.Run(name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf)
				c.Write([]byte(answer))
			}()
			wc, _ := newWireConn("http://"+ln.Addr().String(), "tok", 2*time.Second)
			defer wc.close()
			if status, _, err := wc.do("GET", "/v1/users/x", nil); err == nil {
				t.Errorf("answer %q: status %d and no error", answer, status)
			}
		})
	}
}

// TestSearchQuery checks that a SEARCH asks for a page of 20 with the q
// given, or by default a prefix of a seeded user's email.
func TestSearchQuery(t *testing.T) {
	for _, c := range []struct{ set, want string }{{"Bench User 1", "Bench User 1"}, {"", "user00000"}} {
		var mu sync.Mutex
		seen := map[string]bool{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.URL.Query().Get("limit")+" "+r.URL.Query().Get("q")] = true
			mu.Unlock()
			w.Write([]byte(`{"data": []}`))
		}))
		for _, wire := range []bool{false, true} {
			tg := Target{URL: srv.URL, Token: "t", Client: NewClient(1), Wire: wire, SearchQuery: c.set}
			r, _, err := LoadHTTP(context.Background(), tg, "SEARCH", []string{"usr_a"}, 1, 50*time.Millisecond)
			if err != nil || r.Errors != 0 || r.Requests == 0 {
				t.Fatalf("wire %v: %+v, %v", wire, r, err)
			}
		}
		srv.Close()
		if len(seen) != 1 || !seen["20 "+c.want] {
			t.Errorf("--search-q %q: asked for %v, want limit 20 and q %q", c.set, seen, c.want)
		}
	}
}
