package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/sqlite"
)

// TestPurgeLeavesNoPersonalData looks behind the store, through a
// connection of its own, at every text and blob value of every row of every
// table: after PurgeUser none holds the user's personal data (§8). The same
// scan first finds each value before the purge, so a scan that sees nothing
// cannot pass. Then, after ErasePurged and more writes of other users, it
// looks at the raw bytes of the database file, its WAL and its -shm file.
func TestPurgeLeavesNoPersonalData(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	s := openPath(t, path)
	now := directory.Now()

	personal := map[string][]byte{
		"email":           []byte("zelda.purgeable@example.com"),
		"username":        []byte("zelda.purgeable"),
		"name":            []byte("Zelda Purgeable"),
		"bio":             []byte("42 Forgetme Lane"),
		"metadata":        []byte("zelda-loyalty-card-5566"),
		"secure metadata": []byte("ssn-987-65-4321"),
		// Twice in a picture of 200 KiB: on its first page and on its last
		// overflow page, which the purge moves to the freelist.
		"picture bytes": []byte("\x00\xffzelda-picture-pixels\x01\xfe"),
		"suspension":    []byte("zelda-spammed-the-forum"),
		"receiver echo": []byte("zelda-echoed-by-receiver"),
	}
	tn := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: "Acme",
		Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: now, UpdatedAt: now}
	u := &directory.User{
		ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID,
		Email: "Zelda.Purgeable@Example.com", Username: string(personal["username"]), Name: string(personal["name"]),
		GivenName: "Zelda", Bio: "Lives at " + string(personal["bio"]), Roles: []string{"member"},
		Metadata:       map[string]any{"card": string(personal["metadata"])},
		SecureMetadata: map[string]any{"ssn": string(personal["secure metadata"])},
		Status:         directory.StatusDeleting, PurgeAfter: &now, AuthProvider: "local",
		CreatedAt: now, UpdatedAt: now, Version: 2,
	}
	bystander := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID, Email: "bob@example.com",
		Name: "Bob Bystander", Status: directory.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
	ep := &directory.Endpoint{ID: directory.NewID(directory.PrefixEndpoint, now), TenantID: tn.ID, URL: "https://hooks.example.com/",
		Kind: directory.EndpointEvents, TimeoutMS: 2000, Secret: "whsec_x", CreatedAt: now}

	err := s.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		if err := tx.CreateEndpoint(ctx, ep); err != nil {
			return err
		}
		for _, x := range []*directory.User{u, bystander} {
			if err := tx.CreateUser(ctx, x); err != nil {
				return err
			}
		}
		a := &directory.AuditEntry{ID: directory.NewID(directory.PrefixAudit, now), TenantID: tn.ID, UserID: u.ID,
			Action: directory.EventUserUpdated, Actor: directory.Actor{KeyID: "key_1"}, RequestID: "req_1", At: now,
			Changes: map[string]directory.Change{
				"email":           {From: "old@example.com", To: u.Email},
				"name":            {From: nil, To: u.Name},
				"bio":             {From: nil, To: u.Bio},
				"metadata":        {From: map[string]any{}, To: u.Metadata},
				"secure_metadata": {From: "[redacted]", To: "[redacted]"},
			}}
		if err := tx.InsertAudit(ctx, a); err != nil {
			return err
		}
		for i := range 2 {
			e := &directory.Event{ID: directory.NewID(directory.PrefixEvent, now), TenantID: tn.ID, UserID: u.ID,
				Type: directory.EventUserUpdated, CreatedAt: now,
				Payload: fmt.Appendf(nil, `{"type":"user.updated","data":{"email":%q,"name":%q,"username":%q,"bio":%q,"i":%d}}`,
					u.Email, u.Name, u.Username, u.Bio, i)}
			d := &directory.Delivery{ID: directory.NewID(directory.PrefixDelivery, now), EndpointID: ep.ID,
				Status: directory.DeliveryPending, NextAttemptAt: now, CreatedAt: now}
			if err := tx.InsertEvent(ctx, e, []*directory.Delivery{d}); err != nil {
				return err
			}
		}
		if err := tx.InsertSuspension(ctx, tn.ID, u.ID, &directory.Suspension{ID: directory.NewID(directory.PrefixSuspension, now),
			Reason: string(personal["suspension"]), CreatedAt: now}); err != nil {
			return err
		}
		lifted := &directory.Suspension{ID: directory.NewID(directory.PrefixSuspension, now), Reason: "lifted, about " + u.Name, CreatedAt: now}
		if err := tx.InsertSuspension(ctx, tn.ID, u.ID, lifted); err != nil {
			return err
		}
		if err := tx.LiftSuspension(ctx, tn.ID, u.ID, lifted.ID, now); err != nil {
			return err
		}
		return tx.PutPicture(ctx, tn.ID, u.ID, &directory.Picture{ContentType: "image/png",
			Data: bytes.Join([][]byte{[]byte("\x89PNG\r\n\x1a\n"), personal["picture bytes"], make([]byte, 200<<10), personal["picture bytes"]}, nil),
			ETag: `"p"`, UpdatedAt: now})
	})
	if err != nil {
		t.Fatalf("writing the user's data: %v", err)
	}
	// A failed delivery attempt whose receiver's answer, quoted in its
	// error, echoed personal data.
	if err := s.FinishAttempt(ctx, &directory.Delivery{ID: firstDelivery(t, s, tn.ID, ep.ID), TenantID: tn.ID},
		&directory.Attempt{At: now, StatusCode: 0, Error: `malformed HTTP response "` + string(personal["receiver echo"]) + `"`},
		now.Add(time.Minute)); err != nil {
		t.Fatalf("FinishAttempt: %v", err)
	}

	db := rawDB(t, path)
	before := findValues(t, db, personal)
	for what := range personal {
		if len(before[what]) == 0 {
			t.Fatalf("before the purge, the scan finds no %s: it cannot prove its absence after", what)
		}
	}

	err = s.InTx(ctx, func(tx directory.Tx) error {
		return tx.PurgeUser(ctx, tn.ID, u.ID, func(e *directory.Event) []byte {
			return fmt.Appendf(nil, `{"type":%q,"data":{"id":%q}}`, e.Type, e.UserID)
		})
	})
	if err != nil {
		t.Fatalf("PurgeUser: %v", err)
	}

	for what, where := range findValues(t, db, personal) {
		t.Errorf("after PurgeUser, the user's %s is still in %s", what, strings.Join(where, ", "))
	}
	// The scan still sees what it should: the other user's data stays.
	if got := findValues(t, db, map[string][]byte{"bystander": []byte("Bob Bystander")}); len(got["bystander"]) == 0 {
		t.Errorf("after PurgeUser, the other user's name is gone")
	}

	// Nor is it in the bytes of any file of the database, free space
	// included, once ErasePurged has run: not in the WAL, which keeps the
	// pages as they were before the purge, and not after further writes,
	// which reuse the WAL.
	if err := s.ErasePurged(ctx); err != nil {
		t.Fatalf("ErasePurged: %v", err)
	}
	for i := range 50 {
		err := s.InTx(ctx, func(tx directory.Tx) error {
			x := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID, Email: fmt.Sprintf("later%d@example.com", i),
				Name: "Later User", Bio: strings.Repeat("b", 500), Status: directory.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
			return tx.CreateUser(ctx, x)
		})
		if err != nil {
			t.Fatalf("a write after the purge: %v", err)
		}
	}
	// The picture's overflow pages are on the freelist still, so the scan
	// below reads free pages too.
	var free int
	if err := db.QueryRow(`PRAGMA freelist_count`).Scan(&free); err != nil || free < 10 {
		t.Fatalf("freelist_count = %d, %v; want the purged picture's pages", free, err)
	}
	for _, file := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		for what, needle := range personal {
			if bytes.Contains(asciiLower(b), asciiLower(needle)) {
				t.Errorf("after PurgeUser, ErasePurged and more writes, the user's %s is still in the bytes of %s", what, filepath.Base(file))
			}
		}
	}
}

// firstDelivery returns the ID of the endpoint's newest delivery.
func firstDelivery(t *testing.T, s *sqlite.Store, tenantID, endpointID string) string {
	t.Helper()
	ds, err := s.ListDeliveries(t.Context(), tenantID, endpointID, "", 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("ListDeliveries: got %d deliveries, error %v; want 1", len(ds), err)
	}
	return ds[0].ID
}

// findValues scans every text and blob value of every row of every table of
// db for each of needles, ASCII letters compared case-insensitively (the
// store keeps a lower-cased email key), and returns where it finds each:
// "table.column" names.
func findValues(t *testing.T, db *sql.DB, needles map[string][]byte) map[string][]string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(tables) < 10 {
		t.Fatalf("found tables %q: want all of the schema's", tables)
	}

	found := map[string][]string{}
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + strings.ReplaceAll(table, `"`, `""`) + `"`)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			for i, v := range vals {
				var b []byte
				switch v := v.(type) {
				case string:
					b = []byte(v)
				case []byte:
					b = v
				default:
					continue
				}
				for what, needle := range needles {
					if bytes.Contains(asciiLower(b), asciiLower(needle)) {
						found[what] = append(found[what], table+"."+cols[i])
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		rows.Close()
	}
	return found
}

// asciiLower lower-cases the ASCII letters of b, leaving every other byte,
// valid UTF-8 or not, as it is.
func asciiLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// TestErasePurgedWaitsForReaders: the checkpoint that truncates the WAL
// cannot pass a reader still reading frames of it; ErasePurged then gives
// up after a short wait, with ErrUnavailable, writes go on, and the next
// call, once the reader is done, truncates the WAL. Without a purge since,
// ErasePurged leaves the WAL alone.
func TestErasePurgedWaitsForReaders(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "roster.db")
	s := openPath(t, path)
	now := directory.Now()
	tn := &directory.Tenant{ID: directory.NewID(directory.PrefixTenant, now), Name: "Acme",
		Plan: directory.DefaultPlan(), Settings: directory.DefaultSettings(), Roles: directory.DefaultRoles(), CreatedAt: now, UpdatedAt: now}
	newUser := func(email string) *directory.User {
		u := &directory.User{ID: directory.NewID(directory.PrefixUser, now), TenantID: tn.ID, Email: email,
			Status: directory.StatusActive, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateUser(ctx, u) }); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		return u
	}
	walSize := func() int64 {
		t.Helper()
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.CreateTenant(ctx, tn) }); err != nil {
		t.Fatal(err)
	}
	// Opening counts as pending (a crash may have left purged data).
	if err := s.ErasePurged(ctx); err != nil || walSize() != 0 {
		t.Fatalf("first ErasePurged: %v, WAL of %d bytes; want nil, 0", err, walSize())
	}

	// Ordinary writes leave the WAL as it is.
	newUser("a@example.com")
	if err := s.ErasePurged(ctx); err != nil || walSize() == 0 {
		t.Fatalf("ErasePurged without a purge: %v, WAL of %d bytes; want nil and the WAL untouched", err, walSize())
	}

	// A reader in a transaction holds frames of the WAL.
	gone := newUser("gone@example.com")
	if err := s.InTx(ctx, func(tx directory.Tx) error {
		return tx.PurgeUser(ctx, tn.ID, gone.ID, func(*directory.Event) []byte { return []byte(`{}`) })
	}); err != nil {
		t.Fatalf("PurgeUser: %v", err)
	}
	reader, err := rawDB(t, path).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	rtx, err := reader.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := rtx.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.ErasePurged(ctx)
	if !errors.Is(err, directory.ErrUnavailable) {
		t.Fatalf("ErasePurged under a reader: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ErasePurged under a reader took %v, want it to give up soon", d)
	}
	newUser("meanwhile@example.com") // writes go on
	if err := rtx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := s.ErasePurged(ctx); err != nil || walSize() != 0 {
		t.Fatalf("ErasePurged once the reader is done: %v, WAL of %d bytes; want nil, 0", err, walSize())
	}
}
