package sqlite

import (
	"fmt"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// TestUpdateLeavesIndexesAlone checks that an update that changes no
// indexed column writes only the users' table pages: SQLite rewrites the
// entries of every index whose columns an UPDATE sets, equal or not, which
// tripled the WAL written per batch of updates (80 frames for 26 random
// users, against 26).
func TestUpdateLeavesIndexesAlone(t *testing.T) {
	ctx := t.Context()
	s, tn := groupStore(t)
	users := make([]*directory.User, 10000)
	err := s.InTx(ctx, func(tx directory.Tx) error {
		for i := range users {
			users[i] = groupUser(tn.ID, i)
			if err := tx.CreateUser(ctx, users[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Count frames from an empty WAL, with no checkpoint on the way.
	if _, err := s.write.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		t.Fatal(err)
	}
	defer s.write.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 1000`)
	walFrames := func(mode string) int {
		var busy, log, done int
		if err := s.write.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &log, &done); err != nil {
			t.Fatal(err)
		}
		return log
	}
	walFrames("TRUNCATE")

	const batches, perBatch = 40, 26
	for b := range batches {
		err := s.InTx(ctx, func(tx directory.Tx) error {
			for i := range perBatch {
				u := users[(b*7919+i*104729)%len(users)]
				next := *u
				next.Name, next.Version = fmt.Sprintf("N %d.%d", b, i), u.Version+1
				if err := tx.UpdateUser(ctx, &next, u.Version); err != nil {
					return err
				}
				*u = next
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	frames := walFrames("PASSIVE")
	if perBatchFrames := float64(frames) / batches; perBatchFrames > 40 {
		t.Errorf("%.1f WAL frames per batch of %d profile updates, want about one per user (%d): indexes were rewritten", perBatchFrames, perBatch, perBatch)
	}

	// An update that does change indexed columns still moves them.
	u := users[0]
	next := *u
	next.Email, next.Username, next.Version = "new@example.com", "renamed", u.Version+1
	if err := s.InTx(ctx, func(tx directory.Tx) error { return tx.UpdateUser(ctx, &next, u.Version) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListUsers(ctx, tn.ID, directory.UserFilter{EmailKey: directory.EmailKey("new@example.com")})
	if err != nil || len(got) != 1 || got[0].Username != "renamed" {
		t.Errorf("the user by its new email: %v %v", got, err)
	}
	if got, err := s.ListUsers(ctx, tn.ID, directory.UserFilter{Username: u.Username}); err != nil || len(got) != 0 {
		t.Errorf("the user by its old username: %v %v", got, err)
	}
}
