package fields

import (
	"strings"
	"sync"
	"testing"
)

func TestZoneinfo(t *testing.T) {
	tests := []struct {
		name, in, code string
	}{
		{"Europe/Paris", "Europe/Paris", ""},
		{"three components", "America/Argentina/Buenos_Aires", ""},
		{"hyphens", "America/Port-au-Prince", ""},
		{"Etc with sign", "Etc/GMT+5", ""},
		{"UTC", "UTC", ""},
		{"Etc/UTC", "Etc/UTC", ""},
		{"link", "Asia/Calcutta", ""},
		{"legacy", "US/Pacific", ""},

		{"unknown", "Mars/Olympus", CodeInvalidZoneinfo},
		{"wrong case", "europe/paris", CodeInvalidZoneinfo},
		{"empty", "", CodeInvalidZoneinfo},
		{"Local", "Local", CodeInvalidZoneinfo},
		{"relative path", "../etc/passwd", CodeInvalidZoneinfo},
		{"dot-dot inside", "Europe/../Europe/Paris", CodeInvalidZoneinfo},
		{"dot component", "Europe/./Paris", CodeInvalidZoneinfo},
		{"absolute path", "/etc/localtime", CodeInvalidZoneinfo},
		{"absolute zoneinfo path", "/usr/share/zoneinfo/Europe/Paris", CodeInvalidZoneinfo},
		{"double slash", "Europe//Paris", CodeInvalidZoneinfo},
		{"trailing slash", "Europe/Paris/", CodeInvalidZoneinfo},
		{"backslash", "Europe\\Paris", CodeInvalidZoneinfo},
		{"space", "Europe/Paris ", CodeInvalidZoneinfo},
		{"NUL", "Europe/Paris\x00", CodeInvalidZoneinfo},
		{"localtime", "localtime", CodeInvalidZoneinfo},
		{"posixrules", "posixrules", CodeInvalidZoneinfo},
		{"Factory", "Factory", CodeInvalidZoneinfo},
		{"posix tree", "posix/Europe/Paris", CodeInvalidZoneinfo},
		{"right tree", "right/UTC", CodeInvalidZoneinfo},
		{"not a zone file", "zone.tab", CodeInvalidZoneinfo},
		{"offset", "+02:00", CodeInvalidZoneinfo},
		{"abbreviation", "CEST", CodeInvalidZoneinfo},
		{"long", strings.Repeat("Europe/", 10) + "Paris", CodeInvalidZoneinfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: the second call may be answered from the cache.
			for range 2 {
				want := tt.in
				if tt.code != "" {
					want = ""
				}
				got, err := Zoneinfo(tt.in)
				checkString(t, got, err, want, tt.code)
			}
		})
	}
}

func TestZoneinfoConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, name := range []string{"Asia/Tokyo", "Africa/Lagos", "Mars/Olympus"} {
				_, err := Zoneinfo(name)
				if (err == nil) != (name != "Mars/Olympus") {
					t.Errorf("%s: got error %v", name, err)
				}
			}
		})
	}
	wg.Wait()
}
