// Package client is the Go client of Roster's HTTP API (api/openapi.yaml):
// users and their lifecycle, history, the role catalog, authorization
// policies, webhook endpoints and API keys of one tenant.
//
// It uses only the standard library and carries its own copies of the wire
// types, so that the server's internals can change without breaking it.
//
// Every failure the server answers is a *Problem, to be inspected with
// errors.As. Requests answered 429 or 503 are retried after their
// Retry-After, a bounded number of times within a bounded total wait, and
// every write carries an Idempotency-Key that stays the same across the
// retries of one call.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the options.
const (
	DefaultUserAgent  = "roster-go-client"
	DefaultMaxRetries = 3
	DefaultMaxWait    = 30 * time.Second
)

// maxResponseBytes bounds what the client reads of one answer: a page of
// 100 users with full metadata is far below it, and a broken or hostile
// server cannot make the client hold more.
const maxResponseBytes = 32 << 20

// Client talks to one Roster server with one API key. It is safe for
// concurrent use.
type Client struct {
	base       string // the server URL, without a trailing slash
	token      string
	httpClient *http.Client
	userAgent  string
	tenant     string
	maxRetries int
	maxWait    time.Duration
}

// An Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc (its
// transport, timeouts, proxies). The default is http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.httpClient = hc }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithRetries bounds the retries of a request answered 429 or 503: at most
// max retries, and at most maxWait spent waiting between them in all. A
// retry whose Retry-After would pass maxWait is not made: the call returns
// the *Problem at once. WithRetries(0, 0) turns retries off.
func WithRetries(max int, maxWait time.Duration) Option {
	return func(c *Client) { c.maxRetries, c.maxWait = max, maxWait }
}

// WithTenant sends X-Tenant-ID on every request: a platform key must name
// the tenant it acts in; a tenant key may only name its own.
func WithTenant(tenantID string) Option {
	return func(c *Client) { c.tenant = tenantID }
}

// New returns a Client of the server at baseURL (such as
// "http://127.0.0.1:8080") authenticating with token (an "rst_…" API key).
func New(baseURL, token string, opts ...Option) *Client {
	c := &Client{
		base:       strings.TrimRight(baseURL, "/"),
		token:      token,
		httpClient: http.DefaultClient,
		userAgent:  DefaultUserAgent,
		maxRetries: DefaultMaxRetries,
		maxWait:    DefaultMaxWait,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// A CallOption changes one request. Each says which calls it is meant for;
// given to another call, it is sent all the same and the server refuses
// what the route does not take (400 unknown_parameter).
type CallOption func(*call)

// call is what the options of one request set.
type call struct {
	query  url.Values
	header http.Header
}

// DryRun asks the server to run every check of a write and answer what it
// would do, writing nothing (?dry_run=true). For user writes.
func DryRun() CallOption {
	return func(c *call) { c.query.Set("dry_run", "true") }
}

// ActingUser names the user on whose behalf the key writes (X-Acting-User):
// the tenant's policies judge that user, and the audit entry records it.
// For user writes.
func ActingUser(userID string) CallOption {
	return func(c *call) { c.header.Set("X-Acting-User", userID) }
}

// IfVersion makes a user write conditional on the user still being at
// version (If-Match): otherwise the write is refused with 412
// precondition_failed and nothing is written. For user writes.
func IfVersion(version int64) CallOption {
	return func(c *call) { c.header.Set("If-Match", strconv.Quote(strconv.FormatInt(version, 10))) }
}

// Force revokes a key even when it is the last one that can manage keys
// (?force=true). For RevokeKey.
func Force() CallOption {
	return func(c *call) { c.query.Set("force", "true") }
}

// request is one API call before it is sent.
type request struct {
	method      string
	path        string // escaped, from the root: "/v1/users/usr_…"
	query       url.Values
	body        []byte // nil: no body
	contentType string
	opts        []CallOption
}

// response is a successful answer, its body read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r, retrying on 429 and 503 as the Client's options allow, and
// returns the answer when its status is below 400. Any other answer is a
// *Problem; a failure to send or read is returned as it is.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	cl := call{query: url.Values{}, header: http.Header{}}
	for k, vs := range r.query {
		cl.query[k] = vs
	}
	for _, o := range r.opts {
		o(&cl)
	}
	target := c.base + r.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	// One key for every attempt of this call: a retried write is the same
	// write, which a server honouring the key applies once.
	var idempotencyKey string
	if r.method != http.MethodGet && r.method != http.MethodHead {
		idempotencyKey = rand.Text()
	}
	var waited time.Duration
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, r, target, cl.header, idempotencyKey)
		if err != nil {
			return nil, err
		}
		if resp.status < 400 {
			return resp, nil
		}
		p := newProblem(resp)
		if attempt >= c.maxRetries || (resp.status != http.StatusTooManyRequests && resp.status != http.StatusServiceUnavailable) {
			return nil, p
		}
		wait := p.RetryAfter
		if wait <= 0 {
			wait = time.Duration(1<<attempt) * 500 * time.Millisecond
		}
		if waited+wait > c.maxWait {
			return nil, p
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (waiting to retry after: %w)", ctx.Err(), p)
		case <-t.C:
		}
		waited += wait
	}
}

// send makes one attempt of r.
func (c *Client) send(ctx context.Context, r request, target string, extra http.Header, idempotencyKey string) (*response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("roster: %s %s: %w", r.method, r.path, err)
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	if c.tenant != "" {
		req.Header.Set("X-Tenant-ID", c.tenant)
	}
	if r.body != nil {
		req.Header.Set("Content-Type", r.contentType)
	}
	if idempotencyKey != "" {
		// A Structured Field string, as draft-ietf-httpapi-idempotency-key-header
		// has it; rand.Text needs no escape.
		req.Header.Set("Idempotency-Key", `"`+idempotencyKey+`"`)
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("roster: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("roster: %s %s: read answer: %w", r.method, r.path, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("roster: %s %s: answer larger than %d bytes", r.method, r.path, maxResponseBytes)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// sendJSON encodes in as the body of an application/json request (nil: no
// body), sends it and decodes the answer into out (nil: ignore it).
func (c *Client) sendJSON(ctx context.Context, method, path string, query url.Values, in, out any, opts []CallOption) (*response, error) {
	r := request{method: method, path: path, query: query, opts: opts}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("roster: %s %s: encode body: %w", method, path, err)
		}
		r.body, r.contentType = b, "application/json"
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.body) > 0 {
		if err := decode(resp.body, out); err != nil {
			return nil, fmt.Errorf("roster: %s %s: decode answer: %w", method, path, err)
		}
	}
	return resp, nil
}

// decode reads JSON keeping numbers as json.Number where the target is
// untyped (metadata), so that large integers keep their precision.
// Members the client does not know are ignored, so a newer server's
// additions do not break an older client.
func decode(data []byte, out any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(out)
}

// path joins the escaped segments of a route.
func path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// etagVersion reads a user's version from its ETag, `"<version>"`; 0 when
// there is none.
func etagVersion(h http.Header) int64 {
	s, err := strconv.Unquote(h.Get("ETag"))
	if err != nil {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return v
}
