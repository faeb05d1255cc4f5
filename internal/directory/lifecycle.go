package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/fields"
	"github.com/roster-dev/roster/internal/patch"
)

// transition computes a lifecycle write from the current user, on next, a
// copy of it; it returns a nil write for a no-op.
type transition func(cur *User, next *User, now time.Time) (*write, error)

// lifecycle runs a lifecycle write (delete, restore, deactivate, reactivate,
// suspend, unsuspend) through the pipeline of every write. Only a restore
// (whileDeleting) applies to a user being deleted.
func (s *Service) lifecycle(ctx context.Context, t *Tenant, id string, opts WriteOptions, whileDeleting bool, fn transition) (*Written, error) {
	return s.writeUser(ctx, t, target{id: id, whileDeleting: whileDeleting}, opts, func(t *Tenant, cur *User, now time.Time) (*write, error) {
		return s.decideTransition(cur, now, fn)
	})
}

// decideTransition decides the lifecycle write fn makes of cur at now.
func (s *Service) decideTransition(cur *User, now time.Time, fn transition) (*write, error) {
	next := *cur
	next.Suspensions = slices.Clone(cur.Suspensions)
	w, err := fn(cur, &next, now)
	if err != nil || w == nil {
		return nil, err
	}
	w.next = &next
	next.Version, next.UpdatedAt = cur.Version+1, now
	if w.changes == nil {
		w.changes = docDiff(PublicDoc(cur), PublicDoc(&next))
	}
	if w.data == nil {
		w.data = map[string]any{}
	}
	w.data["user"] = s.userJSON(&next)
	return w, nil
}

func ownerProtected(u *User, what string) error {
	if u.IsOwner {
		return Errorf(ECodeOwnerProtected, "The tenant owner cannot be %s.", what)
	}
	return nil
}

// DeleteUser starts a user's deletion (§3): status deleting, purged after
// the tenant's grace period. Errors: not_found, user_deleting,
// owner_protected, precondition_failed, forbidden.
func (s *Service) DeleteUser(ctx context.Context, t *Tenant, id string, opts WriteOptions) (*Written, error) {
	return s.lifecycle(ctx, t, id, opts, false, func(cur, next *User, now time.Time) (*write, error) {
		if err := ownerProtected(cur, "deleted"); err != nil {
			return nil, err
		}
		after := now.Add(time.Duration(t.Settings.DeletionGraceSeconds) * time.Second)
		next.Status, next.PurgeAfter = StatusDeleting, &after
		return &write{event: EventUserDeleted, cedar: CedarDeleteUser, data: map[string]any{"purge_after": FormatTime(after)}}, nil
	})
}

// RestoreUser cancels a pending deletion; the user becomes active again and
// counts against the active-user quota. Restoring a user that is not being
// deleted changes nothing.
func (s *Service) RestoreUser(ctx context.Context, t *Tenant, id string, opts WriteOptions) (*Written, error) {
	return s.lifecycle(ctx, t, id, opts, true, func(cur, next *User, now time.Time) (*write, error) {
		if cur.Status != StatusDeleting {
			return nil, nil
		}
		next.Status, next.PurgeAfter = StatusActive, nil
		return &write{event: EventUserRestored, cedar: CedarRestoreUser}, nil
	})
}

// DeactivateUser deactivates a user. Errors: not_found, user_deleting,
// owner_protected, precondition_failed, forbidden.
func (s *Service) DeactivateUser(ctx context.Context, t *Tenant, id string, opts WriteOptions) (*Written, error) {
	return s.lifecycle(ctx, t, id, opts, false, deactivate)
}

func deactivate(cur, next *User, now time.Time) (*write, error) {
	if err := ownerProtected(cur, "deactivated"); err != nil {
		return nil, err
	}
	if cur.Status == StatusDeactivated {
		return nil, nil
	}
	next.Status = StatusDeactivated
	return &write{event: EventUserDeactivated, cedar: CedarDeactivateUser}, nil
}

// ReactivateUser reactivates a deactivated user, within the plan's
// active-user quota. Errors: not_found, user_deleting, quota_exceeded,
// precondition_failed, forbidden.
func (s *Service) ReactivateUser(ctx context.Context, t *Tenant, id string, opts WriteOptions) (*Written, error) {
	return s.lifecycle(ctx, t, id, opts, false, reactivate)
}

func reactivate(cur, next *User, now time.Time) (*write, error) {
	if cur.Status != StatusDeactivated {
		return nil, nil
	}
	next.Status = StatusActive
	return &write{event: EventUserReactivated, cedar: CedarReactivateUser}, nil
}

// SuspensionInput is the body of a new suspension.
type SuspensionInput struct {
	Reason string
	EndsAt string // RFC 3339, optional
}

// MaxActiveSuspensions caps the suspensions in force of one user. Each is
// part of the user in every read, event and webhook payload.
const MaxActiveSuspensions = 10

// SuspendUser adds a suspension. Errors: not_found, user_deleting,
// validation_failed, limit_exceeded (the user has MaxActiveSuspensions in
// force), precondition_failed, forbidden.
func (s *Service) SuspendUser(ctx context.Context, t *Tenant, id string, in SuspensionInput, opts WriteOptions) (*Written, *Suspension, error) {
	var sus *Suspension
	res, err := s.lifecycle(ctx, t, id, opts, false, func(cur, next *User, now time.Time) (*write, error) {
		var err error
		if sus, err = newSuspension(in, now); err != nil {
			return nil, err
		}
		// cur holds the suspensions in force only; a write that lost a race
		// is decided again on the user as its transaction finds it, so
		// concurrent suspensions cannot pass the cap together.
		if len(cur.Suspensions) >= MaxActiveSuspensions {
			return nil, Errorf(ECodeLimitExceeded, "A user may have at most %d suspensions in force; lift one first.", MaxActiveSuspensions)
		}
		next.Suspensions = append(next.Suspensions, *sus)
		return &write{event: EventUserSuspended, cedar: CedarSuspendUser,
			data:  map[string]any{"suspension": s.wire.Suspension(*sus)},
			extra: func(ctx context.Context, tx Tx) error { return tx.InsertSuspension(ctx, t.ID, cur.ID, sus) }}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return res, sus, nil
}

func newSuspension(in SuspensionInput, now time.Time) (*Suspension, error) {
	var fe fieldErrors
	reason := strings.TrimSpace(in.Reason)
	if r, err := fields.Bio(reason); err != nil {
		fe.rule("reason", err)
	} else if reason = r; reason == "" || utf8.RuneCountInString(reason) > 512 {
		fe.invalid = append(fe.invalid, FieldError{Field: "reason", Code: fields.CodeTooLong, Message: "must be 1 to 512 characters"})
	}
	sus := &Suspension{ID: NewID(PrefixSuspension, now), Reason: reason, CreatedAt: now}
	if in.EndsAt != "" {
		at, err := time.Parse(time.RFC3339Nano, in.EndsAt)
		switch {
		case err != nil:
			fe.invalid = append(fe.invalid, FieldError{Field: "ends_at", Code: fields.CodeInvalidTimestamp, Message: "must be an RFC 3339 timestamp"})
		case !at.After(now):
			fe.invalid = append(fe.invalid, FieldError{Field: "ends_at", Code: codeOutOfRange, Message: "must be in the future"})
		default:
			at = at.UTC().Truncate(time.Millisecond)
			sus.EndsAt = &at
		}
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	return sus, nil
}

// UnsuspendUser lifts an active suspension. Errors: not_found (also for a
// suspension that ended or was lifted), user_deleting, precondition_failed,
// forbidden.
func (s *Service) UnsuspendUser(ctx context.Context, t *Tenant, id, suspensionID string, opts WriteOptions) (*Written, error) {
	return s.lifecycle(ctx, t, id, opts, false, func(cur, next *User, now time.Time) (*write, error) {
		i := slices.IndexFunc(cur.Suspensions, func(s Suspension) bool { return s.ID == suspensionID })
		if i < 0 {
			return nil, ErrNotFound
		}
		lifted := cur.Suspensions[i]
		next.Suspensions = slices.Delete(next.Suspensions, i, i+1)
		return &write{event: EventUserUnsuspended, cedar: CedarUnsuspendUser,
			data:  map[string]any{"suspension": s.wire.Suspension(lifted)},
			extra: func(ctx context.Context, tx Tx) error { return tx.LiftSuspension(ctx, t.ID, cur.ID, suspensionID, now) }}, nil
	})
}

// PurgeDue erases the users whose deletion grace period is over (§8): their
// personal data, picture and secure metadata go; their audit entries keep
// their skeleton. Then it has the store erase what the purges deleted from
// its files (Store.ErasePurged). It returns how many users it purged.
func (s *Service) PurgeDue(ctx context.Context) (int, error) {
	now := s.now()
	refs, err := s.store.DuePurges(ctx, now, 100)
	if err != nil {
		return 0, fmt.Errorf("due purges: %w", err)
	}
	n := 0
	for _, ref := range refs {
		err := s.store.InTx(ctx, func(tx Tx) error {
			u, err := tx.GetUser(ctx, ref.TenantID, ref.ID)
			if err != nil {
				return err
			}
			if u.Status != StatusDeleting || u.PurgeAfter == nil || u.PurgeAfter.After(now) {
				return nil // restored meanwhile, or purged by another node
			}
			// A user being deleted holds no seat already, so this moves
			// nothing; it is here so that the counter follows every
			// removal, whatever the rule for what may be purged becomes.
			// Before the user's row, as in commit, for the order of locks.
			if delta := activeDelta(u, nil); delta != 0 {
				if err := tx.AddActiveUsers(ctx, ref.TenantID, delta); err != nil {
					return err
				}
			}
			if err := tx.PurgeUser(ctx, ref.TenantID, ref.ID, scrubbedEvent); err != nil {
				return err
			}
			n++
			if err := tx.InsertEvent(ctx, purgedEvent(ref, now), nil); err != nil {
				return err
			}
			return tx.InsertAudit(ctx, &AuditEntry{
				ID: NewID(PrefixAudit, now), TenantID: ref.TenantID, UserID: ref.ID, Action: EventUserPurged,
				At: now, Changes: map[string]Change{},
			})
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return n, fmt.Errorf("purge %s: %w", ref.ID, err)
		}
	}
	if n > 0 {
		s.feed.notify()
	}
	// Once per batch, not per user: on SQLite it is a checkpoint, which
	// holds up writes while it copies the WAL. A failure is retried at the
	// next run, by which time readers have moved on.
	if err := s.store.ErasePurged(ctx); err != nil {
		return n, fmt.Errorf("erase purged data: %w", err)
	}
	return n, nil
}

// scrubbedEvent is what remains of a purged user's event: its identity and
// type, no personal data. Deliveries still pending carry this instead.
func scrubbedEvent(e *Event) []byte {
	return marshal(map[string]any{
		"id": e.ID, "type": e.Type, "timestamp": FormatTime(e.CreatedAt),
		"data": map[string]any{"user": map[string]any{"object": "user", "id": e.UserID}, "purged": true},
	})
}

// RunPurger purges due users every interval until ctx ends.
func (s *Service) RunPurger(ctx context.Context, interval time.Duration, onError func(error)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if _, err := s.PurgeDue(ctx); err != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// docDiff lists every member of a user document that differs, read-only
// ones included, but for the bookkeeping of every write (version,
// updated_at).
func docDiff(before, after map[string]any) map[string]Change {
	changes := map[string]Change{}
	for k, to := range after {
		if k == "version" || k == "updated_at" {
			continue
		}
		if from := before[k]; !patch.Equal(from, to) {
			changes[k] = Change{From: from, To: to}
		}
	}
	return changes
}
