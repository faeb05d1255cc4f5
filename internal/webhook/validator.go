package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/roster-dev/roster/internal/directory"
)

// TypeValidate is the type of the payload sent to validation endpoints.
const TypeValidate = "user.validate"

// RetryAfter is the Retry-After of a validation_unavailable error: time for a
// receiver to come back from a blip, not from an outage.
const RetryAfter = 5 * time.Second

// Limits on what a validation endpoint's rejection passes on to the client.
const (
	maxRejectErrors  = 100
	maxRejectMessage = 1024 // runes, for the message and each error's message
	maxRejectField   = 256
	maxRejectCode    = 64
)

// errUnavailable is the client's answer when a validation endpoint that does
// not fail open cannot be asked. A new value each time: callers may keep it.
func errUnavailable() *directory.Error {
	return &directory.Error{
		Code:       directory.ECodeValidationUnavail,
		Message:    "The validation webhook could not be reached; retry later.",
		RetryAfter: RetryAfter,
	}
}

// EndpointLister returns all of a tenant's endpoints, oldest first
// (directory.Store's ListEndpoints).
type EndpointLister func(ctx context.Context, tenantID string) ([]*directory.Endpoint, error)

// Validator asks a tenant's validation endpoints whether a create or an
// update may commit. It implements directory.ValidationHook.
type Validator struct {
	endpoints EndpointLister
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
}

var _ directory.ValidationHook = (*Validator)(nil)

// NewValidator returns a Validator that lists a tenant's endpoints with
// endpoints and calls them with client (NewClient(false) if nil).
func NewValidator(endpoints EndpointLister, client *http.Client, log *slog.Logger) *Validator {
	if client == nil {
		client = NewClient(false)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Validator{endpoints: endpoints, client: client, log: log, now: time.Now}
}

// validatePayload is the body sent to a validation endpoint.
type validatePayload struct {
	ID        string       `json:"id"` // the webhook-id
	Type      string       `json:"type"`
	Timestamp string       `json:"timestamp"`
	Data      validateData `json:"data"`
}

type validateData struct {
	Action        directory.EventType `json:"action"` // the event the write would emit
	Before        map[string]any      `json:"before"` // null on create
	After         map[string]any      `json:"after"`
	ChangedFields []string            `json:"changed_fields"`
}

// validateReply is a validation endpoint's answer.
type validateReply struct {
	Allow   *bool  `json:"allow"`
	Message string `json:"message"`
	Errors  []struct {
		Field   string `json:"field"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// Validate calls, one after the other in creation order, each of the
// tenant's validation endpoints whose Events are empty or name the event
// the write would emit (user.created for CedarCreateUser, user.updated for
// CedarUpdateUser); other actions call no endpoint. It returns nil when every
// endpoint allows the write or, failing open, could not be asked; an
// *directory.Error validation_rejected with the endpoint's message and
// field errors (sanitized) at the first rejection; an *directory.Error
// validation_unavailable when an endpoint that does not fail open times
// out, cannot be reached, answers other than 2xx (a redirect included), or
// answers a body that is not JSON with a boolean "allow", or when ctx's
// deadline passes, whichever endpoint is being asked; ctx's error if ctx is
// canceled; and the lister's error, wrapped, if the endpoints cannot be
// listed. Each endpoint is given its own timeout or what is left of ctx's,
// whichever ends first.
//
// The documents and changed fields are sent as given, less any
// secure_metadata member or field name.
func (v *Validator) Validate(ctx context.Context, r directory.HookRequest) error {
	var event directory.EventType
	switch r.Action {
	case directory.CedarCreateUser:
		event = directory.EventUserCreated
	case directory.CedarUpdateUser:
		event = directory.EventUserUpdated
	default:
		return nil
	}
	if r.Tenant == nil {
		return errors.New("validation hook: no tenant")
	}
	all := r.Endpoints
	if all == nil {
		var err error
		if all, err = v.endpoints(ctx, r.Tenant.ID); err != nil {
			return fmt.Errorf("list validation endpoints: %w", err)
		}
	}
	var eps []*directory.Endpoint
	for _, e := range all {
		if e.Kind == directory.EndpointValidation && (len(e.Events) == 0 || slices.Contains(e.Events, event)) {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return nil
	}
	slices.SortStableFunc(eps, func(a, b *directory.Endpoint) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})

	now := v.now()
	msgID := directory.NewID("msg_", now)
	// Not even the name of secure_metadata is sent: a hook should not learn
	// that it changed.
	changed := slices.DeleteFunc(slices.Clone(r.ChangedFields), func(f string) bool { return f == "secure_metadata" })
	if changed == nil {
		changed = []string{}
	}
	body, err := json.Marshal(validatePayload{
		ID:        msgID,
		Type:      TypeValidate,
		Timestamp: directory.FormatTime(now),
		Data: validateData{
			Action:        event,
			Before:        withoutSecure(r.Before),
			After:         withoutSecure(r.After),
			ChangedFields: changed,
		},
	})
	if err != nil {
		return fmt.Errorf("encode validation payload: %w", err)
	}

	for _, e := range eps {
		timeout := EndpointTimeout(e)
		a := post(ctx, v.client, e, msgID, body, now, timeout, true)
		if err := ctx.Err(); err != nil {
			return v.gaveUp(r.Tenant, e, err)
		}
		reply, why := parseReply(a, timeout)
		if why != "" {
			log := v.log.With(slog.String("tenant", r.Tenant.ID), slog.String("endpointId", e.ID),
				slog.String("error", why), slog.Int64("durationMs", a.duration.Milliseconds()))
			if e.FailOpen {
				log.Warn("validation webhook unavailable; failing open")
				continue
			}
			log.Warn("validation webhook unavailable")
			return errUnavailable()
		}
		if !*reply.Allow {
			return rejection(reply)
		}
	}
	return nil
}

// gaveUp is Validate's answer when the request's context ended while
// endpoint e was asked. Every endpoint shares the request's one deadline,
// fail-open ones included: once it has passed, the write must not commit,
// so its caller is told the webhooks could not all be asked. A canceled
// request (its client went away) gets ctx's error.
func (v *Validator) gaveUp(t *directory.Tenant, e *directory.Endpoint, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	v.log.Warn("validation webhooks outlasted the request's deadline",
		slog.String("tenant", t.ID), slog.String("endpointId", e.ID))
	return errUnavailable()
}

// parseReply returns the endpoint's reply, or why there is none.
func parseReply(a answer, timeout time.Duration) (*validateReply, string) {
	if !a.ok() || a.tooLarge {
		return nil, a.describe(timeout)
	}
	var reply validateReply
	dec := json.NewDecoder(bytes.NewReader(a.body))
	if err := dec.Decode(&reply); err != nil {
		return nil, "answer is not the expected JSON object: " + truncate(err.Error(), 200)
	}
	if dec.More() {
		return nil, "answer has data after its JSON object"
	}
	if reply.Allow == nil {
		return nil, `answer has no boolean "allow"`
	}
	return &reply, ""
}

// rejection turns a rejecting reply into the client's error. What the
// endpoint wrote is shown to the API client, so it is bounded and stripped
// of control characters.
func rejection(reply *validateReply) *directory.Error {
	msg := clean(reply.Message, maxRejectMessage)
	if msg == "" {
		msg = "The validation webhook rejected the change."
	}
	e := &directory.Error{Code: directory.ECodeValidationRejected, Message: msg}
	for _, fe := range reply.Errors {
		f := directory.FieldError{
			Field:   clean(fe.Field, maxRejectField),
			Code:    clean(fe.Code, maxRejectCode),
			Message: clean(fe.Message, maxRejectMessage),
		}
		if f == (directory.FieldError{}) {
			continue
		}
		if f.Code == "" {
			f.Code = "rejected"
		}
		e.Fields = append(e.Fields, f)
		if len(e.Fields) == maxRejectErrors {
			break
		}
	}
	return e
}

// clean replaces control characters and bidi controls with spaces, trims
// s and cuts it to at most n runes.
func clean(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(truncate(strings.TrimSpace(s), n))
}

// withoutSecure returns doc without its secure_metadata member, copying it
// only if it has one.
func withoutSecure(doc map[string]any) map[string]any {
	if _, ok := doc["secure_metadata"]; !ok {
		return doc
	}
	out := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "secure_metadata" {
			out[k] = v
		}
	}
	return out
}
