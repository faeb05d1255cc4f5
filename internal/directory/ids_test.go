package directory

import (
	"slices"
	"testing"
	"time"
)

// TestIDsSortInTheOrderMadePerMillisecond: IDs for one millisecond sort in
// the order they were made, though IDs for another millisecond are made
// between them.
func TestIDsSortInTheOrderMadePerMillisecond(t *testing.T) {
	then := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	other := then.Add(-time.Hour)
	for range 100 {
		var ids []string
		for range 8 {
			ids = append(ids, NewID(PrefixAudit, then))
			NewID(PrefixAudit, other)
			NewID(PrefixAudit, time.Now())
		}
		if !slices.IsSorted(ids) {
			t.Fatalf("IDs made in order do not sort in order: %v", ids)
		}
	}
}
