package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

func TestAddrForbidden(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.5.4", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"::ffff:192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "link-local"},
		{"::ffff:169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"224.0.0.1", "multicast"},
		{"239.1.2.3", "multicast"},
		{"ff02::1", "multicast"},
		{"100.64.0.1", "shared"},
		{"100.127.255.254", "shared"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "reserved"},
		{"fec0::1", "reserved"},
		{"::127.0.0.1", "reserved"}, // deprecated IPv4-compatible form: all of ::/96
		{"::8.8.8.8", "reserved"},
		{"64:ff9b::7f00:1", "loopback"}, // NAT64 of 127.0.0.1
		{"64:ff9b::a00:1", "private"},   // NAT64 of 10.0.0.1
		{"2002:a9fe:a9fe::1", "link-local"},

		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"192.0.2.1", ""},
		{"::ffff:8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got := AddrForbidden(netip.MustParseAddr(tt.addr))
			if tt.want == "" && got != "" || tt.want != "" && got == "" {
				t.Fatalf("AddrForbidden(%s) = %q, want %q", tt.addr, got, tt.want)
			}
			if got != tt.want {
				t.Errorf("AddrForbidden(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
}

func TestCheckURL(t *testing.T) {
	const invalid, forbidden = "invalid_url", "forbidden_url"
	tests := []struct {
		name, url    string
		allowPrivate bool
		code         string // "" = allowed
	}{
		{"public IPv4", "http://8.8.8.8/hook", false, ""},
		{"public IPv6 with port", "https://[2606:4700:4700::1111]:8443/hook?x=1", false, ""},
		{"https upper-case scheme", "HTTPS://1.1.1.1/", false, ""},

		{"loopback", "http://127.0.0.1/", false, forbidden},
		{"loopback with port", "http://127.0.0.1:8080/hook", false, forbidden},
		{"private", "http://10.0.0.1/", false, forbidden},
		{"RFC 1918 192.168", "https://192.168.0.10/", false, forbidden},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", false, forbidden},
		{"IPv6 loopback", "http://[::1]/", false, forbidden},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/", false, forbidden},
		{"IPv6 link-local with zone", "http://[fe80::1%25eth0]/", false, invalid},
		{"IPv6 link-local", "http://[fe80::1]/", false, forbidden},
		{"ULA", "http://[fd00::1]/", false, forbidden},
		{"CGNAT", "http://100.64.0.1/", false, forbidden},
		{"unspecified", "http://0.0.0.0/", false, forbidden},
		{"multicast", "http://224.0.0.1/", false, forbidden},
		{"localhost resolves to loopback", "http://localhost/", false, forbidden},
		{"localhost with port", "http://localhost:9000/hook", false, forbidden},

		{"private allowed", "http://10.0.0.1/", true, ""},
		{"loopback allowed", "http://127.0.0.1:8080/", true, ""},
		{"localhost allowed", "http://localhost/", true, ""},

		{"empty", "", false, invalid},
		{"relative", "/hook", false, invalid},
		{"no scheme", "example.com/hook", false, invalid},
		{"ftp", "ftp://8.8.8.8/", false, invalid},
		{"javascript", "javascript:alert(1)", false, invalid},
		{"opaque", "https:8.8.8.8", false, invalid},
		{"no host", "https:///hook", false, invalid},
		{"userinfo", "https://user:pass@8.8.8.8/", false, invalid},
		{"user only", "https://user@8.8.8.8/", false, invalid},
		{"port 0", "https://8.8.8.8:0/", false, invalid},
		{"port too big", "https://8.8.8.8:70000/", false, invalid},
		{"unparsable", "http://[::1/", false, invalid},
		{"does not resolve", "https://no-such-host.invalid/", false, invalid},
		{"does not resolve, private allowed", "https://no-such-host.invalid/", true, invalid},
		{"too long", "https://8.8.8.8/" + strings.Repeat("a", 2048), false, invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckURL(context.Background(), tt.url, tt.allowPrivate)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CheckURL(%q) = %v, want nil", tt.url, err)
				}
				return
			}
			var ue *URLError
			if !errors.As(err, &ue) {
				t.Fatalf("CheckURL(%q) = %v (%T), want a *URLError", tt.url, err, err)
			}
			if ue.Message == "" || ue.Error() != ue.Message {
				t.Errorf("message %q, Error() %q", ue.Message, ue.Error())
			}
			if got := errors.Is(err, ErrForbiddenAddress); got != (tt.code == forbidden) || ue.Forbidden != got {
				t.Errorf("CheckURL(%q) = %q: forbidden %v, wraps ErrForbiddenAddress %v; want %v", tt.url, ue.Message, ue.Forbidden, got, tt.code == forbidden)
			}
			// The resolved address of a name is not shown.
			if strings.Contains(tt.url, "localhost") && strings.Contains(ue.Message, "127.0.0.1") {
				t.Errorf("message %q reveals the resolved address", ue.Message)
			}
		})
	}
}

// TestCheckURLSaysNothingOfTheNetwork: whatever resolving a URL's host finds
// (a private address, nothing, no answer in time), the refusal reads the
// same, so creating endpoints cannot map the operator's DNS or network.
// Malformed URLs keep their own messages: they depend only on the request.
func TestCheckURLSaysNothingOfTheNetwork(t *testing.T) {
	expired, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	for _, allowPrivate := range []bool{false, true} {
		cases := []struct {
			name string
			ctx  context.Context
			url  string
		}{
			{"does not resolve", context.Background(), "https://no-such-host.invalid/hook"},
			{"lookup times out", expired, "https://example.com/hook"},
		}
		if !allowPrivate {
			cases = append(cases, []struct {
				name string
				ctx  context.Context
				url  string
			}{
				{"resolves to loopback", context.Background(), "http://localhost:9000/hook"},
				{"loopback literal", context.Background(), "http://127.0.0.1/hook"},
				{"private literal", context.Background(), "http://10.1.2.3/hook"},
				{"link-local literal", context.Background(), "http://[fe80::1]/hook"},
			}...)
		}
		var first string
		for _, c := range cases {
			var ue *URLError
			if err := CheckURL(c.ctx, c.url, allowPrivate); !errors.As(err, &ue) {
				t.Fatalf("allowPrivate %v, %s: CheckURL(%q) = %v, want a *URLError", allowPrivate, c.name, c.url, err)
			}
			if first == "" {
				first = ue.Message
			}
			if ue.Message != first {
				t.Errorf("allowPrivate %v, %s: message %q, want %q as for %s", allowPrivate, c.name, ue.Message, first, cases[0].name)
			}
		}
		for _, malformed := range []string{"ftp://example.com/", "https://user@example.com/", "https://example.com/" + strings.Repeat("a", 2048)} {
			if err := CheckURL(context.Background(), malformed, allowPrivate); err == nil || err.Error() == first {
				t.Errorf("allowPrivate %v: CheckURL(%q) = %v, want its own message", allowPrivate, malformed, err)
			}
		}
	}
}

// TestAttemptSaysNothingOfTheNetwork: an attempt refused at connect time and
// one whose host does not resolve record the same text, which names no
// address (a DNS error names the resolver's): tenants read attempts.
func TestAttemptSaysNothingOfTheNetwork(t *testing.T) {
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	for _, c := range []struct {
		name         string
		url          string
		allowPrivate bool
	}{
		{"refused at connect", "http://localhost:" + port + "/hook", false},
		{"does not resolve", "http://no-such-host.invalid/hook", true},
	} {
		e := &directory.Endpoint{ID: "whe_1", URL: c.url, Secret: "whsec_" + strings.Repeat("A", 32), TimeoutMS: 2000}
		a := post(t.Context(), NewClient(c.allowPrivate), e, "evt_1", []byte(`{}`), time.Now(), time.Second, false)
		if a.ok() {
			t.Fatalf("%s: the call succeeded", c.name)
		}
		if got := a.describe(time.Second); got != unreachableAttempt {
			t.Errorf("%s: describe = %q (error %v), want %q", c.name, got, a.err, unreachableAttempt)
		}
	}
}

// TestClientRefusesPrivateAtConnect sends requests to a server on loopback
// with a client that does not allow private targets: the dial guard refuses
// them whatever the URL says, the server never sees them.
func TestClientRefusesPrivateAtConnect(t *testing.T) {
	var hits atomic.Int32
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { hits.Add(1) })
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	client := NewClient(false)
	for _, u := range []string{
		rc.srv.URL,
		"http://localhost:" + port + "/", // a name: the guard sees what it resolved to
		"http://[::ffff:127.0.0.1]:" + port + "/",
	} {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s succeeded (%d), want the guard's error", u, resp.StatusCode)
		}
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("GET %s: %v, want ErrForbiddenAddress", u, err)
		}
		var ae *AddrError
		if !errors.As(err, &ae) || ae.Reason != "loopback" {
			t.Errorf("GET %s: %v, want an *AddrError for a loopback address", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("server got %d requests, want 0", n)
	}

	// The same request with private targets allowed goes through.
	resp, err := NewClient(true).Get(rc.srv.URL)
	if err != nil {
		t.Fatalf("GET with allowPrivate: %v", err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 1 {
		t.Fatalf("server got %d requests, want 1", n)
	}
}

func TestClientFollowsNoRedirect(t *testing.T) {
	var targetHits atomic.Int32
	target := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { targetHits.Add(1) })
	for _, code := range []int{301, 302, 303, 307, 308} {
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.srv.URL+"/elsewhere", code)
		})
		a := post(context.Background(), NewClient(true), rc.endpoint("whe_1", directory.EndpointEvents), "msg_1", []byte("{}"), time.Now(), time.Second, true)
		if a.ok() || a.status != code || a.err != nil {
			t.Errorf("%d: answer = status %d, err %v, want a failed %d", code, a.status, a.err, code)
		}
		if got := a.describe(time.Second); !strings.Contains(got, "redirect") {
			t.Errorf("%d: describe = %q, want it to mention the redirect", code, got)
		}
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("redirect target got %d requests, want 0", n)
	}
}

func TestPostTimeoutAndLimits(t *testing.T) {
	client := NewClient(true)
	t.Run("timeout", func(t *testing.T) {
		var rc *receiver
		rc = newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) { rc.wait(r) })
		e := rc.endpoint("whe_1", directory.EndpointEvents)
		e.TimeoutMS = 100
		start := time.Now()
		a := post(context.Background(), client, e, "msg_1", []byte("{}"), time.Now(), EndpointTimeout(e), true)
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("post took %v with a 100 ms timeout", el)
		}
		if a.ok() || a.err == nil {
			t.Fatalf("answer = %+v, want a timeout", a)
		}
		if got, want := a.describe(EndpointTimeout(e)), "no answer within 100 ms"; got != want {
			t.Errorf("describe = %q, want %q", got, want)
		}
		if got := classify(a); got != outcomeTimeout {
			t.Errorf("classify = %q, want %q", got, outcomeTimeout)
		}
	})
	t.Run("body too large", func(t *testing.T) {
		rc := newReceiver(t, answerJSON(200, `{"allow":true,"pad":"`+strings.Repeat("x", MaxResponseBytes)+`"}`))
		a := post(context.Background(), client, rc.endpoint("whe_1", directory.EndpointValidation), "msg_1", []byte("{}"), time.Now(), time.Second, true)
		if !a.tooLarge || a.body != nil {
			t.Fatalf("answer = status %d, tooLarge %v, %d bytes; want tooLarge", a.status, a.tooLarge, len(a.body))
		}
	})
	t.Run("invalid secret is not sent", func(t *testing.T) {
		rc := newReceiver(t, answerJSON(200, `{}`))
		e := rc.endpoint("whe_1", directory.EndpointEvents)
		e.Secret = SecretPrefix + "c2hvcnQ="
		a := post(context.Background(), client, e, "msg_1", []byte("{}"), time.Now(), time.Second, false)
		if !errors.Is(a.err, ErrInvalidSecret) {
			t.Fatalf("err = %v, want ErrInvalidSecret", a.err)
		}
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("receiver got %d requests, want 0", n)
		}
	})
}

func TestEndpointTimeout(t *testing.T) {
	for _, tt := range []struct {
		ms   int
		want time.Duration
	}{{0, DefaultTimeout}, {-5, DefaultTimeout}, {1, time.Millisecond}, {2500, 2500 * time.Millisecond}, {600_000, MaxTimeout}} {
		if got := EndpointTimeout(&directory.Endpoint{TimeoutMS: tt.ms}); got != tt.want {
			t.Errorf("EndpointTimeout(%d ms) = %v, want %v", tt.ms, got, tt.want)
		}
	}
}
