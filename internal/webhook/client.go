package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// Timeouts of a call to an endpoint.
const (
	// DefaultTimeout applies to an endpoint whose TimeoutMS is zero or less.
	DefaultTimeout = 2 * time.Second
	// MaxTimeout caps an endpoint's TimeoutMS. A validation call holds a
	// user's write request open, and the server's write timeout is 30 s.
	MaxTimeout = 10 * time.Second
)

// MaxResponseBytes is the most of an endpoint's answer that is read. A
// validation answer that is longer is a failure; an event receiver's answer
// is read up to it and discarded.
const MaxResponseBytes = 64 << 10

// resolveTimeout bounds CheckURL's DNS lookup.
const resolveTimeout = 3 * time.Second

// userAgent identifies Roster to receivers.
const userAgent = "Roster-Webhooks/1"

// EndpointTimeout returns how long a call to e may take, answer included:
// its TimeoutMS, DefaultTimeout if that is not positive, at most MaxTimeout.
func EndpointTimeout(e *directory.Endpoint) time.Duration {
	if e.TimeoutMS <= 0 {
		return DefaultTimeout
	}
	return min(time.Duration(e.TimeoutMS)*time.Millisecond, MaxTimeout)
}

// NewClient returns the HTTP client for calling endpoints. It follows no
// redirect (the 3xx answer is returned as is), uses no proxy, and, unless
// allowPrivate, refuses at connect time any address AddrForbidden rejects;
// such a request fails with an error that wraps ErrForbiddenAddress. It sets
// no overall timeout: each call gets its endpoint's (EndpointTimeout)
// through its context.
func NewClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: MaxTimeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = guardDial
	}
	return &http.Client{
		Transport: &http.Transport{
			// No proxy: a proxy would connect to the target for us, past
			// the address check.
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           100,
			MaxIdleConnsPerHost:    4,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    MaxTimeout,
			ResponseHeaderTimeout:  MaxTimeout,
			MaxResponseHeaderBytes: MaxResponseBytes,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ErrForbiddenAddress is wrapped by the errors of requests and dials that
// NewClient's client refuses because of the address they would reach.
var ErrForbiddenAddress = errors.New("forbidden webhook address")

// AddrError is a refused connection to a forbidden address.
type AddrError struct {
	Addr   netip.Addr
	Reason string // as AddrForbidden
}

func (e *AddrError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: %s address", e.Addr, e.Reason)
}

func (e *AddrError) Unwrap() error { return ErrForbiddenAddress }

// guardDial is the net.Dialer Control function of a client that must not
// reach private addresses. It runs for each address the dialer tries, after
// resolution, so it sees the IP really connected to.
func guardDial(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("%w: network %s", ErrForbiddenAddress, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", ErrForbiddenAddress, address)
	}
	if reason := AddrForbidden(ap.Addr()); reason != "" {
		return &AddrError{Addr: ap.Addr(), Reason: reason}
	}
	return nil
}

var (
	v4ThisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	v4CGNAT       = netip.MustParsePrefix("100.64.0.0/10")
	v4Reserved    = netip.MustParsePrefix("240.0.0.0/4") // with 255.255.255.255
	v6SiteLocal   = netip.MustParsePrefix("fec0::/10")
	v6Compatible  = netip.MustParsePrefix("::/96")        // deprecated IPv4-compatible, with :: and ::1
	v6NAT64       = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: a gateway reaches the embedded IPv4
	v66to4        = netip.MustParsePrefix("2002::/16")    // RFC 3056: a relay reaches the embedded IPv4
)

// AddrForbidden returns why an endpoint may not reach ip unless private
// targets are allowed, or "" if it may: "loopback", "private" (RFC 1918,
// fc00::/7), "link-local" (169.254/16, fe80::/10), "unspecified" (and the
// rest of 0/8), "multicast", "shared" (CGNAT 100.64/10), "reserved" (240/4,
// fec0::/10, IPv4-compatible ::/96). IPv4-mapped, NAT64 and 6to4 forms are
// judged by the IPv4 address they carry.
func AddrForbidden(ip netip.Addr) string {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is6() {
		switch b := ip.As16(); {
		case v6NAT64.Contains(ip):
			if r := AddrForbidden(netip.AddrFrom4([4]byte(b[12:16]))); r != "" {
				return r
			}
		case v66to4.Contains(ip):
			if r := AddrForbidden(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
				return r
			}
		}
	}
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified() || v4ThisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	case v4CGNAT.Contains(ip):
		return "shared"
	case v4Reserved.Contains(ip) || v6SiteLocal.Contains(ip) || v6Compatible.Contains(ip):
		return "reserved"
	}
	return ""
}

// URLError is an endpoint URL that CheckURL refuses. Its message reads after
// the field name ("url must use http or https") and can be shown to the
// client: it depends only on the URL's text and the server's configuration,
// never on what resolving the host found (see unreachableHost).
type URLError struct {
	// Forbidden is set when the URL is well formed but reaches an address
	// that is not public; the error then wraps ErrForbiddenAddress.
	Forbidden bool
	Message   string
}

func (e *URLError) Error() string { return e.Message }

func (e *URLError) Unwrap() error {
	if e.Forbidden {
		return ErrForbiddenAddress
	}
	return nil
}

// unreachableHost is the one message for a URL whose host Roster may not
// call: an address that is not public, a name that resolves to one, a name
// that does not resolve, and a lookup that fails or times out. Told apart,
// they would let whoever may create endpoints probe the operator's DNS and
// network (which internal names exist, which resolve to private addresses)
// through the answers. With private targets allowed only a failed lookup is
// refused, and the message says so without the word "public".
func unreachableHost(allowPrivate bool) string {
	if allowPrivate {
		return "must have a host that resolves"
	}
	return "must have a host that resolves to public addresses only"
}

// CheckURL checks an endpoint URL when the endpoint is created: an absolute
// http or https URL of at most 2048 octets, without userinfo, whose host
// resolves and, unless allowPrivate, to no address AddrForbidden rejects.
// It returns nil or a *URLError. The check at creation gives an early
// answer; the client's dial guard is what enforces it, on every call.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	bad := func(forbidden bool, message string) error {
		return &URLError{Forbidden: forbidden, Message: message}
	}
	if len(raw) > 2048 {
		return bad(false, "is longer than 2048 octets")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || !u.IsAbs() {
		return bad(false, "must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad(false, "must use http or https")
	}
	if u.User != nil {
		return bad(false, "must not carry a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return bad(false, "has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad(false, "has an invalid port")
		}
	}
	if strings.ContainsRune(host, '%') {
		return bad(false, "must not name a network interface")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if AddrForbidden(ip) != "" && !allowPrivate {
			return bad(true, unreachableHost(allowPrivate))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return bad(false, unreachableHost(allowPrivate))
	}
	if !allowPrivate {
		for _, ip := range ips {
			if AddrForbidden(ip) != "" {
				return bad(true, unreachableHost(allowPrivate))
			}
		}
	}
	return nil
}

// unreachableAttempt is what an attempt records when its host resolved to
// no address it may connect to, or did not resolve.
const unreachableAttempt = "the host did not resolve to an address Roster may connect to"

// answer is the outcome of one call to an endpoint.
type answer struct {
	status   int    // 0 if no HTTP answer came
	body     []byte // the answer's body, up to MaxResponseBytes, if asked for
	tooLarge bool   // the body is longer than MaxResponseBytes
	err      error  // the transport error, if no complete answer came
	duration time.Duration
}

// ok reports whether the endpoint answered with a 2xx.
func (a answer) ok() bool { return a.err == nil && a.status >= 200 && a.status <= 299 }

// describe says why a call failed, in words fit for the tenant who owns the
// endpoint (attempts are shown to them) and for the log.
func (a answer) describe(timeout time.Duration) string {
	switch {
	case a.err != nil:
		// A refused address and a failed lookup read alike, and name no
		// address: the tenant who reads attempts learns nothing of the
		// operator's network or resolver (DNS errors name the resolver's
		// address) that a public client could not.
		var de *net.DNSError
		if errors.Is(a.err, ErrForbiddenAddress) || errors.As(a.err, &de) {
			return unreachableAttempt
		}
		if errors.Is(a.err, context.DeadlineExceeded) || isTimeout(a.err) {
			return fmt.Sprintf("no answer within %d ms", timeout.Milliseconds())
		}
		var ue *url.Error
		if errors.As(a.err, &ue) {
			return truncate(ue.Err.Error(), 300)
		}
		return truncate(a.err.Error(), 300)
	case a.status >= 300 && a.status <= 399:
		return fmt.Sprintf("HTTP %d: redirects are not followed", a.status)
	case a.status < 200 || a.status > 299:
		return fmt.Sprintf("HTTP %d", a.status)
	case a.tooLarge:
		return fmt.Sprintf("answer longer than %d bytes", MaxResponseBytes)
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// post sends one signed message to an endpoint and waits for the answer,
// reading its body when keepBody. The whole call, body included, is bounded
// by timeout and by ctx.
func post(ctx context.Context, client *http.Client, e *directory.Endpoint, msgID string, body []byte, now time.Time, timeout time.Duration, keepBody bool) answer {
	start := time.Now()
	a := send(ctx, client, e, msgID, body, now, timeout, keepBody)
	a.duration = time.Since(start)
	return a
}

func send(ctx context.Context, client *http.Client, e *directory.Endpoint, msgID string, body []byte, now time.Time, timeout time.Duration, keepBody bool) answer {
	h, err := Headers(e.SigningSecrets(now), msgID, now, body)
	if err != nil {
		return answer{err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return answer{err: fmt.Errorf("invalid endpoint URL: %w", err)}
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	lr := io.LimitReader(resp.Body, MaxResponseBytes+1)
	if !keepBody {
		// The status is the answer. Read what little else there is so that
		// the connection can be reused.
		io.Copy(io.Discard, lr)
		return a
	}
	a.body, err = io.ReadAll(lr)
	if err != nil {
		// An answer whose body did not arrive in time is no answer.
		return answer{status: a.status, err: err}
	}
	if len(a.body) > MaxResponseBytes {
		a.body, a.tooLarge = nil, true
	}
	return a
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
