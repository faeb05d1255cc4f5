package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Result is one measurement: one operation at one concurrency.
type Result struct {
	Op          string `json:"op"` // "raw", "floor", "PATCH", "GET" or "SEARCH"
	Concurrency int    `json:"concurrency"`
	// Build is, with Config.Compare, the build of roster that served: "new"
	// (the one under test) or "old"; "" otherwise.
	Build      string        `json:"build,omitempty"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Requests   int           `json:"requests"` // successful ones
	Errors     int           `json:"errors"`
	FirstError string        `json:"first_error,omitempty"`
	RPS        float64       `json:"requests_per_second"`
	Latency    Summary       `json:"latency"`
	// Measured on the server process, HTTP cells of a server this tool
	// started only: its CPU time per successful request, and its peak
	// resident set size during the cell (VmHWM, reset before the cell).
	ServerCPUPerRequest time.Duration `json:"server_cpu_per_request_ns,omitempty"`
	ServerPeakRSS       int64         `json:"server_peak_rss_bytes,omitempty"`
	// ToolCPUPerRequest is this tool's own CPU time per successful
	// operation: for raw, the whole cost of the store's transaction; for
	// floor, PATCH and GET, the load generator's, which shares the machine's
	// cores with the server.
	ToolCPUPerRequest time.Duration `json:"tool_cpu_per_request_ns,omitempty"`
	// Rounds are the measurement's turns, one a round, in order.
	Rounds []Round `json:"rounds,omitempty"`
}

// Target is a Roster server and the tenant to load.
type Target struct {
	URL    string // http://host:port
	Token  string // a tenant key with users:read and users:write
	Client *http.Client
	// Wire makes LoadHTTP send its requests with the generator's own
	// HTTP/1.1 client (wireConn) instead of Client; setup requests always
	// go through Client.
	Wire bool
	// SearchQuery, if set, is the q of every SEARCH instead of a prefix of
	// a random user's email (searchPrefix).
	SearchQuery string
}

// NewClient returns a client that keeps a connection alive per concurrent
// worker, so a measurement never pays for TCP handshakes.
func NewClient(maxConc int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        2 * maxConc,
			MaxIdleConnsPerHost: 2 * maxConc,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: 30 * time.Second,
	}
}

// searchPrefix is the search query of a SEARCH: the first nine characters
// of the email of the seeded user i (user%07d@…), which about a hundred
// seeded users share, so that a query fills its page of 20 at 10,000 users
// as at 1,000,000.
func searchPrefix(i int) string { return fmt.Sprintf("user%07d", i)[:9] }

// LoadHTTP drives op ("PATCH", "GET" or "SEARCH") against random users of ids from
// conc workers, each with its request in flight at all times (a closed
// loop), for d, and returns every successful request's duration beside the
// result. A PATCH is application/json and changes one or two fields to
// values no user had, so every one is an effective write (a no-op PATCH
// would commit nothing).
func LoadHTTP(ctx context.Context, t Target, op string, ids []string, conc int, d time.Duration) (Result, Latencies, error) {
	if op != "PATCH" && op != "GET" && op != "SEARCH" {
		return Result{}, nil, fmt.Errorf("unknown op %q", op)
	}
	r, all := closedLoop(ctx, op, conc, d, func(w int) (func() error, func(), error) {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
		var body bytes.Buffer
		send := func(method, path string, payload []byte) (int, string, error) {
			return t.do(ctx, method, path, payload)
		}
		stop := func() {}
		if t.Wire {
			wc, err := newWireConn(t.URL, t.Token, 30*time.Second)
			if err != nil {
				return nil, nil, err
			}
			send = wc.do
			stop = wc.close
		}
		next := func() error {
			i := rng.IntN(len(ids))
			method, path := op, "/v1/users/"+ids[i]
			var payload []byte // nil for a GET
			switch op {
			case "PATCH":
				body.Reset()
				patchBody(&body, patchSeq.Add(1))
				payload = body.Bytes()
			case "SEARCH":
				q := searchPrefix(i)
				if t.SearchQuery != "" {
					q = t.SearchQuery
				}
				method, path = "GET", "/v1/users?limit=20&q="+url.QueryEscape(q)
			}
			status, msg, err := send(method, path, payload)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("%s %s: status %d: %s", op, path, status, msg)
			}
			return err
		}
		return next, stop, nil
	})
	return r, all, ctx.Err()
}

// closedLoop runs conc workers for d, each doing one operation after the
// other (a closed loop), and returns the result of op with every successful
// operation's duration. start readies worker w: it returns the worker's
// operation, or nil if the worker has nothing to do, and what ends it; its
// error counts as a failed operation and ends the worker.
func closedLoop(ctx context.Context, op string, conc int, d time.Duration, start func(w int) (next func() error, stop func(), err error)) (Result, Latencies) {
	var (
		mu       sync.Mutex
		all      Latencies
		errCount int
		firstErr string
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errCount++
		if firstErr == "" && ctx.Err() == nil {
			firstErr = err.Error()
		}
	}
	deadline := time.Now().Add(d)
	began := time.Now()
	for w := range conc {
		wg.Go(func() {
			next, stop, err := start(w)
			if err != nil {
				fail(err)
				return
			}
			if next == nil {
				return
			}
			defer stop()
			lat := make(Latencies, 0, 1024)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				if err := next(); err != nil {
					fail(err)
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	r := Result{Op: op, Concurrency: conc, Elapsed: time.Since(began), Requests: len(all), Errors: errCount, FirstError: firstErr}
	r.finish(all)
	return r, all
}

// patchSeq makes every PATCH value new.
var patchSeq atomic.Int64

// finish sets the rate and the latency summary from the requests' durations.
func (r *Result) finish(lat Latencies) {
	if r.Elapsed > 0 {
		r.RPS = float64(r.Requests) / r.Elapsed.Seconds()
	}
	r.Latency = lat.Summarize()
}

// merge adds the measurement r, of the same operation and concurrency, to
// acc; lat and accLat are their requests' durations.
func merge(acc *Result, accLat *Latencies, r Result, lat Latencies) {
	acc.Op, acc.Concurrency = r.Op, r.Concurrency
	acc.Elapsed += r.Elapsed
	acc.Requests += r.Requests
	acc.Errors += r.Errors
	if acc.FirstError == "" {
		acc.FirstError = r.FirstError
	}
	*accLat = append(*accLat, lat...)
	acc.finish(*accLat)
}

// patchBody writes a PATCH body that changes one or two fields, which
// alternate, to values made unique by n.
func patchBody(b *bytes.Buffer, n int64) {
	s := strconv.FormatInt(n, 10)
	switch n % 3 {
	case 0:
		b.WriteString(`{"name": "Load ` + s + `"}`)
	case 1:
		b.WriteString(`{"company": "Company ` + s + `", "given_name": "Given ` + s + `"}`)
	default:
		b.WriteString(`{"bio": "Bio ` + s + `", "metadata": {"seq": ` + s + `}}`)
	}
}

// do sends one request and reads the whole answer; msg is the start of the
// body of an answer other than 200.
func (t Target) do(ctx context.Context, op, path string, body []byte) (status int, msg string, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, op, t.URL+path, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+t.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := t.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, "", err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(b), nil
}
