package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
