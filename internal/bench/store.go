package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/wire"
)

// SeedUsers writes n users into the tenant straight through the store, batch
// users per transaction, and returns their IDs. It bypasses the Service: no
// audit entry, event or quota count is written for them, which a load test
// of updates does not need and which makes a million users take seconds
// instead of the hours one HTTP request (one fsync) each would.
//
// The rows are those the Service writes for a created user: the user's row
// and its search terms (directory.SearchTerms), and the tenant's count of
// active users moves. A store that can bulk-load (the PostgreSQL store's
// CopyUsers, by COPY) does so; any other gets them one by one in each
// batch's transaction (SQLite: prepared statements, one commit a batch).
// TestSeededLikeWritten checks that a seeded user reads back and is
// searched like one created over HTTP.
func SeedUsers(ctx context.Context, store directory.Store, tenantID string, n, batch int) ([]string, error) {
	if batch <= 0 {
		batch = 5000
	}
	bulk, _ := store.(bulkLoader)
	ids := make([]string, n)
	seed := func(start int) error {
		end := min(start+batch, n)
		now := directory.Now()
		users := make([]*directory.User, 0, end-start)
		for i := start; i < end; i++ {
			users = append(users, seedUser(tenantID, i, now))
		}
		var err error
		if bulk != nil {
			err = bulk.CopyUsers(ctx, users)
		} else {
			err = store.InTx(ctx, func(tx directory.Tx) error {
				for _, u := range users {
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
					if err := tx.SetSearchTerms(ctx, tenantID, u.ID, nil, directory.SearchTerms(u)); err != nil {
						return err
					}
				}
				// The tenant's count of active users, which the Service
				// moves, is moved here too.
				return tx.AddActiveUsers(ctx, tenantID, int64(len(users)))
			})
		}
		if err != nil {
			return fmt.Errorf("seed users %d–%d: %w", start, end, err)
		}
		for i, u := range users {
			ids[start+i] = u.ID
		}
		return nil
	}
	// A bulk load takes batches on several connections at once, so that
	// the database's work on one batch (its rows and index entries)
	// overlaps this process's making of the next; SQLite has one writer.
	workers := 1
	if bulk != nil {
		workers = seedWorkers
	}
	next := make(chan int)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for start := range next {
				if errs[w] == nil {
					errs[w] = seed(start)
				}
			}
		})
	}
	for start := 0; start < n; start += batch {
		next <- start
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return ids, nil
}

// seedWorkers is how many batches a bulk load has in flight.
var seedWorkers = 4

// bulkLoader is a store that inserts created users and their search terms
// in bulk: postgres.Store.
type bulkLoader interface {
	CopyUsers(ctx context.Context, users []*directory.User) error
}

// seedUser is the seeded user i of the tenant, as the Service would store
// it had it been created at now with the body SeedBody(i).
func seedUser(tenantID string, i int, now time.Time) *directory.User {
	return &directory.User{
		ID: directory.NewID(directory.PrefixUser, now), TenantID: tenantID,
		Email: SeedEmail(i), Name: fmt.Sprintf("Bench User %d", i),
		Country: "FR", Roles: []string{"member"}, Metadata: map[string]any{"seq": json.Number(fmt.Sprint(i))},
		Status: directory.StatusActive, AuthProvider: "local", Suspensions: []directory.Suspension{},
		CreatedAt: now, UpdatedAt: now, Version: 1,
	}
}

// SeedEmail is the email of the seeded user i.
func SeedEmail(i int) string { return fmt.Sprintf("user%07d@bench.example", i) }

// SeedBody is the body of a POST /v1/users that creates what SeedUsers
// stores as its user i, but for the email, which is email.
func SeedBody(i int, email string) string {
	return fmt.Sprintf(`{"email": %q, "name": "Bench User %d", "country": "FR", "roles": ["member"], "metadata": {"seq": %d}}`, email, i, i)
}

// RawUpdates measures the storage layer's own update transaction, without
// HTTP and without the Service's checks: conc goroutines, for d, each
// commit what an effective PATCH of one field commits — the user row
// (version-guarded), one audit entry and one outbox event, in one
// transaction through Store.InTx. The Service's quota counter (AddWrite) is
// left out: the measure is of the three rows every update writes.
//
// Each goroutine updates its own share of users (index mod conc), so no two
// transactions race for one user and the version guard never fails; the
// users are read before the clock starts. It returns every transaction's
// duration beside the result.
func RawUpdates(ctx context.Context, store directory.Store, tenantID string, ids []string, conc int, d time.Duration) (Result, Latencies, error) {
	shares := make([][]*directory.User, conc)
	for i, id := range ids {
		u, err := store.GetUser(ctx, tenantID, id)
		if err != nil {
			return Result{}, nil, fmt.Errorf("raw: read user %s: %w", id, err)
		}
		shares[i%conc] = append(shares[i%conc], u)
	}
	r, all := closedLoop(ctx, "raw", conc, d, func(w int) (func() error, func(), error) {
		mine := shares[w]
		if len(mine) == 0 {
			return nil, nil, nil
		}
		k := 0
		next := func() error {
			u := mine[k%len(mine)]
			updated, err := rawUpdate(ctx, store, u, fmt.Sprintf("Raw %d.%d", w, k))
			if err == nil {
				mine[k%len(mine)] = updated
			}
			k++
			return err
		}
		return next, func() {}, nil
	})
	return r, all, ctx.Err()
}

// rawUpdate commits one change of u's name as the Service would: the new
// row, an audit entry and a user.updated event with the same payload shape.
func rawUpdate(ctx context.Context, store directory.Store, u *directory.User, name string) (*directory.User, error) {
	next := *u
	next.Name = name
	next.Version = u.Version + 1
	now := directory.Now()
	if floor := u.UpdatedAt.Add(time.Millisecond); now.Before(floor) {
		now = floor
	}
	next.UpdatedAt = now
	changes := map[string]directory.Change{"name": {From: u.Name, To: name}}
	evID := directory.NewID(directory.PrefixEvent, now)
	payload, err := json.Marshal(map[string]any{
		"id": evID, "type": directory.EventUserUpdated, "timestamp": directory.FormatTime(now),
		"data": map[string]any{"user": json.RawMessage(wire.MarshalPublic(&next)), "changed_fields": []string{"name"}, "previous": map[string]any{"name": u.Name}},
	})
	if err != nil {
		return nil, err
	}
	actor := directory.Actor{KeyID: "key_raw", RequestID: directory.NewULID(now).String()}
	err = store.InTx(ctx, func(tx directory.Tx) error {
		if err := tx.UpdateUser(ctx, &next, u.Version); err != nil {
			return err
		}
		err := tx.InsertAudit(ctx, &directory.AuditEntry{
			ID: directory.NewID(directory.PrefixAudit, now), TenantID: u.TenantID, UserID: u.ID,
			Action: directory.EventUserUpdated, Actor: actor, RequestID: actor.RequestID, At: now, Changes: changes,
		})
		if err != nil {
			return err
		}
		return tx.InsertEvent(ctx, &directory.Event{
			ID: evID, TenantID: u.TenantID, UserID: u.ID, Type: directory.EventUserUpdated, Payload: payload, CreatedAt: now,
		}, nil)
	})
	if err != nil {
		return nil, err
	}
	return &next, nil
}
