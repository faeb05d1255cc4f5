package sqlite_test

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// BenchmarkAddWrite measures the count every write makes last, inside one
// transaction so that the commit's fsync is not in it: as in a group-commit
// batch, the first call reads the tenant's counters and the others count in
// memory (see batch), so this is the cost per write of a large batch.
func BenchmarkAddWrite(b *testing.B) {
	s, tn, _ := benchStore(b)
	ctx := b.Context()
	period := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	err := s.InTx(ctx, func(tx directory.Tx) error {
		for b.Loop() {
			if _, err := tx.AddWrite(ctx, tn.ID, period); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
