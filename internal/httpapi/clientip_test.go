package httpapi

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"
)

func TestParseTrustedProxies(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ", nil},
		{"10.0.0.0/8", []string{"10.0.0.0/8"}},
		{"10.1.2.3/8, fd00::/8", []string{"10.0.0.0/8", "fd00::/8"}},
		{"192.0.2.7", []string{"192.0.2.7/32"}},
		{"2001:db8::1", []string{"2001:db8::1/128"}},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.0/8"}},
	} {
		got, err := ParseTrustedProxies(c.in)
		if err != nil {
			t.Errorf("ParseTrustedProxies(%q): %v", c.in, err)
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		if !slices.Equal(s, c.want) {
			t.Errorf("ParseTrustedProxies(%q) = %v, want %v", c.in, s, c.want)
		}
	}
	for _, in := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8;192.168.0.0/16", "fe80::1%eth0", "10.0.0.0/8,*"} {
		if got, err := ParseTrustedProxies(in); err == nil {
			t.Errorf("ParseTrustedProxies(%q) = %v, want an error", in, got)
		}
	}
}

func TestClientIP(t *testing.T) {
	proxies, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8:ffff::/48")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		proxies []netip.Prefix
		peer    string
		xff     []string // field lines of X-Forwarded-For
		want    string
	}{
		{"no proxy trusted: XFF ignored", nil, "198.51.100.9:5000", []string{"203.0.113.1"}, "198.51.100.9"},
		{"untrusted peer: XFF ignored", proxies, "198.51.100.9:5000", []string{"203.0.113.1"}, "198.51.100.9"},
		{"untrusted IPv6 peer", proxies, "[2001:db8:1::5]:443", []string{"203.0.113.1"}, "2001:db8:1::5"},
		{"trusted peer, no XFF", proxies, "10.0.0.2:5000", nil, "10.0.0.2"},
		{"trusted peer, one hop", proxies, "10.0.0.2:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"rightmost untrusted hop wins over a spoofed left", proxies, "10.0.0.2:5000", []string{"1.1.1.1, 203.0.113.1"}, "203.0.113.1"},
		{"trusted hops are skipped", proxies, "10.0.0.2:5000", []string{"1.1.1.1, 203.0.113.1, 10.9.9.9, 10.0.0.3"}, "203.0.113.1"},
		{"lines combined in order", proxies, "10.0.0.2:5000", []string{"1.1.1.1", "203.0.113.1, 10.9.9.9"}, "203.0.113.1"},
		{"the last line holds the nearest hop", proxies, "10.0.0.2:5000", []string{"203.0.113.1", "10.9.9.9"}, "203.0.113.1"},
		{"all trusted: the leftmost", proxies, "10.0.0.2:5000", []string{"10.5.5.5, 10.9.9.9"}, "10.5.5.5"},
		{"malformed stops at the last trusted", proxies, "10.0.0.2:5000", []string{"203.0.113.1, unknown, 10.9.9.9"}, "10.9.9.9"},
		{"malformed nearest: the peer", proxies, "10.0.0.2:5000", []string{"203.0.113.1, _hidden"}, "10.0.0.2"},
		{"empty entry is malformed", proxies, "10.0.0.2:5000", []string{"203.0.113.1,"}, "10.0.0.2"},
		{"empty header", proxies, "10.0.0.2:5000", []string{""}, "10.0.0.2"},
		{"hop with a port", proxies, "10.0.0.2:5000", []string{"203.0.113.1:4711"}, "203.0.113.1"},
		{"IPv6 hop", proxies, "10.0.0.2:5000", []string{"2001:db8:1::7"}, "2001:db8:1::7"},
		{"IPv6 hop with a port", proxies, "10.0.0.2:5000", []string{"[2001:db8:1::7]:80"}, "2001:db8:1::7"},
		{"IPv4-mapped hop", proxies, "10.0.0.2:5000", []string{"::ffff:203.0.113.1"}, "203.0.113.1"},
		{"IPv4-mapped trusted peer", proxies, "[::ffff:10.0.0.2]:5000", []string{"203.0.113.1"}, "203.0.113.1"},
		{"IPv6 trusted peer", proxies, "[2001:db8:ffff::1]:443", []string{"203.0.113.1"}, "203.0.113.1"},
		{"zone dropped", proxies, "10.0.0.2:5000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"peer that is no address", proxies, "@", []string{"203.0.113.1"}, "@"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, c.proxies); got != c.want {
				t.Errorf("clientIP = %q, want %q", got, c.want)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		name    string
		peer    string
		proxies []netip.Prefix
		headers []string
		want    string
	}{
		{"no proxy", "192.0.2.1:5000", nil, nil, "http://roster.test"},
		{"headers of an untrusted peer", "192.0.2.1:5000", proxy, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}, "http://roster.test"},
		{"headers with no proxies trusted", "10.0.0.1:5000", nil, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}, "http://roster.test"},
		{"trusted proxy", "10.0.0.1:5000", proxy, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "scim.example.com"}, "https://scim.example.com"},
		{"trusted proxy, a port", "10.0.0.1:5000", proxy, []string{"X-Forwarded-Host", "scim.example.com:8443"}, "http://scim.example.com:8443"},
		{"the last value", "10.0.0.1:5000", proxy, []string{"X-Forwarded-Proto", "http, HTTPS", "X-Forwarded-Host", "evil.example", "X-Forwarded-Host", "a.example, scim.example.com"}, "https://scim.example.com"},
		{"malformed values", "10.0.0.1:5000", proxy, []string{"X-Forwarded-Proto", "gopher", "X-Forwarded-Host", "evil.example/path"}, "http://roster.test"},
		{"userinfo", "10.0.0.1:5000", proxy, []string{"X-Forwarded-Host", "user@evil.example"}, "http://roster.test"},
		{"IPv6 host", "10.0.0.1:5000", proxy, []string{"X-Forwarded-Host", "[2001:db8::1]:8443"}, "http://[2001:db8::1]:8443"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := http.NewRequest("GET", "http://roster.test/scim/v2/Users", nil)
			if err != nil {
				t.Fatal(err)
			}
			r.RemoteAddr = c.peer
			for i := 0; i+1 < len(c.headers); i += 2 {
				r.Header.Add(c.headers[i], c.headers[i+1])
			}
			if got := origin(r, c.proxies); got != c.want {
				t.Errorf("origin = %q, want %q", got, c.want)
			}
		})
	}
}
