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

// write is one change of a user, decided but not yet committed. Every user
// write, from a PATCH to a suspension, is decided by a decision and goes
// through writeUser, so each gets the same preconditions, policy check,
// quota accounting, audit entry and event.
type write struct {
	t       *Tenant
	cur     *User // nil on create
	next    *User
	event   EventType
	cedar   CedarAction
	changes map[string]Change
	data    map[string]any // the event's data
	// hook is set when validation webhooks are asked (creates and updates).
	hook bool
	// extra writes more rows in the same transaction (pictures, suspensions).
	extra func(ctx context.Context, tx Tx) error
	// then is a second change of the user, decided on next and made in the
	// same transaction, with its own policy check, webhook question, audit
	// entry, event and count against the writes quota: an update that also
	// deactivates the user (UpdateUserActive).
	then *write
}

// steps lists w and the changes made with it, in order.
func (w *write) steps() []*write {
	var out []*write
	for s := w; s != nil; s = s.then {
		out = append(out, s)
	}
	return out
}

// last is the last of w's steps, whose next is the user as w leaves it.
func (w *write) last() *write {
	for w.then != nil {
		w = w.then
	}
	return w
}

// records makes the audit entries and events of w's steps.
func (w *write) records(actor Actor, endpoints []*Endpoint) []*record {
	var recs []*record
	for _, st := range w.steps() {
		recs = append(recs, newRecord(st.next, st.event, st.changes, actor, st.next.UpdatedAt, st.data, endpoints))
	}
	return recs
}

// subscribedAny reports whether an events endpoint takes an event of one of w's steps.
func (w *write) subscribedAny(endpoints []*Endpoint) bool {
	return slices.ContainsFunc(w.steps(), func(st *write) bool { return subscribed(endpoints, st.event) })
}

// Written is the outcome of a user write.
type Written struct {
	// User is the user as the write left it (for a dry run, as it would).
	User *User
	// Changed is false for a write that changed nothing.
	Changed bool
	// Tenant is the configuration the write was decided on, whose plan's
	// limits applied.
	Tenant *Tenant
	// Usage holds the tenant's quota figures as the write's transaction
	// left them when it committed; nil when nothing committed (a no-op or
	// a dry run).
	Usage *Usage
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

// A decision decides a write from the user as it is (cur; nil for a
// create) on the tenant's configuration t, at time now; a nil write is a
// no-op. It only computes: writeUser may call it again, on a newer user or
// configuration, and inside the write's transaction.
type decision func(t *Tenant, cur *User, now time.Time) (*write, error)

// target names the user a write is about.
type target struct {
	id string // "" for a create
	// whileDeleting is set for a restore, the one write a user being
	// deleted accepts.
	whileDeleting bool
}

// writeUser is the one pipeline of every user write (§4). In order: the
// tenant's require_if_match, the user as it is, its deletion and the
// request's If-Match, the decision, the policies (§6) and the validation
// webhooks (§7), then the transaction, which also runs for a dry run and
// is then rolled back, so that a dry run answers what the write would.
//
// A write decided on a configuration that has changed since is decided
// again on the stored one (onStoredConfig). A write that loses a race with
// another write of the same user is, with If-Match, 412; without, decided
// again on the user as a second transaction finds it with its row locked,
// so that concurrent writes are serialized rather than refused. A write
// that validation webhooks must approve cannot wait on them with a row
// locked: it is decided again from the start, until the request's
// deadline.
//
// It returns the outcome of the write.
func (s *Service) writeUser(ctx context.Context, t *Tenant, tg target, opts WriteOptions, decide decision) (*Written, error) {
	p := &pipeline{s: s, tg: tg, opts: opts, decide: decide}
	var res *Written
	err := s.onStoredConfig(ctx, t, func(t *Tenant) error {
		var err error
		res, err = p.run(ctx, t)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// pipeline is one call of writeUser.
type pipeline struct {
	s      *Service
	tg     target
	opts   WriteOptions
	decide decision
	// acting is the user X-Acting-User names, read once.
	acting     *User
	actingRead bool
}

// errDecideAgain ends an attempt of a write that must be decided again from
// the start.
var errDecideAgain = errors.New("decide the write again")

// errDryRun rolls back the transaction of a dry run that passed every check.
var errDryRun = errors.New("dry run")

func (p *pipeline) run(ctx context.Context, t *Tenant) (*Written, error) {
	if p.tg.id != "" {
		if err := requireIfMatch(t, p.opts); err != nil {
			return nil, err
		}
	}
	for {
		var cur *User
		if p.tg.id != "" {
			var err error
			if cur, err = p.s.GetUser(ctx, t.ID, p.tg.id); err != nil {
				return nil, err
			}
		}
		w, err := p.decideOn(t, cur)
		if err != nil && cur != nil && isRefusal(err) {
			// cur may come from memory, a moment behind another node's
			// write: a refusal (If-Match, a deletion, a rule) is decided
			// on the user as stored.
			if stored, ok := p.s.storedUser(ctx, t.ID, p.tg.id); ok && stored.Version != cur.Version {
				cur = stored
				w, err = p.decideOn(t, cur)
			}
		}
		if err != nil {
			return nil, err
		}
		if w == nil {
			// A no-op asks no policy, but still refuses an X-Acting-User
			// that names nobody: that it is a no-op must not be learnt
			// from a made-up header.
			if err := p.readActing(ctx, t); err != nil {
				return nil, err
			}
			return &Written{User: cur, Tenant: t}, nil
		}
		endpoints, err := p.s.tenantEndpoints(ctx, t)
		if err != nil {
			return nil, err
		}
		if err := p.authorizeSteps(ctx, w); err != nil {
			return nil, err
		}
		hooked := false
		if slices.ContainsFunc(endpoints, func(ep *Endpoint) bool { return ep.Kind == EndpointValidation }) {
			for _, st := range w.steps() {
				if !st.hook {
					continue
				}
				hooked = true
				if err := p.s.hook.Validate(ctx, hookRequest(st, endpoints)); err != nil {
					return nil, err
				}
			}
		}
		res, err := p.commit(ctx, w, endpoints, hooked)
		if errors.Is(err, errDecideAgain) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, p.s.writeError(string(w.event), err)
		}
		return res, nil
	}
}

// decideOn applies the checks every write of an existing user makes, then
// decides the write on cur.
func (p *pipeline) decideOn(t *Tenant, cur *User) (*write, error) {
	now := p.s.now()
	if cur != nil {
		if err := checkCurrent(cur, p.opts, p.tg.whileDeleting); err != nil {
			return nil, err
		}
		now = p.s.after(cur)
	}
	w, err := p.decide(t, cur, now)
	if w != nil {
		w.t, w.cur = t, cur
		for st := w; st.then != nil; st = st.then {
			st.then.t, st.then.cur = t, st.next
		}
	}
	return w, err
}

// checkCurrent applies the checks every write of an existing user makes, in
// order: deletion in progress (unless the write is a restore), then the
// precondition.
func checkCurrent(cur *User, opts WriteOptions, whileDeleting bool) error {
	if cur.Status == StatusDeleting && !whileDeleting {
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

// readActing reads, once, the user X-Acting-User names.
func (p *pipeline) readActing(ctx context.Context, t *Tenant) error {
	id := p.opts.Actor.ActingUserID
	if id == "" || p.actingRead {
		return nil
	}
	u, err := p.s.GetUser(ctx, t.ID, id)
	if errors.Is(err, ErrNotFound) {
		return &Error{Code: ECodeInvalidRequest, Message: "X-Acting-User does not name a user of this tenant.",
			Fields: []FieldError{{Field: "X-Acting-User", Code: ECodeNotFound, Message: "is not a user of this tenant"}}}
	}
	if err != nil {
		return err
	}
	p.acting, p.actingRead = u, true
	return nil
}

// authorizeSteps asks the policies whether each of w's steps may happen.
func (p *pipeline) authorizeSteps(ctx context.Context, w *write) error {
	for _, st := range w.steps() {
		if err := p.authorize(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// authorize asks the policies (§6) whether w may happen.
func (p *pipeline) authorize(ctx context.Context, w *write) error {
	if err := p.readActing(ctx, w.t); err != nil {
		return err
	}
	resource := w.cur
	if resource == nil {
		resource = w.next
	}
	return p.s.authz.Authorize(ctx, AuthzRequest{
		Tenant: w.t, Key: p.opts.Actor.Key, ActingUser: p.acting, Action: w.cedar,
		Resource: resource, ChangedFields: w.changedFields(), RolesAfter: w.next.Roles,
	})
}

// hookRequest is what the validation webhooks are asked about w. They never
// learn anything of secure_metadata, not even that it changed.
func hookRequest(w *write, endpoints []*Endpoint) HookRequest {
	req := HookRequest{Tenant: w.t, Endpoints: endpoints, Action: w.cedar, After: PublicDoc(w.next)}
	if w.cur != nil {
		req.Before = PublicDoc(w.cur)
	}
	req.ChangedFields = slices.DeleteFunc(w.changedFields(), func(f string) bool { return f == "secure_metadata" })
	return req
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

// commit writes w with its audit entry and event in one transaction, and
// returns its outcome. Should w have lost a race with another write of the
// same user, commit decides it again in a second transaction that locks the
// user's row first, unless the request
// has If-Match (412) or w was approved by validation webhooks
// (errDecideAgain: they must be asked again). A dry run's transactions are
// rolled back once every check has passed.
func (p *pipeline) commit(ctx context.Context, w *write, endpoints []*Endpoint, hooked bool) (*Written, error) {
	recs := w.records(p.opts.Actor, endpoints)
	made := w
	c, err := p.s.store.InCountedTx(ctx, func(tx Tx) (*WriteCount, error) { return p.store(ctx, tx, w, recs) })
	if errors.Is(err, ErrVersionConflict) {
		switch {
		case p.opts.IfMatch != nil:
			return nil, Errorf(ECodePreconditionFailed, "The user changed while this request was being made.")
		case hooked:
			return nil, errDecideAgain
		}
		var cur *User
		if made, cur, c, err = p.commitLocked(ctx, w, endpoints); err == nil && made == nil {
			return &Written{User: cur, Tenant: w.t}, nil // decided again, no change was left to make
		}
	}
	switch {
	case errors.Is(err, errDryRun):
		return &Written{User: made.last().next, Changed: true, Tenant: made.t}, nil
	case errors.Is(err, ErrWriteQuota):
		_, end := billingPeriod(w.next.UpdatedAt)
		return nil, &Error{Code: ECodeQuotaExceeded, RetryAfter: end.Sub(w.next.UpdatedAt),
			Message: fmt.Sprintf("The plan allows %d writes per billing period; the period resets at %s.", w.t.Plan.WritesPerPeriod, FormatTime(end))}
	case err != nil:
		return nil, err
	}
	p.s.feed.notify()
	if made.subscribedAny(endpoints) {
		p.s.onCommit() // a delivery was queued: let the dispatcher send it now
	}
	start, end := billingPeriod(made.next.UpdatedAt)
	return &Written{User: made.last().next, Changed: true, Tenant: made.t,
		Usage: &Usage{PeriodStart: start, PeriodEnd: end, Writes: c.Writes, ActiveUsers: c.ActiveUsers}}, nil
}

// commitLocked decides first again on the user as a transaction finds it,
// with its row locked until the commit, and writes the result in that
// transaction. It returns the write made and the counters its commit read,
// or no write and the user as found when none was left to make.
func (p *pipeline) commitLocked(ctx context.Context, first *write, endpoints []*Endpoint) (made *write, cur *User, c Counters, err error) {
	c, err = p.s.store.InCountedTx(ctx, func(tx Tx) (*WriteCount, error) {
		made, cur = nil, nil // InCountedTx may run this again
		// Locks are taken in the order store takes them, the tenant's row
		// before the user's, when the write may move the active-user
		// counter.
		if activeDelta(first.cur, first.last().next) != 0 {
			if err := tx.LockTenant(ctx, first.t.ID); err != nil {
				return nil, err
			}
		}
		var err error
		if cur, err = tx.GetUser(ctx, first.t.ID, first.cur.ID); err != nil {
			return nil, err
		}
		p.s.present(cur)
		w, err := p.decideOn(first.t, cur)
		if err != nil || w == nil {
			return nil, err
		}
		if err := p.authorizeSteps(ctx, w); err != nil {
			return nil, err
		}
		made = w
		return p.store(ctx, tx, w, w.records(p.opts.Actor, endpoints))
	})
	if errors.Is(err, ErrVersionConflict) {
		// Tx.GetUser locked the row: a store that does so cannot get here.
		return nil, nil, c, Errorf(ECodeUnavailable, "The user is being changed by another request; retry.")
	}
	return made, cur, c, err
}

// store writes w and rec in tx, checking the active-user quota and moving
// the tenant's active-user counter with it, and returns the write for
// InCountedTx to count against the writes quota at the commit. For a dry
// run it counts the write as the commit would and checks the quota, then
// returns errDryRun, which rolls the transaction back. The transaction
// fails with errConfigChanged when the tenant's configuration is no longer
// the one w was decided on (w.t may come from the cache): writeUser decides
// the write again on the tenant as stored.
func (p *pipeline) store(ctx context.Context, tx Tx, w *write, recs []*record) (*WriteCount, error) {
	start, _ := billingPeriod(w.next.UpdatedAt)
	last := w.last()
	delta := activeDelta(w.cur, last.next)
	if delta > 0 { // the write makes a user active: the quota applies
		if err := tx.LockTenant(ctx, w.t.ID); err != nil {
			return nil, err
		}
		n, err := tx.CountActiveUsers(ctx, w.t.ID)
		if err != nil {
			return nil, err
		}
		if n >= w.t.Plan.MaxActiveUsers {
			return nil, &Error{Code: ECodeQuotaExceeded, RetryAfter: time.Hour,
				Message: fmt.Sprintf("The plan allows %d active users; deactivate or delete one first.", w.t.Plan.MaxActiveUsers)}
		}
	}
	// The counter is kept rather than counted, as a count scans the
	// tenant's users. Most writes (a PATCH) do not move it, so they do not
	// touch the tenant's row, which on PostgreSQL would be a hot lock.
	// Those that move it do so before writing any user row: the update
	// locks the tenant's row, so every write that locks it locks it first,
	// and writes take their locks in one order (tenant, user, usage), never
	// in a cycle.
	if delta != 0 {
		if err := tx.AddActiveUsers(ctx, w.t.ID, delta); err != nil {
			return nil, err
		}
	}
	// The user's row is written once, as the last step leaves it.
	var err error
	if w.cur == nil {
		err = tx.CreateUser(ctx, last.next)
	} else {
		err = tx.UpdateUser(ctx, last.next, w.cur.Version)
	}
	if err != nil {
		return nil, err
	}
	for i, st := range w.steps() {
		if err := updateSearch(ctx, tx, st); err != nil {
			return nil, err
		}
		if st.extra != nil {
			if err := st.extra(ctx, tx); err != nil {
				return nil, err
			}
		}
		if err := recs[i].write(ctx, tx); err != nil {
			return nil, err
		}
		if st.then != nil {
			// Each step is a write of the quota; the last is counted at
			// the commit (a dry run's below).
			if _, err := tx.AddWrite(ctx, w.t.ID, start); err != nil {
				return nil, err
			}
		}
	}
	lim := WriteLimits{ConfigVersion: w.t.ConfigVersion, MaxWrites: w.t.Plan.WritesPerPeriod}
	if p.opts.DryRun {
		got, err := tx.AddWrite(ctx, w.t.ID, start)
		switch {
		case err != nil:
			return nil, err
		case got.ConfigVersion != lim.ConfigVersion:
			return nil, errConfigChanged
		case got.Writes > lim.MaxWrites:
			return nil, ErrWriteQuota
		}
		return nil, errDryRun
	}
	// Counted last: on PostgreSQL the tenant's counter row stays locked
	// until the commit, so every write of the tenant waits on it only for
	// the commit itself. Over the quota, the whole write rolls back, its
	// move of the active-user counter included; decided on an older
	// configuration (errConfigChanged), it rolls back too.
	return &WriteCount{TenantID: w.t.ID, PeriodStart: start, Limits: lim}, nil
}

// subscribed reports whether an events endpoint takes events of type typ.
func subscribed(endpoints []*Endpoint, typ EventType) bool {
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

func newRecord(u *User, action EventType, changes map[string]Change, actor Actor, now time.Time, data map[string]any, endpoints []*Endpoint) *record {
	evID := NewID(PrefixEvent, now)
	r := &record{
		audit: &AuditEntry{
			ID: NewID(PrefixAudit, now), TenantID: u.TenantID, UserID: u.ID, Action: action,
			Actor: actor, RequestID: actor.RequestID, At: now, Changes: changes,
		},
		event: &Event{
			ID: evID, TenantID: u.TenantID, UserID: u.ID, Type: action, CreatedAt: now,
			Payload: marshal(eventPayload{Data: data, ID: evID, Timestamp: FormatTime(now), Type: action}),
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

// eventPayload is the JSON an event delivers, its members in the order of
// their names, as encoding/json writes a map's.
type eventPayload struct {
	Data      map[string]any `json:"data"`
	ID        string         `json:"id"`
	Timestamp string         `json:"timestamp"`
	Type      EventType      `json:"type"`
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
