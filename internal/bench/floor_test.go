package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/storetest"
	"github.com/roster-dev/roster/internal/wire"
)

// TestServeFloor checks that a PATCH to the floor server commits what the
// raw transaction does, the user's new row with its audit entry and event,
// and answers with the user as stored.
func TestServeFloor(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db := filepath.Join(t.TempDir(), "roster.db")
	store, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	nt, err := directory.NewService(store, directory.Options{Wire: wire.Encoding{}}).CreateTenant(ctx, directory.TenantInput{Name: "Floor"}, false, directory.Actor{})
	if err != nil {
		t.Fatal(err)
	}
	tenantID := nt.Tenant.ID
	ids, err := SeedUsers(ctx, store, tenantID, 2, 0)
	if err != nil {
		t.Fatal(err)
	}

	pr, pw := io.Pipe()
	served := make(chan error, 1)
	srvCtx, stop := context.WithCancel(ctx)
	go func() {
		served <- ServeFloorEnv(srvCtx, tenantID+" "+db, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v (served: %v)", err, <-served)
	}
	go io.Copy(io.Discard, pr)
	m := listening.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("the floor server's first line %q is not the line StartServer waits for", line)
	}

	for i := range 2 { // the second PATCH applies to the first's result
		req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, m[1]+"/v1/users/"+ids[0], strings.NewReader(`{"name": "x"}`))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("PATCH %d: status %d, decode: %v", i, resp.StatusCode, err)
		}
		if name, _ := got["name"].(string); got["id"] != ids[0] || !strings.HasPrefix(name, "Floor ") {
			t.Errorf("PATCH %d answered %v", i, got)
		}
	}
	u, err := store.GetUser(ctx, tenantID, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if u.Version != 3 || !strings.HasPrefix(u.Name, "Floor ") {
		t.Errorf("stored user: version %d, name %q; want version 3, a floor name", u.Version, u.Name)
	}
	audit, err := store.ListAudit(ctx, tenantID, ids[0], "", 10)
	if err != nil || len(audit) != 2 {
		t.Errorf("audit entries: %d, %v; want 2", len(audit), err)
	}
	events, err := store.(storetest.Inspector).ListEvents(ctx, tenantID, "", 10)
	if err != nil || len(events) != 2 {
		t.Errorf("events: %d, %v; want 2", len(events), err)
	}

	// A body that is not JSON is refused, and nothing is written.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, m[1]+"/v1/users/"+ids[1], strings.NewReader(`{`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad body: status %d, want 400", resp.StatusCode)
	}
	if u, err := store.GetUser(ctx, tenantID, ids[1]); err != nil || u.Version != 1 {
		t.Errorf("after a bad body the user is %+v, %v; want version 1", u, err)
	}

	stop()
	if err := <-served; err != nil {
		t.Errorf("ServeFloor ended with %v", err)
	}
}

func TestServeFloorEnvNeedsTenantAndDatabase(t *testing.T) {
	for _, v := range []string{"ten_x", " /tmp/db", "ten_x "} {
		if err := ServeFloorEnv(context.Background(), v, io.Discard); err == nil {
			t.Errorf("%s=%q: no error", FloorEnv, v)
		}
	}
}
