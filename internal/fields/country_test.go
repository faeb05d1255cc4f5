package fields

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/language"
)

func TestCountry(t *testing.T) {
	tests := []struct {
		name, in, want, code string
	}{
		{"upper case", "FR", "FR", ""},
		{"lower case", "fr", "FR", ""},
		{"mixed case", "gB", "GB", ""},
		{"Antarctica", "AQ", "AQ", ""},
		{"Bouvet Island", "BV", "BV", ""},
		{"South Sudan (2011)", "SS", "SS", ""},
		{"Curaçao (2010)", "CW", "CW", ""},
		{"Åland", "AX", "AX", ""},
		{"Kosovo, user-assigned but accepted", "xk", "XK", ""},

		{"user-assigned ZZ", "ZZ", "", CodeInvalidCountry},
		{"user-assigned XX", "XX", "", CodeInvalidCountry},
		{"user-assigned AA", "AA", "", CodeInvalidCountry},
		{"user-assigned QM", "QM", "", CodeInvalidCountry},
		{"user-assigned QZ", "QZ", "", CodeInvalidCountry},
		{"user-assigned XA", "XA", "", CodeInvalidCountry},
		{"exceptionally reserved UK", "UK", "", CodeInvalidCountry},
		{"exceptionally reserved EU", "EU", "", CodeInvalidCountry},
		{"exceptionally reserved UN", "UN", "", CodeInvalidCountry},
		{"exceptionally reserved FX", "FX", "", CodeInvalidCountry},
		{"withdrawn SU", "SU", "", CodeInvalidCountry},
		{"withdrawn YU", "YU", "", CodeInvalidCountry},
		{"withdrawn AN", "AN", "", CodeInvalidCountry},
		{"withdrawn CS", "CS", "", CodeInvalidCountry},
		{"unassigned", "JJ", "", CodeInvalidCountry},
		{"alpha-3", "FRA", "", CodeInvalidCountry},
		{"numeric", "250", "", CodeInvalidCountry},
		{"one letter", "F", "", CodeInvalidCountry},
		{"empty", "", "", CodeInvalidCountry},
		{"padded", " FR", "", CodeInvalidCountry},
		{"digit", "F1", "", CodeInvalidCountry},
		{"non-ASCII", "É", "", CodeInvalidCountry},
		{"fullwidth", "ＦＲ", "", CodeInvalidCountry},
		{"region code", "419", "", CodeInvalidCountry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Country(tt.in)
			checkString(t, got, err, tt.want, tt.code)
		})
	}
}

func TestAssignedCountries(t *testing.T) {
	codes := strings.Fields(assignedCountries)
	if got, want := len(codes), 249; got != want {
		t.Errorf("got %d codes; want %d", got, want)
	}
	if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Errorf("codes are not sorted and distinct")
	}
	if got, want := strings.Join(codes, " "), assignedCountries; got != want {
		t.Errorf("list is not separated by single spaces")
	}
	n := 0
	for _, ok := range countryTable {
		if ok {
			n++
		}
	}
	if got, want := n, 250; got != want {
		t.Errorf("got %d accepted codes; want %d (249 and XK)", got, want)
	}
	// Every assigned code is a country to CLDR too: a cross-check of typos.
	for _, c := range codes {
		if r, err := language.ParseRegion(c); err != nil || !r.IsCountry() {
			t.Errorf("%s: not a country in x/text: %v", c, err)
		}
	}
}
