package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// ParseTrustedProxies parses a comma-separated list of CIDRs
// ("10.0.0.0/8, fd00::/8"); an address alone is a network of one. "" is no
// proxy.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// trusts reports whether a is the address of a trusted proxy.
func trusts(proxies []netip.Prefix, a netip.Addr) bool {
	for _, p := range proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP returns the client of r, for its per-IP rate limit: the TCP peer,
// unless the peer is one of the reverse proxies the operator trusts
// (--trusted-proxies). Then X-Forwarded-For is read from the right, where
// the trusted proxies appended what they saw: the first address that is not
// itself a trusted proxy is the client. Everything left of it was sent by
// the client and could be anything, so it is never read. An entry that is
// not an address ends the walk, and the last trusted proxy reached is taken
// for the client. With no trusted proxies X-Forwarded-For is ignored, so a
// client cannot name itself a fresh address for each request.
func clientIP(r *http.Request, proxies []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			return host
		}
		return r.RemoteAddr
	}
	client := peer.Addr().Unmap().WithZone("")
	if !trusts(proxies, client) {
		return client.String()
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break
		}
		client = a
		if !trusts(proxies, a) {
			break
		}
	}
	return client.String()
}

// forwardedFor returns the entries of X-Forwarded-For, its field lines
// joined in order, as a proxy that appends to a header it received on two
// lines means them.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// parseHop parses an entry of X-Forwarded-For: an address, or an address
// and a port as some proxies write it ("192.0.2.1:4711", "[2001:db8::1]:80").
func parseHop(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}

// origin returns the scheme and host the client reached the server at
// ("https://roster.example.com"), for the absolute URLs of SCIM's answers:
// the request's Host, and https when it came over TLS. When the TCP peer
// is a trusted proxy (--trusted-proxies, as for clientIP), its
// X-Forwarded-Proto (http or https) and X-Forwarded-Host (a host and
// optional port) replace them, each when well formed. Of a header with
// several values, the last is read: the one the trusted proxy itself
// added, where anything left of it could come from the client.
func origin(r *http.Request, proxies []netip.Prefix) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil && trusts(proxies, peer.Addr().Unmap().WithZone("")) {
		if p := strings.ToLower(lastValue(r.Header, "X-Forwarded-Proto")); p == "http" || p == "https" {
			scheme = p
		}
		if h := lastValue(r.Header, "X-Forwarded-Host"); h != "" && !strings.ContainsAny(h, "/?#@\\ ") {
			if u, err := url.Parse("http://" + h); err == nil && u.Host == h {
				host = h
			}
		}
	}
	return scheme + "://" + host
}

// lastValue returns the last of a header's comma-separated values,
// trimmed.
func lastValue(h http.Header, name string) string {
	vals := h.Values(name)
	if len(vals) == 0 {
		return ""
	}
	last := vals[len(vals)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}
