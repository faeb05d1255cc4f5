package policy

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/roster-dev/roster/internal/directory"
)

// Bounds of an Engine's cache of parsed policy sets: how many tenants' sets
// it keeps, and how many bytes of policy text they may hold together. The
// text stands for the memory of its parsed set, which is 4 times its size
// (policies like the default set) to 32 times (one long chain of
// additions): 8 MiB of text is at most about 256 MiB of parsed sets.
const (
	DefaultCacheSize  = 1024
	DefaultCacheBytes = 8 << 20
)

// Engine authorizes writes with each tenant's Cedar policies. It implements
// directory.Authorizer and is safe for concurrent use.
//
// An Engine parses a tenant's text once and keeps the result, keyed by the
// tenant and its text: a request that carries new text (after PUT
// /v1/policies) is judged by the new text at once. It keeps the sets of the
// most recently used tenants, at most DefaultCacheSize of them and
// DefaultCacheBytes of text in all; a text longer than that alone is parsed
// for each decision, never kept.
//
// The default set is decided natively, without Cedar (decideDefault), while
// DefaultPolicies is the text that code was written for;
// TestDefaultFastPathMatchesCedar proves both paths decide alike.
type Engine struct {
	defaults *policySet
	// forbids lets decideDefault decide the default set; when nil, Cedar
	// does.
	forbids []nativeForbid
	now     func() time.Time

	mu       sync.Mutex
	max      int                      // entries
	maxBytes int                      // bytes of text of all entries
	bytes    int                      // bytes of text of the entries held
	lru      *list.List               // of *cacheEntry, most recently used first
	tenants  map[string]*list.Element // by tenant ID
}

type cacheEntry struct {
	tenantID string
	text     string
	set      *policySet
	err      error
}

var (
	defaultsOnce  sync.Once
	defaultSet    *policySet
	defaultNative []nativeForbid // nil unless DefaultPolicies is the text they implement
)

// New returns an Engine with an empty cache.
func New() *Engine {
	defaultsOnce.Do(func() {
		s, err := compile(DefaultPolicies)
		if err != nil {
			panic(fmt.Sprintf("policy: the default policies do not parse: %v", err))
		}
		defaultSet = s
		defaultNative = nativeDefaults(DefaultPolicies, s)
	})
	return &Engine{
		defaults: defaultSet,
		forbids:  defaultNative,
		now:      time.Now,
		max:      DefaultCacheSize,
		maxBytes: DefaultCacheBytes,
		lru:      list.New(),
		tenants:  make(map[string]*list.Element),
	}
}

var _ directory.Authorizer = (*Engine)(nil)

// Authorize decides r with the policies of r.Tenant (DefaultPolicies when
// they are empty, or r.Tenant is nil). It returns nil when Cedar allows the write, and a
// *directory.Error forbidden when it denies it, whose notices are those of
// the determining policies: the @notice of each forbid policy that matched
// or failed to evaluate (its @id, or its position "policyN", when it has
// none), or "No policy permits this action." when nothing forbade but
// nothing permitted either.
//
// It returns a plain error (an internal failure) when r lacks its key or
// resource, names an unknown action, or when the tenant's stored policies
// no longer parse, which Validate prevents.
func (e *Engine) Authorize(_ context.Context, r directory.AuthzRequest) error {
	action, ok := actions[r.Action]
	if !ok {
		return fmt.Errorf("authorize: unknown action %q", r.Action)
	}
	if r.Key == nil || r.Resource == nil {
		return errors.New("authorize: the request has no key or no resource")
	}
	if e.forbids != nil && (r.Tenant == nil || r.Tenant.Policies == "") {
		return e.decideDefault(&r)
	}
	set, err := e.policies(r.Tenant)
	if err != nil {
		return err
	}
	return e.decide(set, &r, action)
}

// decide evaluates r with Cedar against set.
func (e *Engine) decide(set *policySet, r *directory.AuthzRequest, action cedar.EntityUID) error {
	now := e.now()
	ents := pair{resource: userEntity(r.Resource, now)}
	switch {
	case r.ActingUser == nil:
		ents.principal = keyEntity(r.Key)
	case r.ActingUser.ID == r.Resource.ID:
		ents.principal = ents.resource
	default:
		ents.principal = userEntity(r.ActingUser, now)
	}
	decision, diag := cedar.Authorize(set, &ents, cedar.Request{
		Principal: ents.principal.UID,
		Action:    action,
		Resource:  ents.resource.UID,
		Context:   requestContext(r),
	})
	if notices := set.notices(decision, diag); notices != nil {
		return forbidden(notices)
	}
	return nil
}

// forbidden is the error of a deny with its notices.
func forbidden(notices []string) error {
	return &directory.Error{
		Code:    directory.ECodeForbidden,
		Message: "The tenant's policies do not allow this action.",
		Notices: notices,
	}
}

// requestContext is the context record of r (Schema's WriteContext). When
// the write does not change roles and the caller gave no RolesAfter, the
// roles after the write are the resource's roles.
func requestContext(r *directory.AuthzRequest) cedar.Record {
	roles := r.RolesAfter
	if roles == nil && !slices.Contains(r.ChangedFields, "roles") {
		roles = r.Resource.Roles
	}
	return cedar.NewRecord(cedar.RecordMap{
		"changed_fields": stringSet(r.ChangedFields),
		"roles":          stringSet(roles),
		"acting":         cedar.Boolean(r.ActingUser != nil),
		"key_scopes":     stringSet(r.Key.Scopes),
	})
}

// policies returns the parsed policy set of t, from the cache when t's text
// is the one cached for t.
func (e *Engine) policies(t *directory.Tenant) (*policySet, error) {
	if t == nil || t.Policies == "" {
		return e.defaults, nil
	}
	e.mu.Lock()
	if el, ok := e.tenants[t.ID]; ok {
		ce := el.Value.(*cacheEntry)
		if ce.text == t.Policies {
			e.lru.MoveToFront(el)
			e.mu.Unlock()
			return ce.set, ce.err
		}
	}
	e.mu.Unlock()

	// Parse outside the lock: another request may parse the same text at
	// the same time, which costs time but is never wrong.
	set, err := compile(t.Policies)
	if err != nil {
		err = fmt.Errorf("authorize: the policies of tenant %s do not parse: %w", t.ID, err)
	}
	ce := &cacheEntry{tenantID: t.ID, text: t.Policies, set: set, err: err}

	e.mu.Lock()
	defer e.mu.Unlock()
	e.keep(ce)
	return set, err
}

// keep caches ce as its tenant's entry, the most recently used, and evicts
// the least recently used entries until the cache is within its bounds.
// e.mu must be held.
func (e *Engine) keep(ce *cacheEntry) {
	if el, ok := e.tenants[ce.tenantID]; ok {
		e.bytes -= len(el.Value.(*cacheEntry).text)
		e.lru.Remove(el)
		delete(e.tenants, ce.tenantID)
	}
	if len(ce.text) > e.maxBytes {
		return
	}
	e.tenants[ce.tenantID] = e.lru.PushFront(ce)
	e.bytes += len(ce.text)
	for e.lru.Len() > e.max || e.bytes > e.maxBytes {
		old := e.lru.Remove(e.lru.Back()).(*cacheEntry)
		delete(e.tenants, old.tenantID)
		e.bytes -= len(old.text)
	}
}

// policySet is a parsed policy text, in the order of the text so that
// notices come in that order.
type policySet struct {
	ids      []cedar.PolicyID
	policies []*cedar.Policy
	index    map[cedar.PolicyID]int
	// labels holds what a deny by each policy says: its @notice, else its
	// @id, else its ID.
	labels []string
}

// compile parses text into a policySet. The policies are named policy0,
// policy1, … in the order of the text, as cedar-go names them.
func compile(text string) (*policySet, error) {
	list, err := cedar.NewPolicyListFromBytes("", []byte(text))
	if err != nil {
		return nil, err
	}
	s := &policySet{
		ids:      make([]cedar.PolicyID, len(list)),
		policies: list,
		index:    make(map[cedar.PolicyID]int, len(list)),
		labels:   make([]string, len(list)),
	}
	for i, p := range list {
		id := cedar.PolicyID("policy" + strconv.Itoa(i))
		s.ids[i] = id
		s.index[id] = i
		a := p.Annotations()
		switch {
		case a[annotationNotice] != "":
			s.labels[i] = string(a[annotationNotice])
		case a[annotationID] != "":
			s.labels[i] = string(a[annotationID])
		default:
			s.labels[i] = string(id)
		}
	}
	return s, nil
}

// All lets cedar.Authorize evaluate the policies in text order.
func (s *policySet) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for i, p := range s.policies {
			if !yield(s.ids[i], p) {
				return
			}
		}
	}
}

// notices returns nil when the request is allowed, and otherwise the
// notices of the deny in text order, without repeats: one per determining
// policy, or noPermitNotice when no policy forbade but none permitted.
//
// The determining policies are the forbid policies that matched and, unlike
// in Cedar, which ignores a policy whose evaluation fails, the forbid
// policies whose evaluation failed: Validate cannot type the tenant's
// metadata, so a forbid that reads a metadata key holding an unexpected
// type fails closed.
func (s *policySet) notices(decision cedar.Decision, diag cedar.Diagnostic) []string {
	var determining []int
	if decision == cedar.Deny {
		for _, r := range diag.Reasons {
			determining = append(determining, s.index[r.PolicyID])
		}
	}
	for _, e := range diag.Errors {
		if i := s.index[e.PolicyID]; s.policies[i].Effect() == cedar.Forbid {
			determining = append(determining, i)
		}
	}
	if len(determining) == 0 {
		if decision == cedar.Allow {
			return nil
		}
		return []string{noPermitNotice}
	}
	slices.Sort(determining)
	var out []string
	for _, i := range determining {
		if l := s.labels[i]; !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}
