package fields

import (
	"fmt"
	"slices"
	"testing"
)

func TestRoles(t *testing.T) {
	catalog := []string{"member", "admin", "viewer"}
	var big []string
	for i := range 40 {
		big = append(big, fmt.Sprintf("role%d", i))
	}
	tests := []struct {
		name           string
		roles, catalog []string
		missing        []string
		code           string
	}{
		{"nil", nil, catalog, nil, ""},
		{"empty", []string{}, catalog, nil, ""},
		{"one", []string{"member"}, catalog, nil, ""},
		{"all", []string{"viewer", "admin", "member"}, catalog, nil, ""},
		{"large catalog", []string{"role39", "role0"}, big, nil, ""},
		{"many roles", big, big, nil, ""},

		{"unknown", []string{"owner"}, catalog, []string{"owner"}, CodeInvalidRole},
		{"case differs", []string{"Member"}, catalog, []string{"Member"}, CodeInvalidRole},
		{"padded", []string{" admin"}, catalog, []string{" admin"}, CodeInvalidRole},
		{"empty name", []string{""}, catalog, []string{""}, CodeInvalidRole},
		{"unknown listed once, in order", []string{"owner", "member", "ghost", "owner"}, catalog, []string{"owner", "ghost"}, CodeInvalidRole},
		{"empty catalog", []string{"member"}, nil, []string{"member"}, CodeInvalidRole},
		{"unknown in large catalog", []string{"role1", "role99"}, big, []string{"role99"}, CodeInvalidRole},
		{"unknown among many", append(slices.Clone(big), "x", "x"), big, []string{"x"}, CodeInvalidRole},
		{"duplicate", []string{"member", "member"}, catalog, nil, CodeDuplicateRole},
		{"duplicate apart", []string{"admin", "member", "admin"}, catalog, nil, CodeDuplicateRole},
		{"duplicate among many", append(slices.Clone(big), "role3"), big, nil, CodeDuplicateRole},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			missing, err := Roles(tt.roles, tt.catalog)
			checkError(t, err, tt.code)
			if !slices.Equal(missing, tt.missing) {
				t.Errorf("got missing %q; want %q", missing, tt.missing)
			}
		})
	}
}
