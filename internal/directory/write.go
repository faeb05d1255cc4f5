package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// WriteOptions are the request-level options of a user write (§4).
type WriteOptions struct {
	Actor   Actor
	IfMatch *Precondition
	DryRun  bool
}

// Precondition is a parsed If-Match header.
type Precondition struct {
	Any      bool // If-Match: *
	Versions []int64
}

func (p *Precondition) matches(version int64) bool {
	return p.Any || slices.Contains(p.Versions, version)
}

// write is one change of a user, computed but not yet committed. Every user
// write, from a PATCH to a suspension, goes through commit, so each gets the
// same policy check, quota accounting, audit entry and event.
type write struct {
	t       *Tenant
	cur     *User // nil on create
	next    *User
	action  string // the audit action and event type
	cedar   string // the Cedar action
	changes map[string]Change
	data    map[string]any // the event's data
	// hook is set when validation webhooks are asked (creates and updates).
	hook bool
	// extra writes more rows in the same transaction (pictures, suspensions).
	extra func(ctx context.Context, tx Tx) error
}

// changedFields lists the names of the fields a write changes, sorted.
func (w *write) changedFields() []string {
	names := make([]string, 0, len(w.changes))
	for f := range w.changes {
		names = append(names, f)
	}
	slices.Sort(names)
	return names
}

// checkCurrent applies the checks every write of an existing user makes, in
// order: deletion in progress, then the precondition.
func checkCurrent(cur *User, opts WriteOptions) error {
	if cur.Status == StatusDeleting {
		return Errorf(ECodeUserDeleting, "The user is being deleted; restore it before changing it.")
	}
	if opts.IfMatch != nil && !opts.IfMatch.matches(cur.Version) {
		return Errorf(ECodePreconditionFailed, "The user has changed since you read it: its version is now %d.", cur.Version)
	}
	return nil
}

// requireIfMatch enforces the tenant's require_if_match setting.
func requireIfMatch(t *Tenant, opts WriteOptions) error {
	if t.Settings.RequireIfMatch && opts.IfMatch == nil {
		return Errorf(ECodePreconditionRequired, "This tenant requires If-Match on every write: send the ETag of the user you read.")
	}
	return nil
}

// authorize asks the policies (§6) and, for creates and updates, the
// validation webhooks (§7) whether w may happen; endpoints are the tenant's.
func (s *Service) authorize(ctx context.Context, w *write, opts WriteOptions, endpoints []*Endpoint) error {
	var acting *User
	if id := opts.Actor.ActingUserID; id != "" {
		u, err := s.GetUser(ctx, w.t.ID, id)
		if errors.Is(err, ErrNotFound) {
			return &Error{Code: ECodeInvalidRequest, Message: "X-Acting-User does not name a user of this tenant.",
				Fields: []FieldError{{Field: "X-Acting-User", Code: ECodeNotFound, Message: "is not a user of this tenant"}}}
		}
		if err != nil {
			return err
		}
		acting = u
	}
	resource := w.cur
	if resource == nil {
		resource = w.next
	}
	changed := w.changedFields()
	err := s.authz.Authorize(ctx, AuthzRequest{
		Tenant: w.t, Key: opts.Actor.Key, ActingUser: acting, Action: w.cedar,
		Resource: resource, ChangedFields: changed, RolesAfter: w.next.Roles,
	})
	if err != nil || !w.hook || !slices.ContainsFunc(endpoints, func(ep *Endpoint) bool { return ep.Kind == EndpointValidation }) {
		return err // no validation endpoint to ask: spare building its request
	}
	req := HookRequest{Tenant: w.t, Endpoints: endpoints, Action: w.cedar, After: PublicDoc(w.next)}
	if w.cur != nil {
		req.Before = PublicDoc(w.cur)
	}
	// The hook never learns anything of secure_metadata, not even that it
	// changed.
	req.ChangedFields = slices.DeleteFunc(changed, func(f string) bool { return f == "secure_metadata" })
	return s.hook.Validate(ctx, req)
}

// billingPeriod returns the calendar month (UTC) that contains now.
func billingPeriod(now time.Time) (start, end time.Time) {
	now = now.UTC()
	start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// isActive reports, as 1 or 0, whether u holds a seat of the active-user
// quota; a nil user (not yet created, or purged) holds none.
func isActive(u *User) int64 {
	if u != nil && u.Status == StatusActive {
		return 1
	}
	return 0
}

// activeDelta is how much a change of a user from cur to next moves the
// tenant's active-user counter: +1, -1 or, for most writes, 0. cur is nil
// for a create, next for a purge.
func activeDelta(cur, next *User) int64 { return isActive(next) - isActive(cur) }

// commit authorizes w and, unless this is a dry run, writes it with its
// audit entry and event in one transaction, counting it against the
// tenant's quotas and moving the tenant's active-user counter with it. It
// returns errConfigChanged when the tenant's configuration is no longer the
// one w was decided on (w.t may come from the cache): the caller decides
// the write again on the tenant as stored.
func (s *Service) commit(ctx context.Context, w *write, opts WriteOptions) error {
	endpoints, err := s.tenantEndpoints(ctx, w.t)
	if err != nil {
		return err
	}
	if err := s.authorize(ctx, w, opts, endpoints); err != nil {
		return err
	}
	if opts.DryRun {
		// Nothing is written, so no transaction checks the version: a read
		// does.
		stored, err := s.store.GetTenant(ctx, w.t.ID)
		if err != nil {
			return fmt.Errorf("get tenant: %w", err)
		}
		if stored.ConfigVersion != w.t.ConfigVersion {
			return errConfigChanged
		}
		return nil
	}
	now := w.next.UpdatedAt
	start, end := billingPeriod(now)
	delta := activeDelta(w.cur, w.next)
	rec := newRecord(w.next, w.action, w.changes, opts.Actor, now, w.data, endpoints)
	var counters Counters
	err = s.store.InTx(ctx, func(tx Tx) error {
		if delta > 0 { // the write makes a user active: the quota applies
			if err := tx.LockTenant(ctx, w.t.ID); err != nil {
				return err
			}
			n, err := tx.CountActiveUsers(ctx, w.t.ID)
			if err != nil {
				return err
			}
			if n >= w.t.Plan.MaxActiveUsers {
				return &Error{Code: ECodeQuotaExceeded, RetryAfter: time.Hour,
					Message: fmt.Sprintf("The plan allows %d active users; deactivate or delete one first.", w.t.Plan.MaxActiveUsers)}
			}
		}
		// The counter is kept rather than counted, as a count scans the
		// tenant's users. Most writes (a PATCH) do not move it, so they do
		// not touch the tenant's row, which on PostgreSQL would be a hot
		// lock. Those that move it do so before writing any user row: the
		// update locks the tenant's row, so every write that locks it locks
		// it first, and writes take their locks in one order (tenant, user,
		// usage), never in a cycle.
		if delta != 0 {
			if err := tx.AddActiveUsers(ctx, w.t.ID, delta); err != nil {
				return err
			}
		}
		if w.cur == nil {
			err = tx.CreateUser(ctx, w.next)
		} else {
			err = tx.UpdateUser(ctx, w.next, w.cur.Version)
		}
		if err != nil {
			return err
		}
		if w.extra != nil {
			if err := w.extra(ctx, tx); err != nil {
				return err
			}
		}
		if err := rec.write(ctx, tx); err != nil {
			return err
		}
		// Counted last: on PostgreSQL the tenant's counter row stays locked
		// until the commit, so every write of the tenant waits on it only
		// for the commit itself. Over the quota, the whole write rolls back,
		// its move of the active-user counter included.
		// A write decided on an older configuration (errConfigChanged) rolls
		// back and the caller decides it again.
		tx.CountWriteAtCommit(w.t.ID, start, WriteLimits{ConfigVersion: w.t.ConfigVersion, MaxWrites: w.t.Plan.WritesPerPeriod}, &counters)
		return nil
	})
	if errors.Is(err, ErrWriteQuota) {
		return &Error{Code: ECodeQuotaExceeded, RetryAfter: end.Sub(now),
			Message: fmt.Sprintf("The plan allows %d writes per billing period; the period resets at %s.", w.t.Plan.WritesPerPeriod, FormatTime(end))}
	}
	if err != nil {
		return err
	}
	reportUsage(ctx, w.t, &Usage{PeriodStart: start, PeriodEnd: end, Writes: counters.Writes, ActiveUsers: counters.ActiveUsers})
	if subscribed(endpoints, w.action) {
		s.onCommit() // a delivery was queued: let the dispatcher send it now
	}
	return nil
}

// subscribed reports whether an events endpoint takes events of type typ.
func subscribed(endpoints []*Endpoint, typ string) bool {
	return slices.ContainsFunc(endpoints, func(ep *Endpoint) bool { return ep.wants(typ) })
}

// record is the audit entry and the outbox event of a change, with one
// delivery per events endpoint subscribed to its type. It is made before
// the transaction, so the payload's JSON encoding is not done while the
// database's write lock is held (on SQLite, by the one writer of every
// transaction).
type record struct {
	audit      *AuditEntry
	event      *Event
	deliveries []*Delivery
}

func newRecord(u *User, action string, changes map[string]Change, actor Actor, now time.Time, data map[string]any, endpoints []*Endpoint) *record {
	evID := NewID(PrefixEvent, now)
	r := &record{
		audit: &AuditEntry{
			ID: NewID(PrefixAudit, now), TenantID: u.TenantID, UserID: u.ID, Action: action,
			Actor: actor, RequestID: actor.RequestID, At: now, Changes: changes,
		},
		event: &Event{
			ID: evID, TenantID: u.TenantID, UserID: u.ID, Type: action, CreatedAt: now,
			Payload: marshal(map[string]any{"id": evID, "type": action, "timestamp": FormatTime(now), "data": data}),
		},
	}
	for _, ep := range endpoints {
		if ep.wants(action) {
			r.deliveries = append(r.deliveries, &Delivery{
				ID: NewID(PrefixDelivery, now), TenantID: u.TenantID, EndpointID: ep.ID, EventID: evID, UserID: u.ID,
				Status: DeliveryPending, NextAttemptAt: now, CreatedAt: now,
			})
		}
	}
	return r
}

// write inserts the record's rows in tx.
func (r *record) write(ctx context.Context, tx Tx) error {
	if err := tx.InsertAudit(ctx, r.audit); err != nil {
		return err
	}
	return tx.InsertEvent(ctx, r.event, r.deliveries)
}

// writeError turns store errors into client errors where they are the
// client's to see.
func (s *Service) writeError(op string, err error) error {
	var uv *UniqueViolation
	if errors.As(err, &uv) {
		return takenError(uv)
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// usageReportKey is the context key of a UsageReport.
type usageReportKey struct{}

// UsageReport receives the tenant a write was decided on and the quota
// figures it left when it committed, so that its response can report them
// without reading them again.
type UsageReport struct {
	Tenant *Tenant
	Usage  *Usage // nil unless the write committed
}

// WithUsageReport returns a context in which a committed write fills r.
func WithUsageReport(ctx context.Context, r *UsageReport) context.Context {
	return context.WithValue(ctx, usageReportKey{}, r)
}

func reportUsage(ctx context.Context, t *Tenant, u *Usage) {
	if r, ok := ctx.Value(usageReportKey{}).(*UsageReport); ok {
		r.Tenant, r.Usage = t, u
	}
}

// Usage returns the tenant's quota figures for the current billing period.
func (s *Service) Usage(ctx context.Context, t *Tenant) (*Usage, error) {
	start, end := billingPeriod(s.now())
	u, err := s.store.Usage(ctx, t.ID, start)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	u.PeriodStart, u.PeriodEnd = start, end
	return u, nil
}
