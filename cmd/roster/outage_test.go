package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/postgres/pgtest"
)

// These tests take the database away from a running node, or make it
// unwritable, and check that the node answers quickly with 503
// "unavailable" problems, keeps serving what it can, corrupts nothing, and
// recovers by itself when the database comes back (§5, §9).

// TestPostgresOutage cuts the TCP connections between a node and PostgreSQL
// under load, refusing new ones for a while, then lets them through again.
func TestPostgresOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a roster process")
	}
	direct := pgtest.URL(t)
	proxy, db := proxyTo(t, direct)

	f := newFixture(t, direct)
	n := startNode(t, "--db", db)
	c := f.client(t, n)
	f.raisePlan(t, c)

	const loaders = 4
	ids := make([]string, loaders)
	for i := range ids {
		var u userDoc
		c.mustDo(201, "POST", "/v1/users", map[string]any{"username": fmt.Sprintf("out%d", i)}).decode(t, &u)
		ids[i] = u.ID
	}
	c.mustDo(200, "GET", "/readyz", nil)
	c.mustDo(200, "GET", "/v1/users", nil)

	// Load: each loader reads and writes its user until stopped.
	type result struct {
		method     string
		start, end time.Time
		r          reply
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	for i, id := range ids {
		wg.Go(func() {
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				res := result{method: "GET", start: time.Now()}
				if seq%2 == 0 {
					res.r = c.do("GET", "/v1/users/"+id, nil)
				} else {
					res.method = "PATCH"
					res.r = c.do("PATCH", "/v1/users/"+id, map[string]any{"name": fmt.Sprintf("out%d-%d", i, seq)})
				}
				res.end = time.Now()
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)

	// The database goes away.
	cutAt := time.Now()
	proxy.Cut()
	if !waitUntil(5*time.Second, func() bool { return c.do("GET", "/readyz", nil).status == 503 }) {
		t.Errorf("/readyz still not 503 %v after the cut", time.Since(cutAt))
	}
	t.Logf("/readyz 503 %v after the cut", time.Since(cutAt).Round(time.Millisecond))
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/readyz", nil},
		{"GET", "/v1/users", nil},
		{"GET", "/v1/users/" + ids[0], nil},
		{"PATCH", "/v1/users/" + ids[0], map[string]any{"name": "during the cut"}},
		{"POST", "/v1/users", map[string]any{"username": "during-the-cut"}},
	} {
		r := c.do(req.method, req.path, req.body)
		switch {
		case r.err != nil:
			t.Errorf("during the cut, %s %s: no answer after %v: %v", req.method, req.path, r.took, r.err)
		case r.status != 503:
			t.Errorf("during the cut, %s %s: %d %s, want 503", req.method, req.path, r.status, r.body)
		case r.problem(t) != "unavailable":
			t.Errorf("during the cut, %s %s: %s, want code unavailable", req.method, req.path, r.body)
		case r.header.Get("Retry-After") == "":
			t.Errorf("during the cut, %s %s: 503 without Retry-After", req.method, req.path)
		case r.took > 3*time.Second:
			t.Errorf("during the cut, %s %s took %v", req.method, req.path, r.took)
		}
	}
	time.Sleep(500 * time.Millisecond)

	// It comes back: the same node serves again, without a restart.
	proxy.Restore()
	restoredAt := time.Now()
	if !waitUntil(10*time.Second, func() bool { return c.do("GET", "/readyz", nil).status == 200 }) {
		t.Fatalf("/readyz not 200 %v after the database came back\n%s", time.Since(restoredAt), n.Logs())
	}
	backAt := time.Now()
	t.Logf("/readyz 200 %v after the database came back", time.Since(restoredAt).Round(time.Millisecond))
	var got userDoc
	c.mustDo(200, "PATCH", "/v1/users/"+ids[0], map[string]any{"name": "after the cut"}).decode(t, &got)
	if got.Name != "after the cut" {
		t.Errorf("PATCH after the cut answered name %q", got.Name)
	}
	c.mustDo(200, "GET", "/v1/users", nil)
	c.mustDo(201, "POST", "/v1/users", map[string]any{"username": "after-the-cut"})
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	select {
	case <-n.done:
		t.Fatalf("the node exited\n%s", n.Logs())
	default:
	}

	// Every request of the load was answered in time: 200 before and after
	// the outage, 200 or a 503 "unavailable" problem during it. Before is
	// answered before the cut; after, sent once /readyz said 200 again.
	const (
		before = iota
		during
		after
	)
	phases := [...]string{"before the cut", "during the cut", "after the cut"}
	var count [3]map[int]int
	var slowest time.Duration
	for i := range count {
		count[i] = map[int]int{}
	}
	var bad []string
	for _, res := range results {
		r := res.r
		phase := during
		switch {
		case res.end.Before(cutAt):
			phase = before
		case res.start.After(backAt):
			phase = after
		}
		slowest = max(slowest, r.took)
		if r.err != nil {
			t.Errorf("%s: %s got no answer after %v: %v", phases[phase], res.method, r.took, r.err)
			continue
		}
		count[phase][r.status]++
		switch {
		case r.status == 503 && phase == during:
			if code := r.problem(t); code != "unavailable" {
				t.Errorf("%s: %s: 503 with code %q", phases[phase], res.method, code)
			}
		case r.status != 200 && len(bad) < 5:
			bad = append(bad, fmt.Sprintf("%s: %s: %d %s", phases[phase], res.method, r.status, r.body))
		}
		if r.took > 6*time.Second {
			t.Errorf("%s: %s took %v", phases[phase], res.method, r.took)
		}
	}
	t.Logf("load statuses before the cut %v, during %v, after %v; slowest answer %v", count[before], count[during], count[after], slowest.Round(time.Millisecond))
	if len(bad) > 0 {
		t.Errorf("the load got answers other than 200, or 503 unavailable during the cut (at most 5 shown):\n%s", strings.Join(bad, "\n"))
	}
	if count[during][429] > 0 {
		t.Errorf("%d requests with a valid key got 429 rate_limited during the cut: a key that cannot be looked up is metered as a failed authentication, per IP", count[during][429])
	}
	if count[during][503] == 0 {
		t.Errorf("no request of the load failed during the cut: was it cut? %v", count[during])
	}
	if count[after][200] == 0 {
		t.Errorf("no request of the load succeeded after the cut: %v", count[after])
	}
}

// TestPostgresStalled stops the bytes between a node and PostgreSQL
// without closing its connections, as a hung server, a full PgBouncer queue
// or a network partition does: requests must still come back, as 503
// "unavailable" problems, rather than wait as long as the database does;
// and the node serves again once the database answers.
func TestPostgresStalled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a roster process")
	}
	direct := pgtest.URL(t)
	proxy, db := proxyTo(t, direct)
	f := newFixture(t, direct)
	n := startNode(t, "--db", db)
	c := f.client(t, n)
	f.raisePlan(t, c)
	var usr userDoc
	c.mustDo(201, "POST", "/v1/users", map[string]any{"username": "stalled"}).decode(t, &usr)
	// Concurrent writes leave the pool several open connections, which
	// stall with the proxy.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				c.expect(200, "PATCH", "/v1/users/"+usr.ID, map[string]any{"name": "warm"})
			}
		})
	}
	wg.Wait()

	proxy.Stall()
	reqs := []struct {
		method, path string
		body         any
	}{
		{"GET", "/readyz", nil},
		{"GET", "/v1/users/" + usr.ID, nil},
		{"GET", "/v1/users", nil},
		{"PATCH", "/v1/users/" + usr.ID, map[string]any{"name": "during the stall"}},
		{"POST", "/v1/users", map[string]any{"username": "during-the-stall"}},
	}
	replies := make([]reply, len(reqs))
	for i, req := range reqs {
		wg.Go(func() { replies[i] = c.do(req.method, req.path, req.body) })
	}
	wg.Wait()
	for i, r := range replies {
		req := reqs[i]
		switch {
		case r.err != nil:
			t.Errorf("%s %s while the database stalls: no answer within %v (%v): a request waits as long as the database does",
				req.method, req.path, r.took.Round(time.Millisecond), r.err)
		case r.status != 503 || r.problem(t) != "unavailable":
			t.Errorf("%s %s while the database stalls: %d %s, want 503 unavailable", req.method, req.path, r.status, r.body)
		default:
			t.Logf("%s %s while the database stalls: 503 after %v", req.method, req.path, r.took.Round(time.Millisecond))
		}
	}

	proxy.Restore()
	restoredAt := time.Now()
	if !waitUntil(10*time.Second, func() bool { return c.do("GET", "/readyz", nil).status == 200 }) {
		t.Fatalf("/readyz not 200 %v after the database answered again\n%s", time.Since(restoredAt), n.Logs())
	}
	var got userDoc
	c.mustDo(200, "PATCH", "/v1/users/"+usr.ID, map[string]any{"name": "after the stall"}).decode(t, &got)
	if got.Name != "after the stall" {
		t.Errorf("PATCH after the stall answered name %q", got.Name)
	}
}

// TestSQLiteLockedFile holds the SQLite file's write lock from another
// connection, as another process would: the node's reads go on, its writes
// fail with 503 "unavailable" after the busy timeout (5 s), each of several
// at once rather than one busy timeout after another, and succeed again
// once the lock is released; the file stays sound.
func TestSQLiteLockedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a roster process and waits out SQLite's busy timeout")
	}
	db := filepath.Join(t.TempDir(), "roster.db")
	f := newFixture(t, db)
	n := startNode(t, "--db", db)
	c := f.client(t, n)
	const writers = 3
	ids := make([]string, writers)
	for i := range ids {
		var u userDoc
		c.mustDo(201, "POST", "/v1/users", map[string]any{"username": fmt.Sprintf("locked%d", i)}).decode(t, &u)
		ids[i] = u.ID
	}

	ctx := context.Background()
	other, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("lock the file: %v", err)
	}
	locked := true
	defer func() {
		if locked {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
		}
	}()

	// Reads go on: WAL readers do not wait for the writer.
	for _, path := range []string{"/v1/users/" + ids[0], "/v1/users", "/v1/users/" + ids[0] + "/history"} {
		if r := c.mustDo(200, "GET", path, nil); r.took > time.Second {
			t.Errorf("GET %s took %v while the file was locked", path, r.took)
		}
	}
	// Writes wait out the busy timeout, then give up with a clear error.
	replies := make([]reply, writers)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { replies[i] = c.do("PATCH", "/v1/users/"+id, map[string]any{"name": "while locked"}) })
	}
	wg.Wait()
	for i, r := range replies {
		switch {
		case r.err != nil:
			t.Errorf("PATCH %d of %d at once while locked: no answer within %v: %v (writes queued behind the lock wait a busy timeout each)",
				i+1, writers, r.took.Round(time.Millisecond), r.err)
		case r.status != 503 || r.problem(t) != "unavailable":
			t.Errorf("PATCH while locked: %d %s, want 503 unavailable", r.status, r.body)
		case r.took < 4*time.Second || r.took > 8*time.Second:
			t.Errorf("PATCH while locked answered after %v, want about the busy timeout of 5 s", r.took)
		default:
			t.Logf("PATCH while locked: %d after %v", r.status, r.took.Round(time.Millisecond))
		}
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	locked = false
	for _, id := range ids {
		var got userDoc
		c.mustDo(200, "PATCH", "/v1/users/"+id, map[string]any{"name": "after the lock"}).decode(t, &got)
		if got.Version != 2 || got.Name != "after the lock" {
			t.Errorf("after the lock: version %d name %q, want 2 and the new name (the refused write left nothing)", got.Version, got.Name)
		}
		if hist := c.history(id); len(hist) != 2 {
			t.Errorf("%d audit entries, want 2", len(hist))
		}
	}
	conn.Close()
	other.Close()
	n.kill(syscall.SIGTERM)
	integrityCheck(t, db)
}

// TestSQLiteDiskFull puts the database on a small tmpfs and fills it: writes
// fail with a clear 5xx problem, reads go on, and once space is freed
// writes succeed and the file is sound. It needs to mount a tmpfs (root on
// Linux) and skips where it cannot.
func TestSQLiteDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a roster process")
	}
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root on Linux): %v %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	db := filepath.Join(dir, "roster.db")
	f := newFixture(t, db)
	n := startNode(t, "--db", db)
	c := f.client(t, n)
	var u userDoc
	c.mustDo(201, "POST", "/v1/users", map[string]any{"username": "full"}).decode(t, &u)

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	// Writes of several KiB each: the WAL must grow for them.
	big := strings.Repeat("x", 6000)
	var failed reply
	var writes int
	for writes = 1; writes <= 20; writes++ {
		r := c.do("PATCH", "/v1/users/"+u.ID, map[string]any{"metadata": map[string]any{"blob": fmt.Sprint(writes, big)}})
		if r.err != nil {
			t.Fatalf("PATCH on a full disk: no answer after %v: %v\n%s", r.took, r.err, n.Logs())
		}
		if r.status != 200 {
			failed = r
			break
		}
	}
	if failed.status == 0 {
		t.Fatalf("20 writes of 6 KB succeeded on a full disk")
	}
	code := failed.problem(t)
	t.Logf("write %d on a full disk: %d %s after %v", writes, failed.status, code, failed.took.Round(time.Millisecond))
	if failed.status != 503 || code != "unavailable" {
		t.Errorf("write on a full disk: %d %s, want 503 unavailable (as PostgreSQL's disk full, SQLSTATE 53100, answers)\n%s",
			failed.status, failed.body, failedLines(n))
	}
	// Reads go on.
	var cur userDoc
	c.mustDo(200, "GET", "/v1/users/"+u.ID, nil).decode(t, &cur)
	c.mustDo(200, "GET", "/v1/users", nil)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var got userDoc
	c.mustDo(200, "PATCH", "/v1/users/"+u.ID, map[string]any{"name": "space again"}).decode(t, &got)
	if got.Version != cur.Version+1 {
		t.Errorf("after freeing space: version %d, want %d", got.Version, cur.Version+1)
	}
	if hist := c.history(u.ID); len(hist) != got.Version {
		t.Errorf("version %d with %d audit entries", got.Version, len(hist))
	}
	n.kill(syscall.SIGTERM)
	integrityCheck(t, db)
}

// fill writes to path until its file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := fh.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			break
		}
	}
	// Smaller writes take the last pages.
	for _, err := fh.Write(buf[:512]); err == nil; _, err = fh.Write(buf[:512]) {
	}
}

// failedLines returns the node's log lines about failed requests.
func failedLines(n *node) string {
	var b strings.Builder
	for line := range strings.Lines(n.Logs()) {
		if strings.Contains(line, "request failed") {
			b.WriteString(line)
		}
	}
	return b.String()
}
