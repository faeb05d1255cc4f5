package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/fields"
	"github.com/roster-dev/roster/internal/patch"
)

// BodyKind says how a write request's body is to be read (§4).
type BodyKind int

const (
	// BodyJSON is application/json on PATCH: each member sets its field.
	BodyJSON BodyKind = iota
	// BodyMergePatch is application/merge-patch+json (RFC 7396).
	BodyMergePatch
	// BodyJSONPatch is application/json-patch+json (RFC 6902).
	BodyJSONPatch
	// BodyReplace is PUT: the whole writable representation.
	BodyReplace
	// BodyCreate is POST: a new user.
	BodyCreate
)

const redacted = "[redacted]"

// Codes of the rules that span fields or requests, beside those of package
// fields.
const (
	codeRequired   = "required"
	codeOutOfRange = "out_of_range"
)

// emptyBody stands for a request body with nothing in it, which differs from
// the JSON value null.
type emptyBody struct{}

// parseBody decodes a request body strictly. It returns emptyBody{} for an
// empty body.
func parseBody(body []byte) (any, error) {
	v, err := patch.Decode(body)
	if errors.Is(err, patch.ErrEmpty) {
		return emptyBody{}, nil
	}
	if err != nil {
		return nil, &Error{Code: ECodeInvalidRequest, Message: "The body is not valid JSON: " + err.Error() + "."}
	}
	return v, nil
}

// isNoopBody reports whether a PATCH body changes nothing by its very form:
// an empty body, {} or [] (§4).
func isNoopBody(v any) bool {
	switch v := v.(type) {
	case emptyBody:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// applyBody applies a parsed body of the given kind to the current user's
// full document and returns the resulting document.
func applyBody(kind BodyKind, base map[string]any, body any) (any, error) {
	switch kind {
	case BodyJSON:
		obj, ok := body.(map[string]any)
		if !ok {
			return nil, Errorf(ECodeInvalidRequest, "An application/json update must be a JSON object.")
		}
		doc := make(map[string]any, len(base)+len(obj))
		for k, v := range base {
			doc[k] = v
		}
		for k, v := range obj {
			doc[k] = v // objects and arrays are replaced whole; null clears
		}
		return doc, nil
	case BodyMergePatch:
		obj, ok := body.(map[string]any)
		if !ok {
			return nil, Errorf(ECodeInvalidRequest, "A merge patch of a user must be a JSON object.")
		}
		if v, ok := obj["secure_metadata"]; ok && v != nil {
			return nil, errSecureMerge
		}
		return patch.Merge(base, body), nil
	case BodyJSONPatch:
		ops, err := patch.ParseOps(body)
		if err != nil {
			return nil, &Error{Code: ECodeInvalidRequest, Message: "The JSON Patch is invalid: " + err.Error() + "."}
		}
		for _, op := range ops {
			if probesSecure(op) {
				return nil, &Error{Code: ECodeInvalidRequest,
					Message: "secure_metadata is write-only: a JSON Patch may add, replace or remove it whole, but no operation on its members or that reads it.",
					Fields:  []FieldError{{Field: "secure_metadata", Code: ECodeInvalidRequest, Message: "can only be added, replaced or removed whole"}}}
			}
		}
		doc, err := patch.Apply(base, ops)
		var conflict *patch.ConflictError
		if errors.As(err, &conflict) {
			return nil, &Error{Code: ECodePatchConflict, Message: "The JSON Patch does not apply: " + err.Error() + "."}
		}
		if err != nil {
			return nil, &Error{Code: ECodeInvalidRequest, Message: "The JSON Patch is invalid: " + err.Error() + "."}
		}
		return doc, nil
	case BodyReplace, BodyCreate:
		if _, ok := body.(map[string]any); !ok {
			return nil, Errorf(ECodeInvalidRequest, "The body must be a JSON object.")
		}
		return body, nil
	}
	return nil, fmt.Errorf("unknown body kind %d", kind)
}

// errSecureMerge refuses a merge patch into secure_metadata. The object is
// write-only, so it is always written whole: a merge's result, and so
// whether it passes the size limit, would depend on what the object holds,
// which would let a client measure it.
var errSecureMerge = &Error{Code: ECodeInvalidRequest,
	Message: "secure_metadata is write-only and always written whole: send it in an application/json PATCH or a PUT, or clear it with null in a merge patch.",
	Fields:  []FieldError{{Field: "secure_metadata", Code: ECodeInvalidRequest, Message: "cannot be merged into; only null clears it in a merge patch"}}}

// probesSecure reports whether a JSON Patch operation's outcome would
// depend on what secure_metadata holds, which would let a client learn a
// write-only value from the answer: reading it (test, copy and move from
// it), or writing one of its members (whether it exists, and the size of
// the result, depend on the others). Adding, replacing or removing the
// whole object succeed whatever it holds.
func probesSecure(op patch.Op) bool {
	const root = "/secure_metadata"
	under := func(p string) bool { return p == "" || p == root || strings.HasPrefix(p, root+"/") }
	switch op.Op {
	case "test":
		return under(op.Path)
	case "copy", "move":
		return under(op.From) || strings.HasPrefix(op.Path, root+"/")
	}
	return strings.HasPrefix(op.Path, root+"/")
}

// touchesSecure reports whether a request writes secure_metadata. Such a
// request always counts as a change of it: comparing the new value with the
// stored one and answering "no change" would confirm a guessed secret.
func touchesSecure(kind BodyKind, body any) bool {
	if kind == BodyJSONPatch {
		ops, _ := patch.ParseOps(body)
		return slices.ContainsFunc(ops, func(op patch.Op) bool {
			return op.Path == "" || op.Path == "/secure_metadata" || strings.HasPrefix(op.Path, "/secure_metadata/")
		})
	}
	obj, _ := body.(map[string]any)
	_, ok := obj["secure_metadata"]
	return ok
}

// explicitlyVerified reports whether the request itself sets email_verified
// to true, which keeps an email change verified (§2). An acting user's
// request never does: only a key acting as itself vouches for an address,
// so a user who changes their own email cannot mark it verified.
func explicitlyVerified(kind BodyKind, body any, opts WriteOptions) bool {
	if opts.Actor.ActingUserID != "" {
		return false
	}
	if kind == BodyJSONPatch {
		ops, err := patch.ParseOps(body)
		if err != nil {
			return false
		}
		v := false
		for _, op := range ops {
			if (op.Op == "add" || op.Op == "replace") && op.Path == "/email_verified" {
				v = op.Value == true
			}
		}
		return v
	}
	obj, _ := body.(map[string]any)
	return obj["email_verified"] == true
}

// fieldErrors collects the failing fields of one request.
type fieldErrors struct {
	malformed []FieldError // 400: unknown, read-only or wrongly typed members
	invalid   []FieldError // 422: values that break the rules
}

func (fe *fieldErrors) bad(field, code, msg string) {
	fe.malformed = append(fe.malformed, FieldError{Field: field, Code: code, Message: msg})
}

func (fe *fieldErrors) rule(field string, err *fields.Error) {
	if err != nil {
		fe.invalid = append(fe.invalid, FieldError{Field: field, Code: err.Code, Message: err.Message})
	}
}

// err returns the *Error for everything collected, or nil. Every failing
// field is listed; the code is that of the gravest kind of failure.
func (fe *fieldErrors) err() error {
	all := append(slices.Clone(fe.malformed), fe.invalid...)
	if len(all) == 0 {
		return nil
	}
	code := ECodeValidationFailed
	if len(fe.malformed) > 0 {
		code = ECodeInvalidRequest
		for _, want := range []string{ECodeReadOnlyField, ECodeUnknownField} {
			for _, f := range fe.malformed {
				if f.Code == want {
					code = want
				}
			}
		}
	} else if !slices.ContainsFunc(fe.invalid, func(f FieldError) bool { return f.Code != ECodeInvalidRole }) {
		code = ECodeInvalidRole
	}
	msg := "1 field is invalid."
	if len(all) > 1 {
		msg = fmt.Sprintf("%d fields are invalid.", len(all))
	}
	return &Error{Code: code, Message: msg, Fields: all}
}

// built is the next state of a user, with the new picture bytes to store
// when the request sent a data: URI.
type built struct {
	user    *User
	picture *Picture
	wire    Wire // names the picture's URL
}

// build turns a patched document into the next state of cur (a zero user on
// create), applying the rule of writable to each field whose value changed.
// base is cur's full document (nil on create). secureSent says whether the
// request wrote secure_metadata: it is set, and validated, only then, and
// never compared with the stored value, so that nothing of the answer, its
// time included, depends on what is stored.
func (s *Service) build(t *Tenant, cur *User, base map[string]any, docAny any, kind BodyKind, verified, secureSent bool, now time.Time) (*built, error) {
	doc, ok := docAny.(map[string]any)
	if !ok {
		return nil, Errorf(ECodeInvalidRequest, "The result of the patch must be a JSON object.")
	}
	next := *cur
	in := &setInput{built: built{user: &next, wire: s.wire}, t: t, now: now}
	fe := &in.fe
	names := make([]string, 0, len(doc))
	for k := range doc {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		writable, known := fieldKind[k]
		switch {
		case !known:
			fe.bad(k, ECodeUnknownField, "is not a member of a user")
		case !writable && (base == nil || !patch.Equal(doc[k], base[k])):
			fe.bad(k, ECodeReadOnlyField, "is read-only: send it only with its current value, or leave it out")
		}
	}
	if base != nil && kind != BodyReplace {
		// A patch that removed a read-only member tried to change it.
		for _, k := range readOnlyFields {
			if _, ok := doc[k]; !ok {
				fe.bad(k, ECodeReadOnlyField, "is read-only and cannot be removed")
			}
		}
	}

	for _, f := range writable {
		v := doc[f.name]
		switch {
		case f.name == "secure_metadata":
			if !secureSent {
				continue // write-only: a PUT of a GET body must not wipe it
			}
		case base != nil && patch.Equal(v, base[f.name]):
			continue // unchanged values are not validated again
		}
		in.field = f.name
		f.set(in, v)
	}

	failed := func(f string) bool {
		return slices.ContainsFunc(append(fe.malformed, fe.invalid...), func(e FieldError) bool { return e.Field == f })
	}
	if next.Email == "" && next.Username == "" && !failed("email") && !failed("username") {
		fe.invalid = append(fe.invalid, FieldError{Field: "email", Code: codeRequired, Message: "a user needs an email or a username"})
	}
	if (next.ConsentedAt == nil) != (next.ConsentMethod == "") {
		fe.invalid = append(fe.invalid, FieldError{Field: "consent_method", Code: fields.CodeInvalidConsent, Message: "consented_at and consent_method are set together"})
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	// A new address is unverified unless the request says otherwise; a
	// change of letter case only is the same mailbox and keeps its status.
	if EmailKey(next.Email) != EmailKey(cur.Email) && !verified {
		next.EmailVerified = false
	}
	return &in.built, nil
}

// diff lists the writable fields whose values differ between two full
// documents, but for secure_metadata, which is never compared: a request
// that writes it changes it (see touchesSecure).
func diff(before, after map[string]any) map[string]Change {
	changes := map[string]Change{}
	for _, f := range writableFields {
		if f == "secure_metadata" {
			continue
		}
		var from, to any
		if before != nil {
			from = before[f]
		}
		to = after[f]
		if patch.Equal(from, to) {
			continue
		}
		changes[f] = Change{From: from, To: to}
	}
	return changes
}

// marshal encodes v as JSON; generic documents always encode.
func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("directory: encode document: %v", err))
	}
	return b
}
