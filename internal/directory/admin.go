package directory

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/roster-dev/roster/internal/fields"
)

// Policies returns the tenant's Cedar policy text: its own, or the default
// set.
func (s *Service) Policies(t *Tenant) string {
	if t.Policies != "" || s.policies == nil {
		return t.Policies
	}
	return s.policies.DefaultPolicies()
}

// SetPolicies replaces the tenant's policies after checking them; "" restores
// the default set. Errors: validation_failed with the engine's messages.
func (s *Service) SetPolicies(ctx context.Context, t *Tenant, text string) (*Tenant, error) {
	if s.policies == nil {
		return nil, Errorf(ECodeUnavailable, "This server has no policy engine.")
	}
	// An empty text gives the tenant the default set again.
	if text != "" {
		if err := s.policies.Validate(text); err != nil {
			return nil, err
		}
	}
	return s.UpdateTenant(ctx, t.ID, func(t *Tenant) error {
		t.Policies = text
		return nil
	})
}

var roleName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.:-]{0,63}$`)

// SetRoles replaces the tenant's role catalog. Errors: validation_failed
// for a malformed catalog; role_in_use (409) when a removed role is still
// held by a user.
func (s *Service) SetRoles(ctx context.Context, t *Tenant, roles []string) (*Tenant, error) {
	if err := checkCatalog(roles); err != nil {
		return nil, err
	}
	// The roles removed are those of the catalog as stored (t may be a
	// cached copy, a second old).
	return s.UpdateTenant(ctx, t.ID, func(t *Tenant) error {
		var removed []string
		for _, r := range t.Roles {
			if !slices.Contains(roles, r) {
				removed = append(removed, r)
			}
		}
		if len(removed) > 0 {
			held, err := s.store.UsersHoldingRoles(ctx, t.ID, removed)
			if err != nil {
				return fmt.Errorf("roles in use: %w", err)
			}
			if len(held) > 0 {
				held = slices.DeleteFunc(slices.Clone(removed), func(r string) bool { return !slices.Contains(held, r) })
				return Errorf(ECodeRoleInUse, "Users still hold the roles %s: take the roles away from them first.", strings.Join(held, ", "))
			}
		}
		// A new key is the display name of its role: it must not be
		// another role's display name (a SCIM group's), case-insensitively.
		var fe fieldErrors
		for i, r := range roles {
			if other, ok := RoleNamed(t, r); ok && other != r && !slices.Contains(t.Roles, r) {
				fe.invalid = append(fe.invalid, FieldError{Field: fmt.Sprintf("roles[%d]", i), Code: ECodeRoleTaken,
					Message: fmt.Sprintf("is the display name of the role %s", other)})
			}
		}
		if err := fe.err(); err != nil {
			err.(*Error).Code = ECodeValidationFailed
			return err
		}
		t.Roles = roles
		names := map[string]string{}
		for r, n := range t.RoleNames {
			if slices.Contains(roles, r) {
				names[r] = n // a removed role's display name goes with it
			}
		}
		t.RoleNames = names
		return nil
	})
}

// checkCatalog refuses a malformed role catalog (validation_failed).
func checkCatalog(roles []string) error {
	var fe fieldErrors
	if len(roles) == 0 || len(roles) > 100 {
		fe.invalid = append(fe.invalid, FieldError{Field: "roles", Code: codeOutOfRange, Message: "must list 1 to 100 roles"})
	}
	for i, r := range roles {
		if !roleName.MatchString(r) {
			fe.invalid = append(fe.invalid, FieldError{Field: fmt.Sprintf("roles[%d]", i), Code: fields.CodeInvalidRole,
				Message: "must be 1 to 64 characters of a-z 0-9 _ . : - starting with a letter or digit"})
		} else if slices.Index(roles, r) != i {
			fe.invalid = append(fe.invalid, FieldError{Field: fmt.Sprintf("roles[%d]", i), Code: fields.CodeDuplicateRole, Message: "must not repeat a role"})
		}
	}
	if err := fe.err(); err != nil {
		err.(*Error).Code = ECodeValidationFailed
		return err
	}
	return nil
}

// EndpointInput describes a new webhook endpoint.
type EndpointInput struct {
	URL       string
	Kind      string
	Events    []EventType
	FailOpen  bool
	TimeoutMS int
}

// Caps on a tenant's webhook endpoints, per kind. Validation hooks run one
// after another inside a write: at 10 s each at most, a write never waits on
// them past the server's write timeout. Every events endpoint gets a
// delivery of each event, so their number multiplies the outbox's rows and
// the dispatcher's requests for every write of the tenant.
const (
	MaxValidationEndpoints = 2
	MaxEventsEndpoints     = 10
)

var maxEndpoints = map[string]int{EndpointValidation: MaxValidationEndpoints, EndpointEvents: MaxEventsEndpoints}

// EventTypes are the events an events endpoint can receive (§7).
var EventTypes = []EventType{
	EventUserCreated, EventUserUpdated, EventUserDeleted, EventUserRestored,
	EventUserDeactivated, EventUserReactivated, EventUserSuspended, EventUserUnsuspended,
}

// eventTypeList is EventTypes as an error message lists them.
var eventTypeList = func() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}()

// CreateEndpoint creates a webhook endpoint with a new secret, which the
// caller shows once. Errors: validation_failed; limit_exceeded when the
// tenant has MaxValidationEndpoints or MaxEventsEndpoints of the kind.
func (s *Service) CreateEndpoint(ctx context.Context, t *Tenant, in EndpointInput) (*Endpoint, error) {
	var fe fieldErrors
	if err := s.checkURL(ctx, in.URL); err != nil {
		fe.invalid = append(fe.invalid, FieldError{Field: "url", Code: fields.CodeInvalidURL, Message: err.Error()})
	}
	if in.Kind != EndpointValidation && in.Kind != EndpointEvents {
		fe.invalid = append(fe.invalid, FieldError{Field: "kind", Code: codeOutOfRange, Message: "must be validation or events"})
	}
	for i, ev := range in.Events {
		switch {
		case !slices.Contains(EventTypes, ev):
			fe.invalid = append(fe.invalid, FieldError{Field: fmt.Sprintf("events[%d]", i), Code: codeOutOfRange, Message: fmt.Sprintf("must be one of %s", eventTypeList)})
		case slices.Index(in.Events, ev) != i:
			fe.invalid = append(fe.invalid, FieldError{Field: fmt.Sprintf("events[%d]", i), Code: "duplicate_event", Message: "must not repeat an event type"})
		}
	}
	if in.TimeoutMS == 0 {
		in.TimeoutMS = 2000
	}
	if in.TimeoutMS < 100 || in.TimeoutMS > 10000 {
		fe.invalid = append(fe.invalid, FieldError{Field: "timeout_ms", Code: codeOutOfRange, Message: "must be from 100 to 10000"})
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	now := s.now()
	ep := &Endpoint{
		ID: NewID(PrefixEndpoint, now), TenantID: t.ID, URL: in.URL, Kind: in.Kind, Events: in.Events,
		FailOpen: in.FailOpen, TimeoutMS: in.TimeoutMS, Secret: newSigningSecret(), CreatedAt: now,
	}
	if ep.Events == nil {
		ep.Events = []EventType{}
	}
	err := s.store.InTx(ctx, func(tx Tx) error {
		if err := checkEndpointLimit(ctx, tx, t.ID, in.Kind); err != nil {
			return err
		}
		if err := tx.CreateEndpoint(ctx, ep); err != nil {
			return err
		}
		return tx.BumpConfigVersion(ctx, t.ID)
	})
	s.cache.forget(t.ID)
	if err != nil {
		return nil, fmt.Errorf("create endpoint: %w", err)
	}
	return ep, nil
}

// checkEndpointLimit refuses a new endpoint of kind when the tenant has its
// maxEndpoints already. It counts under the tenant's lock, in the
// transaction that creates the endpoint, so that concurrent creates are
// counted one after the other and cannot all pass.
func checkEndpointLimit(ctx context.Context, tx Tx, tenantID, kind string) error {
	if err := tx.LockTenant(ctx, tenantID); err != nil {
		return err
	}
	n, err := tx.CountEndpoints(ctx, tenantID, kind)
	if err != nil {
		return err
	}
	if max := maxEndpoints[kind]; n >= max {
		return Errorf(ECodeLimitExceeded, "A tenant may have at most %d %s endpoints; delete one first.", max, kind)
	}
	return nil
}

// GetEndpoint returns ErrNotFound unless the endpoint is the tenant's.
func (s *Service) GetEndpoint(ctx context.Context, t *Tenant, id string) (*Endpoint, error) {
	if !ValidID(PrefixEndpoint, id) {
		return nil, ErrNotFound
	}
	return s.store.GetEndpoint(ctx, t.ID, id)
}

// ListEndpoints lists the tenant's webhook endpoints, oldest first.
func (s *Service) ListEndpoints(ctx context.Context, t *Tenant) ([]*Endpoint, error) {
	return s.store.ListEndpoints(ctx, t.ID)
}

// DeleteEndpoint removes an endpoint and its pending deliveries.
func (s *Service) DeleteEndpoint(ctx context.Context, t *Tenant, id string) error {
	if !ValidID(PrefixEndpoint, id) {
		return ErrNotFound
	}
	err := s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.DeleteEndpoint(ctx, t.ID, id); err != nil {
			return err
		}
		return tx.BumpConfigVersion(ctx, t.ID)
	})
	s.cache.forget(t.ID)
	return err
}

// Deliveries lists an endpoint's deliveries newest first, with their
// attempts.
func (s *Service) Deliveries(ctx context.Context, t *Tenant, endpointID, before string, limit int) ([]*Delivery, map[string][]*Attempt, error) {
	if _, err := s.GetEndpoint(ctx, t, endpointID); err != nil {
		return nil, nil, err
	}
	ds, err := s.store.ListDeliveries(ctx, t.ID, endpointID, before, limit)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	attempts := map[string][]*Attempt{}
	if len(ids) > 0 {
		as, err := s.store.ListAttempts(ctx, t.ID, ids)
		if err != nil {
			return nil, nil, err
		}
		for _, a := range as {
			attempts[a.DeliveryID] = append(attempts[a.DeliveryID], a)
		}
	}
	return ds, attempts, nil
}
