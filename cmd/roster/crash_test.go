package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to inspect files a node left

	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

// These tests kill roster serve processes with SIGKILL and check that what
// they acknowledged is still there after a restart: the writes, their audit
// entries and their events (§7 "a crash or a receiver outage loses none",
// §9, README "an acknowledged write survives").

// onEachStore runs test in parallel subtests on a new SQLite file and on a
// new PostgreSQL database, given as the --db of the nodes it starts.
func onEachStore(t *testing.T, test func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		test(t, filepath.Join(t.TempDir(), "roster.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, pgtest.URL(t))
	})
}

// TestEventsSurviveSIGKILL: events committed while the receiver was down
// (one of them leased to an attempt in flight) are all delivered by the node
// that replaces a SIGKILLed one, once each, in order per user.
func TestEventsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills roster processes")
	}
	onEachStore(t, testEventsSurviveSIGKILL)
}

func testEventsSurviveSIGKILL(t *testing.T, db string) {
	rc := newReceiver(t, recvHold)
	f := newFixture(t, db)
	// The first node leases each delivery for 3 s, so that an attempt the
	// receiver holds is still leased, unfinished, when the node dies.
	n := startNode(t, "--db", db, "--delivery-lease", "3s")
	c := f.client(t, n)
	f.raisePlan(t, c)
	c.mustDo(201, "POST", "/v1/webhook-endpoints", map[string]any{"kind": "events", "url": rc.URL()})

	const users, updates = 6, 4
	var wg sync.WaitGroup
	ids := make([]string, users)
	for i := range users {
		wg.Go(func() {
			var u userDoc
			r, ok := c.expect(201, "POST", "/v1/users", map[string]any{"username": fmt.Sprintf("ev%d", i)})
			if !ok || json.Unmarshal(r.body, &u) != nil {
				return
			}
			ids[i] = u.ID
			for j := 1; j <= updates; j++ {
				if _, ok := c.expect(200, "PATCH", "/v1/users/"+u.ID, map[string]any{"name": fmt.Sprintf("ev%d-%d", i, j)}); !ok {
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Kill the node while the receiver holds an attempt: that delivery is
	// leased and unfinished, the others wait in the outbox.
	if !waitUntil(10*time.Second, func() bool { return rc.held() > 0 }) {
		t.Fatalf("no delivery attempt reached the receiver\n%s", n.Logs())
	}
	n.kill(syscall.SIGKILL)
	if got := rc.distinct(); got != 0 {
		t.Fatalf("the receiver accepted %d events while it was down", got)
	}

	rc.setMode(recvUp)
	start := time.Now()
	n = startNode(t, "--db", db, "--delivery-lease", "1s")
	c = f.client(t, n)
	want := users * (1 + updates)
	if !waitUntil(20*time.Second, func() bool { return rc.distinct() >= want }) {
		t.Fatalf("%d of %d events delivered after the restart\n%s", rc.distinct(), want, n.Logs())
	}
	t.Logf("%d events delivered %v after the restart; %d duplicate deliveries (allowed: at least once)",
		want, time.Since(start).Round(time.Millisecond), rc.duplicates())
	if got := rc.distinct(); got != want {
		t.Errorf("%d distinct events delivered, want %d", got, want)
	}
	for i, id := range ids {
		evs := rc.events(id)
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s v%d %s", e.Type, e.Version, e.Name))
		}
		wantEvs := []string{"user.created v1 "}
		for j := 1; j <= updates; j++ {
			wantEvs = append(wantEvs, fmt.Sprintf("user.updated v%d ev%d-%d", j+1, i, j))
		}
		if !slices.Equal(got, wantEvs) {
			t.Errorf("user %d: events in the order first delivered:\n got %q\nwant %q", i, got, wantEvs)
		}
	}
	// And the node recorded every delivery as done.
	var eps struct{ Data []struct{ ID string } }
	c.mustDo(200, "GET", "/v1/webhook-endpoints", nil).decode(t, &eps)
	if len(eps.Data) != 1 {
		t.Fatalf("%d endpoints", len(eps.Data))
	}
	var pending []string
	var total int
	waitUntil(5*time.Second, func() bool {
		pending = nil
		var ds struct{ Data []struct{ ID, Status string } }
		c.mustDo(200, "GET", "/v1/webhook-endpoints/"+eps.Data[0].ID+"/deliveries?limit=100", nil).decode(t, &ds)
		for _, d := range ds.Data {
			if d.Status != "delivered" {
				pending = append(pending, d.ID+" "+d.Status)
			}
		}
		total = len(ds.Data)
		return total == want && len(pending) == 0
	})
	if total != want || len(pending) > 0 {
		t.Errorf("%d deliveries listed, want %d; not recorded as delivered: %v", total, want, pending)
	}
	if !strings.HasPrefix(db, "postgres") {
		n.kill(syscall.SIGKILL)
		integrityCheck(t, db)
	}
}

// TestAcknowledgedWritesSurviveSIGKILL: under concurrent PATCHes, a node
// SIGKILLed at a random moment loses no acknowledged write, its audit entry
// or its event, and shows nothing half-written: each user is at its last
// acknowledged write, or at the one write in flight when the node died,
// complete with its audit entry and event. Three kill points per run.
func TestAcknowledgedWritesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs and kills roster processes")
	}
	onEachStore(t, testAcknowledgedWritesSurviveSIGKILL)
}

// crashWriter PATCHes one user's name to w<g>-<seq>, seq counting up, each
// write with If-Match on the version the previous one returned.
type crashWriter struct {
	g       int
	id      string
	seq     int      // the last seq sent
	version int      // the user's version after the last acknowledged write
	names   []string // the names written, in order: acknowledged, or found committed after a crash
	pending string   // the name sent by a write whose outcome is unknown
	acked   int      // writes acknowledged in this cycle
}

func (w *crashWriter) run(t *testing.T, c *apiClient, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		w.seq++
		name := fmt.Sprintf("w%d-%d", w.g, w.seq)
		r := c.do("PATCH", "/v1/users/"+w.id, map[string]any{"name": name}, "If-Match", strconv.Quote(strconv.Itoa(w.version)))
		if r.err != nil {
			// The node died. A write sent to it may or may not have
			// committed; one refused never reached it.
			if !errors.Is(r.err, syscall.ECONNREFUSED) {
				w.pending = name
			}
			return
		}
		if r.status != 200 {
			t.Errorf("writer %d: PATCH %s: %d %s", w.g, name, r.status, r.body)
			return
		}
		var u userDoc
		if err := json.Unmarshal(r.body, &u); err != nil {
			t.Errorf("writer %d: PATCH %s answered %s: %v", w.g, name, r.body, err)
			return
		}
		if u.Version != w.version+1 || r.header.Get("ETag") != strconv.Quote(strconv.Itoa(u.Version)) {
			t.Errorf("writer %d: PATCH %s answered version %d, ETag %s, after version %d", w.g, name, u.Version, r.header.Get("ETag"), w.version)
		}
		w.version = u.Version
		w.names = append(w.names, name)
		w.acked++
	}
}

func testAcknowledgedWritesSurviveSIGKILL(t *testing.T, db string) {
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	t.Logf("seed %d", seed)

	rc := newReceiver(t, recvUp)
	f := newFixture(t, db)
	args := []string{"--db", db, "--delivery-lease", "1s"}
	n := startNode(t, args...)
	c := f.client(t, n)
	f.raisePlan(t, c)
	c.mustDo(201, "POST", "/v1/webhook-endpoints", map[string]any{"kind": "events", "url": rc.URL()})

	const writers, cycles = 8, 3
	ws := make([]*crashWriter, writers)
	for g := range ws {
		var u userDoc
		c.mustDo(201, "POST", "/v1/users", map[string]any{"username": fmt.Sprintf("crash%d", g)}).decode(t, &u)
		ws[g] = &crashWriter{g: g, id: u.ID, version: u.Version}
	}
	for cycle := range cycles {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for _, w := range ws {
			w.acked = 0
			wg.Go(func() { w.run(t, c, stop) })
		}
		after := 150*time.Millisecond + time.Duration(rng.Int64N(int64(500*time.Millisecond)))
		time.Sleep(after)
		n.kill(syscall.SIGKILL)
		close(stop)
		wg.Wait()
		acked, inFlight := 0, 0
		for _, w := range ws {
			acked += w.acked
			if w.pending != "" {
				inFlight++
			}
		}
		t.Logf("cycle %d: SIGKILL after %v: %d writes acknowledged, %d unanswered", cycle, after.Round(time.Millisecond), acked, inFlight)
		if t.Failed() {
			t.FailNow()
		}

		n = startNode(t, args...)
		c = f.client(t, n)
		committed := 0
		for _, w := range ws {
			if verifyCrashWriter(t, c, rc, w) {
				committed++
			}
		}
		t.Logf("cycle %d: after the restart, %d unanswered writes were found committed, with their audit entries and events", cycle, committed)
		if t.Failed() {
			t.FailNow()
		}
	}
	// Every event, of every cycle, arrived.
	total := 0
	for _, w := range ws {
		total += w.version
	}
	if got := rc.distinct(); got != total {
		t.Errorf("%d distinct events delivered, want %d (one per version)", got, total)
	}
	t.Logf("%d events delivered, %d duplicate deliveries (allowed: at least once)", total, rc.duplicates())
	if !strings.HasPrefix(db, "postgres") {
		n.kill(syscall.SIGKILL)
		integrityCheck(t, db)
	}
}

// verifyCrashWriter checks w's user after a restart, and takes a write that
// was in flight into w.names if it committed, reporting whether it did.
func verifyCrashWriter(t *testing.T, c *apiClient, rc *receiver, w *crashWriter) (inFlightCommitted bool) {
	t.Helper()
	var u userDoc
	c.mustDo(200, "GET", "/v1/users/"+w.id, nil).decode(t, &u)
	last := ""
	if len(w.names) > 0 {
		last = w.names[len(w.names)-1]
	}
	switch {
	case u.Version == w.version && u.Name == last:
	case w.pending != "" && u.Version == w.version+1 && u.Name == w.pending:
		w.names = append(w.names, w.pending) // committed, unacknowledged
		inFlightCommitted = true
	default:
		t.Errorf("writer %d: stored version %d name %q; last acknowledged version %d name %q, in flight %q",
			w.g, u.Version, u.Name, w.version, last, w.pending)
		return false
	}
	w.version, w.pending = u.Version, ""

	// One audit entry per version: the creation, then each name written.
	hist := c.history(w.id)
	var created int
	var names []string
	for _, a := range slices.Backward(hist) {
		switch a.Action {
		case "user.created":
			created++
		case "user.updated":
			var to string
			_ = json.Unmarshal(a.Changes["name"].To, &to)
			names = append(names, to)
		default:
			t.Errorf("writer %d: audit entry %s %s", w.g, a.ID, a.Action)
		}
	}
	if created != 1 || len(hist) != u.Version || !slices.Equal(names, w.names) {
		t.Errorf("writer %d: version %d but %d audit entries (%d creations); names in history %q, written %q",
			w.g, u.Version, len(hist), created, names, w.names)
	}

	// One event per version, in order, up to the stored one and no further.
	want := []string{"user.created v1 "}
	for i, name := range w.names {
		want = append(want, fmt.Sprintf("user.updated v%d %s", i+2, name))
	}
	var got []string
	waitUntil(15*time.Second, func() bool {
		got = got[:0]
		for _, e := range rc.events(w.id) {
			got = append(got, fmt.Sprintf("%s v%d %s", e.Type, e.Version, e.Name))
		}
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Errorf("writer %d: %d events delivered in the order first delivered, want %d:\n got %q\nwant %q", w.g, len(got), len(want), got, want)
	}
	return inFlightCommitted
}

// integrityCheck opens the SQLite file read-only, once no node has it open,
// and fails t unless PRAGMA integrity_check and foreign_key_check pass.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res []string
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		res = append(res, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res, []string{"ok"}) {
		t.Errorf("PRAGMA integrity_check: %q", res)
	}
	rows, err = db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("foreign_key_check: %v", err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("PRAGMA foreign_key_check found violations")
	}
}

// ---- shared helpers of the process tests ----

// fixture is a tenant in a database, made with the command line before any
// node starts, and the tokens that drive it.
type fixture struct {
	tenantID string
	token    string // the tenant's admin key
	platform string // a platform key
}

func newFixture(t *testing.T, db string) *fixture {
	t.Helper()
	var tenant struct {
		Tenant struct{ ID string }
		Token  string
	}
	cli(t, &tenant, "tenants", "create", "--db", db, "--create", "--name", "Crash", "--owner-email", "owner@crash.test")
	var platform struct{ Token string }
	cli(t, &platform, "keys", "create", "--db", db, "--platform")
	return &fixture{tenantID: tenant.Tenant.ID, token: tenant.Token, platform: platform.Token}
}

// client returns a client of n with the tenant's admin key.
func (f *fixture) client(t *testing.T, n *node) *apiClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	return &apiClient{t: t, base: n.URL, token: f.token, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// raisePlan lifts the tenant's rate limit out of the way of load tests.
func (f *fixture) raisePlan(t *testing.T, c *apiClient) {
	t.Helper()
	pc := *c
	pc.token = f.platform
	pc.mustDo(200, "PATCH", "/v1/tenants/"+f.tenantID, map[string]any{"plan": map[string]any{"rate_limit_rps": 1e6, "rate_limit_burst": 1e7}})
}

// apiClient calls a node's API; every request gives up after 10 s.
type apiClient struct {
	t     *testing.T
	base  string
	token string
	hc    *http.Client
}

type reply struct {
	status int
	header http.Header
	body   []byte
	err    error // the request got no answer
	took   time.Duration
}

// do sends body (JSON-encoded unless nil) with the header pairs kv.
func (c *apiClient) do(method, path string, body any, kv ...string) reply {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b, err: err, took: time.Since(start)}
}

// expect is do, failing the test unless the answer has status want; it may
// be called from any goroutine.
func (c *apiClient) expect(want int, method, path string, body any, kv ...string) (reply, bool) {
	c.t.Helper()
	r := c.do(method, path, body, kv...)
	if r.err != nil || r.status != want {
		c.t.Errorf("%s %s: got %d %s (%v), want %d", method, path, r.status, r.body, r.err, want)
		return r, false
	}
	return r, true
}

// mustDo is do, failing the test now unless the answer has status want.
func (c *apiClient) mustDo(want int, method, path string, body any, kv ...string) reply {
	c.t.Helper()
	r := c.do(method, path, body, kv...)
	if r.err != nil || r.status != want {
		c.t.Fatalf("%s %s: got %d %s (%v), want %d", method, path, r.status, r.body, r.err, want)
	}
	return r
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem returns the problem's code, or fails t unless r is a problem.
func (r reply) problem(t *testing.T) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%d answer with Content-Type %q, want application/problem+json: %s", r.status, ct, r.body)
		return ""
	}
	var p struct {
		Status int
		Code   string
	}
	r.decode(t, &p)
	if p.Status != r.status {
		t.Errorf("problem status %d in a %d answer", p.Status, r.status)
	}
	return p.Code
}

type userDoc struct {
	ID      string
	Name    string
	Version int
}

type auditEntry struct {
	ID      string
	Action  string
	Changes map[string]struct{ From, To json.RawMessage }
}

// history returns the user's whole audit trail, newest first.
func (c *apiClient) history(id string) []auditEntry {
	c.t.Helper()
	var all []auditEntry
	path := "/v1/users/" + id + "/history?limit=100"
	for {
		var p struct {
			Data       []auditEntry
			HasMore    bool    `json:"has_more"`
			NextCursor *string `json:"next_cursor"`
		}
		c.mustDo(200, "GET", path, nil).decode(c.t, &p)
		all = append(all, p.Data...)
		if !p.HasMore || p.NextCursor == nil {
			return all
		}
		path = "/v1/users/" + id + "/history?limit=100&cursor=" + url.QueryEscape(*p.NextCursor)
	}
}

// waitUntil polls cond every 20 ms until it holds or d passes.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Receiver modes.
const (
	recvUp   = iota // accept every event (204)
	recvHold        // hold each request until the sender gives up or the mode changes, then 503
)

// receiver is an events endpoint that records what it accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	mode     int
	release  chan struct{} // closed when the mode changes
	inflight int
	seen     map[string]int             // webhook-id → times accepted
	byUser   map[string][]receivedEvent // in the order first accepted
}

type receivedEvent struct {
	ID, Type, Name string
	Version        int
}

func newReceiver(t *testing.T, mode int) *receiver {
	rc := &receiver{t: t, mode: mode, release: make(chan struct{}), seen: map[string]int{}, byUser: map[string][]receivedEvent{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(func() {
		rc.setMode(recvUp)
		rc.srv.Close()
	})
	return rc
}

func (rc *receiver) URL() string { return rc.srv.URL }

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	rc.mu.Lock()
	if rc.mode == recvHold {
		rc.inflight++
		release := rc.release
		rc.mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		rc.mu.Lock()
		rc.inflight--
		rc.mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	defer rc.mu.Unlock()
	var p struct {
		ID   string
		Type string
		Data struct {
			User struct {
				ID      string
				Name    string
				Version int
			}
		}
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" {
		rc.t.Errorf("event body %q: %v", body, err)
	}
	if id := r.Header.Get("webhook-id"); id != p.ID {
		rc.t.Errorf("webhook-id %q on event %q", id, p.ID)
	}
	rc.seen[p.ID]++
	if rc.seen[p.ID] == 1 {
		u := p.Data.User
		rc.byUser[u.ID] = append(rc.byUser[u.ID], receivedEvent{ID: p.ID, Type: p.Type, Name: u.Name, Version: u.Version})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) setMode(m int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.mode == recvHold && m != recvHold {
		close(rc.release)
		rc.release = make(chan struct{})
	}
	rc.mode = m
}

// held is how many requests the receiver is holding.
func (rc *receiver) held() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.inflight
}

// distinct is how many events were accepted, each counted once.
func (rc *receiver) distinct() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

// duplicates is how many deliveries repeated an accepted event.
func (rc *receiver) duplicates() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for _, k := range rc.seen {
		n += k - 1
	}
	return n
}

// events returns the user's events in the order first accepted.
func (rc *receiver) events(userID string) []receivedEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.byUser[userID])
}
