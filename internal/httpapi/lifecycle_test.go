package httpapi_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/roster-dev/roster/internal/directory"
)

func TestDeleteRestoreAndPurge(t *testing.T) {
	e := newEnv(t)
	png := pngDataURI(t)
	u := e.createUser(t, map[string]any{
		"email": "gone@example.com", "name": "Forget Me", "picture": png,
		"secure_metadata": map[string]any{"tax_id": "TAXID-991122"},
	})
	id := u["id"].(string)
	r := e.must(t, http.StatusAccepted, req{method: "DELETE", path: "/v1/users/" + id})
	if got := r.json(t); got["status"] != "deleting" {
		t.Errorf("status %v, want deleting", got["status"])
	}
	for _, rq := range []req{
		{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "X"}},
		{method: "PUT", path: "/v1/users/" + id, body: map[string]any{"email": "x@example.com"}},
		{method: "POST", path: "/v1/users/" + id + "/deactivate"},
		{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": "x"}},
		{method: "DELETE", path: "/v1/users/" + id},
	} {
		problem(t, e.do(t, rq), http.StatusConflict, "user_deleting")
	}
	if got := e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/restore"}).json(t); got["status"] != "active" {
		t.Errorf("after restore: %v", got["status"])
	}
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"bio": "back"}})

	// Delete again; the grace period is 0, so the purge is due at once.
	e.must(t, http.StatusAccepted, req{method: "DELETE", path: "/v1/users/" + id})
	n, err := e.svc.PurgeDue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("PurgeDue = %d, %v; want 1", n, err)
	}
	problem(t, e.do(t, req{method: "GET", path: "/v1/users/" + id}), 404, "not_found")
	problem(t, e.do(t, req{method: "GET", path: "/v1/users/" + id + "/picture"}), 404, "not_found")

	// The database keeps none of the personal data.
	raw, _ := base64.StdEncoding.DecodeString(png[strings.Index(png, ",")+1:])
	dump := e.dumpDatabase(t)
	for _, secret := range [][]byte{[]byte("gone@example.com"), []byte("Forget Me"), []byte("TAXID-991122"), []byte(`"back"`), raw[16:48]} {
		for where, cell := range dump {
			if bytes.Contains(cell, secret) || bytes.Contains(cell, []byte(hex.EncodeToString(secret))) {
				t.Errorf("%q survives the purge in %s", secret, where)
			}
		}
	}
	// The audit skeleton stays.
	if n := bytes.Count(dump["audit"], []byte(id)); n < 5 {
		t.Errorf("audit skeleton: %d entries name the user", n)
	}
}

// dumpDatabase reads every row of every table straight from the database,
// past the store, as table → all its cells.
func (e *env) dumpDatabase(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ctx := context.Background()
	if backend == "postgres" {
		conn, err := pgxpool.New(ctx, e.dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range tables {
			rows, err := conn.Query(ctx, `SELECT t::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
			if err != nil {
				t.Fatal(err)
			}
			cells, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			out[table] = []byte(strings.Join(cells, "\n"))
		}
		return out
	}
	db, err := sql.Open("sqlite", "file:"+e.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tables, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		_ = tables.Scan(&n)
		names = append(names, n)
	}
	tables.Close()
	for _, table := range names {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case string:
					out[table] = append(append(out[table], v...), '\n')
				case []byte:
					out[table] = append(append(out[table], v...), '\n')
				}
			}
		}
		rows.Close()
	}
	return out
}
func TestOwnerProtected(t *testing.T) {
	e := newEnv(t)
	l := e.must(t, 200, req{method: "GET", path: "/v1/users?email=owner@acme.test"}).json(t)
	owner := l["data"].([]any)[0].(map[string]any)["id"].(string)
	problem(t, e.do(t, req{method: "DELETE", path: "/v1/users/" + owner}), 409, "owner_protected")
	problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + owner + "/deactivate"}), 409, "owner_protected")
}

func TestDeactivateReactivateAndActiveQuota(t *testing.T) {
	plan := generous
	plan.MaxActiveUsers = 2 // the owner and one more
	e := newEnvWith(t, envOptions{plan: &plan})
	id := e.createUser(t, map[string]any{"username": "worker"})["id"].(string)
	p := problem(t, e.do(t, req{method: "POST", path: "/v1/users", body: map[string]any{"username": "third"}}), 429, "quota_exceeded")
	_ = p
	u := e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/deactivate"}).json(t)
	if u["status"] != "deactivated" || u["deactivated"] != true || u["version"] != json.Number("2") {
		t.Errorf("deactivated user: %v", u)
	}
	// Idempotent.
	if u := e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/deactivate"}).json(t); u["version"] != json.Number("2") {
		t.Errorf("second deactivate changed the user")
	}
	// The freed seat can be taken; then reactivation is over the quota.
	e.createUser(t, map[string]any{"username": "third"})
	r := e.do(t, req{method: "POST", path: "/v1/users/" + id + "/reactivate"})
	problem(t, r, 429, "quota_exceeded")
	if r.header.Get("Retry-After") == "" || r.header.Get("X-Quota-Active-Users-Limit") != "2" {
		t.Errorf("quota headers %v", r.header)
	}
	h := e.must(t, 200, req{method: "GET", path: "/v1/users/" + id + "/history"}).json(t)["data"].([]any)
	if h[0].(map[string]any)["action"] != "user.deactivated" {
		t.Errorf("history head %v", h[0])
	}
}

func TestSuspensions(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(t, map[string]any{"username": "rowdy"})["id"].(string)
	r := e.must(t, 201, req{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": "spam"}})
	sus := r.json(t)
	sid := sus["id"].(string)
	if !strings.HasPrefix(sid, "sus_") || sus["reason"] != "spam" || sus["ends_at"] != nil {
		t.Errorf("suspension %v", sus)
	}
	ends := time.Now().Add(1200 * time.Millisecond).UTC().Format(time.RFC3339Nano)
	e.must(t, 201, req{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": "cool down", "ends_at": ends}})
	if got := len(e.getUser(t, id)["suspensions"].([]any)); got != 2 {
		t.Fatalf("%d suspensions, want 2", got)
	}
	u := e.must(t, 200, req{method: "DELETE", path: "/v1/users/" + id + "/suspensions/" + sid}).json(t)
	if got := len(u["suspensions"].([]any)); got != 1 {
		t.Errorf("%d suspensions after lifting one, want 1", got)
	}
	problem(t, e.do(t, req{method: "DELETE", path: "/v1/users/" + id + "/suspensions/" + sid}), 404, "not_found")
	// The timed one ends by itself.
	time.Sleep(1300 * time.Millisecond)
	if got := e.getUser(t, id)["suspensions"].([]any); len(got) != 0 {
		t.Errorf("expired suspension still listed: %v", got)
	}
	p := problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + id + "/suspensions", body: map[string]any{"reason": "", "ends_at": "yesterday"}}), 422, "validation_failed")
	if got := fieldCodes(p); got["reason"] == "" || got["ends_at"] == "" {
		t.Errorf("errors %v", got)
	}
}

// pngDataURI is a tiny real PNG as a data: URI.
func pngDataURI(t *testing.T) string {
	t.Helper()
	const onePixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
	return "data:image/png;base64," + onePixel
}

func TestPictures(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(t, map[string]any{"username": "pic"})["id"].(string)
	u := e.patchUser(t, id, "application/json", map[string]any{"picture": pngDataURI(t)}).json(t)
	url, _ := u["picture"].(string)
	if !strings.HasPrefix(url, "/v1/users/"+id+"/picture") {
		t.Fatalf("picture %q", url)
	}
	r := e.must(t, 200, req{method: "GET", path: url})
	if r.header.Get("Content-Type") != "image/png" || r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("ETag") == "" {
		t.Errorf("picture headers %v", r.header)
	}
	if !bytes.HasPrefix(r.body, []byte("\x89PNG")) {
		t.Errorf("picture bytes %q", r.body[:8])
	}
	e.must(t, 304, req{method: "GET", path: url, headers: []string{"If-None-Match", r.header.Get("ETag")}})
	// Sending the GET body back keeps the picture.
	got := e.must(t, 200, req{method: "GET", path: "/v1/users/" + id})
	if v := e.must(t, 200, req{method: "PUT", path: "/v1/users/" + id, body: got.body}).json(t)["version"]; v != json.Number("2") {
		t.Errorf("PUT of GET body changed the user: version %v", v)
	}
	// Bytes that are not what they claim, and other schemes, are refused.
	gif := "data:image/gif;base64," + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nnot really"))
	for _, bad := range []string{gif, "data:text/html;base64,PGgxPg==", "javascript:alert(1)", "data:image/png;base64," + strings.Repeat("A", 400000)} {
		problem(t, e.patchUser(t, id, "application/json", map[string]any{"picture": bad}), 422, "validation_failed")
	}
	// Replacing the picture by a URL deletes the stored bytes.
	e.patchUser(t, id, "application/json", map[string]any{"picture": "https://cdn.example.com/a.png"})
	problem(t, e.do(t, req{method: "GET", path: "/v1/users/" + id + "/picture"}), 404, "not_found")
}

// TestPicturePolyglotsAreRefused: bytes that start like an image but are
// not one whole image (a PNG signature followed by HTML, a valid PNG
// followed by HTML) are 422 on PATCH, and nothing is written: the stored
// picture, the version and the history stay as they were.
func TestPicturePolyglotsAreRefused(t *testing.T) {
	e := newEnv(t)
	png := pngDataURI(t)
	id := e.createUser(t, map[string]any{"username": "polyglot", "picture": png})["id"].(string)
	before := e.getUser(t, id)
	stored := e.must(t, 200, req{method: "GET", path: before["picture"].(string)}).body
	history := len(e.history(t, id))

	const html = "<html><body><script>alert(document.domain)</script></body></html>"
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(png, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"signature then HTML":  []byte("\x89PNG\r\n\x1a\n" + html),
		"valid PNG then HTML":  append(bytes.Clone(raw), html...),
		"valid PNG, truncated": raw[:len(raw)-4],
	} {
		t.Run(name, func(t *testing.T) {
			uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(data)
			p := problem(t, e.patchUser(t, id, "application/json", map[string]any{"picture": uri, "name": "Changed"}), 422, "validation_failed")
			if got := fieldCodes(p)["picture"]; got != "invalid_picture" {
				t.Errorf("errors %v, want picture: invalid_picture", p["errors"])
			}
			if got := e.getUser(t, id); got["version"] != before["version"] || got["picture"] != before["picture"] || got["name"] != before["name"] {
				t.Errorf("after the refused PATCH: version %v, picture %v, name %v; want %v, %v, %v",
					got["version"], got["picture"], got["name"], before["version"], before["picture"], before["name"])
			}
			if got := e.must(t, 200, req{method: "GET", path: before["picture"].(string)}).body; !bytes.Equal(got, stored) {
				t.Errorf("the stored picture changed: %q", got)
			}
			if got := len(e.history(t, id)); got != history {
				t.Errorf("history has %d entries, want %d", got, history)
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	e := newEnvWith(t, envOptions{anonymous: directory.Plan{RateLimitRPS: 0.01, RateLimitBurst: 3}})
	// Headers on every metered response.
	r := e.must(t, 200, req{method: "GET", path: "/v1/users"})
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
		if r.header.Get(h) == "" {
			t.Errorf("no %s", h)
		}
	}
	if _, err := time.Parse(time.RFC3339, r.header.Get("X-RateLimit-Reset")); err != nil {
		t.Errorf("X-RateLimit-Reset %q is not ISO-8601", r.header.Get("X-RateLimit-Reset"))
	}
	// A tenant's plan takes effect at once.
	e.must(t, 200, req{method: "PATCH", path: "/v1/tenants/" + e.tenant, token: e.platform,
		body: map[string]any{"plan": map[string]any{"rate_limit_rps": 0.01, "rate_limit_burst": 2}}})
	e.must(t, 200, req{method: "GET", path: "/v1/users"})
	e.must(t, 200, req{method: "GET", path: "/v1/users"})
	r = e.do(t, req{method: "GET", path: "/v1/users"})
	problem(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" || r.header.Get("Retry-After") == "0" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("429 headers %v", r.header)
	}
	// Failed authentications are metered per IP.
	bad := 0
	for range 5 {
		r := e.do(t, req{method: "GET", path: "/v1/users", token: "rst_wrong"})
		if r.status == 429 {
			bad++
		}
	}
	if bad == 0 {
		t.Errorf("failed authentications were never limited")
	}
	// Probes are not metered, nor are the console's files.
	for range 5 {
		e.must(t, 200, req{method: "GET", path: "/healthz", token: "-"})
	}
	for i := range 5 {
		resp, err := e.srv.Client().Get(e.srv.URL + "/console/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /console/ #%d: %d, want 200", i+1, resp.StatusCode)
		}
	}
	// A write to the console's paths is metered.
	r = e.do(t, req{method: "POST", path: "/console/", token: "-"})
	if r.status != 429 {
		t.Errorf("POST /console/ past the per-IP limit: %d, want 429", r.status)
	}
}

func TestWriteQuota(t *testing.T) {
	plan := generous
	plan.WritesPerPeriod = 3
	e := newEnvWith(t, envOptions{plan: &plan})
	id := e.createUser(t, map[string]any{"username": "quota"})["id"].(string) // the owner's creation is not metered
	r := e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "A"}})
	if r.header.Get("X-Quota-Writes-Used") != "2" || r.header.Get("X-Quota-Writes-Limit") != "3" || r.header.Get("X-Quota-Reset") == "" {
		t.Errorf("quota headers %v", r.header)
	}
	// A no-op is not a write.
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "A"}})
	e.must(t, 200, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "B"}})
	r = e.do(t, req{method: "PATCH", path: "/v1/users/" + id, body: map[string]any{"name": "C"}})
	problem(t, r, 429, "quota_exceeded")
	if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	if got := e.getUser(t, id)["name"]; got != "B" {
		t.Errorf("a write over the quota was stored: name %v", got)
	}
	usage := e.must(t, 200, req{method: "GET", path: "/v1/usage"}).json(t)
	if !equalJSON(usage["writes"], `{"limit":3,"used":3}`) || !equalJSON(usage["active_users"], fmt.Sprintf(`{"limit":%d,"used":2}`, plan.MaxActiveUsers)) {
		t.Errorf("usage %v", usage)
	}
}

// TestQuotaHeadersOnEveryWriteAnswer checks that every answer of a write
// route carries the figures as the write left them: a commit's own, or, for
// a no-op, a dry run or a refusal, those stored.
func TestQuotaHeadersOnEveryWriteAnswer(t *testing.T) {
	plan := generous
	plan.WritesPerPeriod = 4
	e := newEnvWith(t, envOptions{plan: &plan})
	id := e.createUser(t, map[string]any{"username": "counted"})["id"].(string) // write 1
	path := "/v1/users/" + id
	for _, c := range []struct {
		name   string
		rq     req
		status int
		used   string // writes
		active string // users
	}{
		{"an update", req{method: "PATCH", path: path, body: map[string]any{"name": "A"}}, 200, "2", "2"},
		{"a no-op", req{method: "PATCH", path: path, body: map[string]any{"name": "A"}}, 200, "2", "2"},
		{"a dry run", req{method: "PATCH", path: path + "?dry_run=true", body: map[string]any{"name": "B"}}, 200, "2", "2"},
		{"a bad query", req{method: "PATCH", path: path + "?dry_run=maybe", body: map[string]any{"name": "B"}}, 400, "2", "2"},
		{"a bad media type", req{method: "PUT", path: path, ctype: "text/plain", body: "x"}, 415, "2", "2"},
		{"an invalid field", req{method: "PATCH", path: path, body: map[string]any{"email": "nope"}}, 422, "2", "2"},
		{"a suspension", req{method: "POST", path: path + "/suspensions", body: map[string]any{"reason": "r"}}, 201, "3", "2"},
		{"a create", req{method: "POST", path: "/v1/users", body: map[string]any{"username": "second"}}, 201, "4", "3"},
		{"a write past the quota", req{method: "POST", path: path + "/deactivate"}, 429, "4", "3"},
	} {
		r := e.do(t, c.rq)
		if r.status != c.status {
			t.Fatalf("%s: status %d, want %d: %s", c.name, r.status, c.status, r.body)
		}
		if got := r.header.Get("X-Quota-Writes-Used"); got != c.used || r.header.Get("X-Quota-Writes-Limit") != "4" ||
			r.header.Get("X-Quota-Active-Users") != c.active || r.header.Get("X-Quota-Reset") == "" {
			t.Errorf("%s: quota headers %v, want %s writes used of 4 and %s active users", c.name, r.header, c.used, c.active)
		}
	}
}

func TestLifecycleDryRuns(t *testing.T) {
	e := newEnv(t)
	id := e.createUser(t, map[string]any{"username": "dry"})["id"].(string)
	for _, rq := range []req{
		{method: "DELETE", path: "/v1/users/" + id + "?dry_run=true"},
		{method: "POST", path: "/v1/users/" + id + "/deactivate?dry_run=true"},
		{method: "POST", path: "/v1/users/" + id + "/suspensions?dry_run=true", body: map[string]any{"reason": "test"}},
	} {
		r := e.do(t, rq)
		if r.status >= 300 || r.header.Get("Roster-Dry-Run") != "true" || r.header.Get("Location") != "" {
			t.Errorf("%s %s: %d %v", rq.method, rq.path, r.status, r.header)
		}
	}
	if u := e.getUser(t, id); u["version"] != json.Number("1") || u["status"] != "active" || len(u["suspensions"].([]any)) != 0 {
		t.Errorf("a dry run wrote: %v", u)
	}
	// A deleting user is 409 before its version is compared.
	e.must(t, 202, req{method: "DELETE", path: "/v1/users/" + id})
	problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + id + "/deactivate", headers: []string{"If-Match", `"1"`}}), 409, "user_deleting")
	problem(t, e.do(t, req{method: "POST", path: "/v1/users/" + id + "/restore", headers: []string{"If-Match", `"1"`}}), 412, "precondition_failed")
	e.must(t, 200, req{method: "POST", path: "/v1/users/" + id + "/restore", headers: []string{"If-Match", `"2"`}})
}
