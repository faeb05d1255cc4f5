package sqlite_test

import (
	"testing"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// BenchmarkAddWrite measures the statement every write runs last, inside
// one transaction so that the commit's fsync is not in it.
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
