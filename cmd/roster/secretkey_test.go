package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-dev/roster/internal/secretbox"
)

func TestSecretKeys(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	dir := t.TempDir()
	db := filepath.Join(dir, "roster.db")

	// A SQLite database gets a key file of its own, made once, owner-only.
	first, err := secretKeys(secretKeyFlags{}, db, log)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db + ".key")
	if err != nil {
		t.Fatalf("no key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "generated the key") {
		t.Errorf("the log does not say a key was made: %s", logs.String())
	}
	again, err := secretKeys(secretKeyFlags{}, "sqlite:"+db, log)
	if err != nil || len(again) != 1 || !bytes.Equal(again[0], first[0]) {
		t.Fatalf("a second start got another key: %v", err)
	}

	// Given keys win, previous ones follow.
	k, old := secretbox.NewKey(), secretbox.NewKey()
	keys, err := secretKeys(secretKeyFlags{Key: k, Previous: old + ","}, db, log)
	if err != nil || len(keys) != 2 {
		t.Fatalf("secretKeys = %d keys, %v", len(keys), err)
	}
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(k+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := secretKeys(secretKeyFlags{File: file}, "postgres://localhost/x", log)
	if err != nil || !bytes.Equal(fromFile[0], keys[0]) {
		t.Fatalf("--secret-key-file: %v", err)
	}

	// PostgreSQL, shared by nodes, needs the key given; bad keys are refused.
	for _, tc := range []struct {
		f    secretKeyFlags
		db   string
		want string
	}{
		{secretKeyFlags{}, "postgres://localhost/x", "PostgreSQL needs"},
		{secretKeyFlags{Key: "c2hvcnQ="}, db, "32 bytes"},
		{secretKeyFlags{File: filepath.Join(dir, "missing")}, db, "no such file"},
		{secretKeyFlags{Key: k, Previous: "nope"}, db, "previous secret key 1"},
	} {
		if _, err := secretKeys(tc.f, tc.db, log); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("secretKeys(%+v, %s) = %v, want an error with %q", tc.f, tc.db, err, tc.want)
		}
	}
}
