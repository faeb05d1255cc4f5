// Package migrations reads a store's embedded, numbered schema migrations.
// Each store applies them with its own SQL; only the reading is shared.
package migrations

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered schema change.
type Migration struct {
	Version int
	Name    string // the file name, NNNN_what.sql
	SQL     string
}

// Load returns the migrations in dir of fsys, in order of version. A file is
// named NNNN_what.sql; its number is its version. It refuses a file whose
// name has no positive number, and two files with one version.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names {
		base := strings.TrimPrefix(name, dir+"/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name does not start with a positive number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Apply calls apply with each migration of ms, in order, until one fails,
// and returns the versions of those it applied: apply reports whether it
// applied a migration or found it applied already.
func Apply(ms []Migration, apply func(Migration) (bool, error)) ([]int, error) {
	var applied []int
	for _, m := range ms {
		done, err := apply(m)
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}
