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

// TestIDsOfOneMillisecondRiseStrictly: many IDs made for one millisecond are
// well-formed, distinct and rising.
func TestIDsOfOneMillisecondRiseStrictly(t *testing.T) {
	then := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	prev := NewID(PrefixEvent, then)
	for range 10000 {
		id := NewID(PrefixEvent, then)
		if id <= prev {
			t.Fatalf("%s made after %s", id, prev)
		}
		if !ValidID(PrefixEvent, id) {
			t.Fatalf("invalid ID %q", id)
		}
		prev = id
	}
}

// TestIDsOfMillisecondsStartAtRandom: the first IDs of different
// milliseconds share no random part, so one ID tells nothing of the next
// millisecond's.
func TestIDsOfMillisecondsStartAtRandom(t *testing.T) {
	then := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	seen := make(map[[10]byte]bool)
	for i := range 1000 {
		id := NewULID(then.Add(time.Duration(i) * time.Millisecond))
		e := [10]byte(id.Entropy())
		if seen[e] {
			t.Fatalf("random part %x seen twice", e)
		}
		seen[e] = true
	}
}

// BenchmarkNewID makes the IDs of a write as a request does: three for a
// millisecond no ID was made for yet.
func BenchmarkNewID(b *testing.B) {
	t := time.Now()
	for b.Loop() {
		t = t.Add(time.Millisecond)
		NewID(PrefixAudit, t)
		NewID(PrefixEvent, t)
		NewID(PrefixUser, t)
	}
}
