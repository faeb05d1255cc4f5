package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/roster-dev/roster/internal/secretbox"
	"github.com/roster-dev/roster/internal/server"
)

// secretKeyFlags say where the key that seals webhook secrets comes from.
type secretKeyFlags struct {
	Key, File, Previous string
}

// secretKeys returns the keys that seal webhook secrets: the current one,
// then the previous ones. The current key is --secret-key, else the file
// --secret-key-file names; with neither, a SQLite database keeps its key in
// a file beside it (db + ".key"), made on first start; PostgreSQL, shared by
// nodes that must agree on the key, needs it given.
func secretKeys(f secretKeyFlags, db string, log *slog.Logger) ([][]byte, error) {
	var current []byte
	var err error
	switch {
	case f.Key != "":
		current, err = secretbox.ParseKey(f.Key)
	case f.File != "":
		current, err = readKeyFile(f.File)
	case server.IsPostgres(db):
		return nil, errors.New("PostgreSQL needs the key that seals webhook secrets, the same on every node: " +
			"set --secret-key or --secret-key-file (make one with: openssl rand -base64 32)")
	default:
		current, err = sqliteKey(strings.TrimPrefix(db, "sqlite:")+".key", log)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	keys := [][]byte{current}
	for i, s := range strings.Split(f.Previous, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		k, err := secretbox.ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("previous secret key %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return secretbox.ParseKey(string(b))
}

// sqliteKey reads the key file beside a SQLite database, or makes it,
// readable by its owner alone, when there is none.
func sqliteKey(path string, log *slog.Logger) ([]byte, error) {
	k, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it meanwhile
		return readKeyFile(path)
	}
	if err != nil {
		return nil, err
	}
	enc := secretbox.NewKey()
	_, err = f.WriteString(enc + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	log.Warn("generated the key that seals webhook secrets; back it up apart from the database, which cannot sign events without it",
		slog.String("path", path))
	return secretbox.ParseKey(enc)
}
