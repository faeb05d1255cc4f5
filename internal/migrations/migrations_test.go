package migrations

import (
	"errors"
	"slices"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README":     {Data: []byte("not a migration")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[0].SQL != "A" || ms[1].Name != "0002_b.sql" {
		t.Errorf("got %+v", ms)
	}
	for name, files := range map[string]fstest.MapFS{
		"no number": {"m/init.sql": {}},
		"zero":      {"m/0000_x.sql": {}},
		"duplicate": {"m/0001_a.sql": {}, "m/01_b.sql": {}},
	} {
		if _, err := Load(files, "m"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestApply(t *testing.T) {
	ms := []Migration{{Version: 1}, {Version: 2}, {Version: 3}, {Version: 4}}
	var called []int
	failAt := errors.New("migration 4 failed")
	got, err := Apply(ms, func(m Migration) (bool, error) {
		called = append(called, m.Version)
		switch m.Version {
		case 2:
			return false, nil // applied already
		case 4:
			return false, failAt
		}
		return true, nil
	})
	if !errors.Is(err, failAt) {
		t.Errorf("error %v, want %v", err, failAt)
	}
	if !slices.Equal(got, []int{1, 3}) || !slices.Equal(called, []int{1, 2, 3, 4}) {
		t.Errorf("applied %v after calls %v, want [1 3] after [1 2 3 4]", got, called)
	}
}
