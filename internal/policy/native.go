package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/roster-dev/roster/internal/directory"
)

// defaultSHA256 is the SHA-256 of the DefaultPolicies text that
// decideDefault and defaultForbids implement. When default.cedar changes,
// New leaves the default set to Cedar, which is right but slower, and
// TestNativeDefaultsAreCurrent fails: bring this file up to the new text,
// let TestDefaultFastPathMatchesCedar prove it, then update the hash.
// A hash rather than a test alone, so that no build can decide a text this
// code was not proven against.
const defaultSHA256 = "e825500d83edebd969417027eaa1af411d1597bb82f942fdd44145d1ab0b70c3"

// defaultInput is what the default policies read of a request.
type defaultInput struct {
	action   directory.CedarAction
	resource *directory.User
	changed  []string
	// user is the principal when it is a user, nil for a key. It is the
	// resource when a user acts on themselves, as in the Cedar path, where
	// both are one entity.
	user      *directory.User
	self      bool // principal == resource
	suspended bool // user has a suspension in force
}

func (in defaultInput) changes(field string) bool { return slices.Contains(in.changed, field) }

// defaultForbids are the forbid policies of default.cedar, by @id, in the
// order of the text.
var defaultForbids = []struct {
	id   string
	when func(defaultInput) bool
}{
	{"acting-user-must-be-active", func(in defaultInput) bool {
		return in.user != nil && (in.user.Status != directory.StatusActive || in.suspended)
	}},
	{"no-self-role-change", func(in defaultInput) bool {
		return in.self && in.changes("roles")
	}},
	{"no-self-email-verification", func(in defaultInput) bool {
		return in.self && in.changes("email_verified") && !in.resource.EmailVerified
	}},
	{"no-self-secure-metadata", func(in defaultInput) bool {
		return in.self && in.changes("secure_metadata")
	}},
	{"owner-cannot-be-removed", func(in defaultInput) bool { // any principal, keys too
		switch in.action {
		case directory.CedarDeleteUser, directory.CedarDeactivateUser, directory.CedarSuspendUser:
			return in.resource.IsOwner
		}
		return false
	}},
	{"only-owner-edits-owner", func(in defaultInput) bool {
		return in.user != nil && in.action == directory.CedarUpdateUser && in.resource.IsOwner && !in.self
	}},
}

// nativeForbid is a rule of defaultForbids with the label of its policy.
type nativeForbid struct {
	label string
	when  func(defaultInput) bool
}

// nativeDefaults returns the forbids of decideDefault for set, the parsed
// DefaultPolicies, or nil when text is not the one they were written for.
func nativeDefaults(text string, set *policySet) []nativeForbid {
	if sum := sha256.Sum256([]byte(text)); hex.EncodeToString(sum[:]) != defaultSHA256 {
		return nil
	}
	return labelForbids(set)
}

// labelForbids returns defaultForbids with the labels of their policies in
// set.
func labelForbids(set *policySet) []nativeForbid {
	out := make([]nativeForbid, len(defaultForbids))
	for i, f := range defaultForbids {
		j := slices.IndexFunc(set.policies, func(p *cedar.Policy) bool {
			return string(p.Annotations()[annotationID]) == f.id
		})
		if j < 0 {
			panic(fmt.Sprintf("policy: the default policies have no @id(%q)", f.id))
		}
		out[i] = nativeForbid{label: set.labels[j], when: f.when}
	}
	return out
}

// decideDefault decides r as Cedar decides it with the default set: a
// forbid that matches denies, with the labels of those that match in text
// order; otherwise a permit allows; otherwise nothing permits. No policy of
// the default set can fail to evaluate, since it reads only attributes
// every entity has.
func (e *Engine) decideDefault(r *directory.AuthzRequest) error {
	in := defaultInput{action: r.Action, resource: r.Resource, changed: r.ChangedFields}
	switch {
	case r.ActingUser == nil:
	case r.ActingUser.ID == r.Resource.ID:
		in.user, in.self = r.Resource, true
	default:
		in.user = r.ActingUser
	}
	if in.user != nil {
		in.suspended = suspended(in.user, e.now())
	}

	var notices []string
	for _, f := range e.forbids {
		if f.when(in) && !slices.Contains(notices, f.label) {
			notices = append(notices, f.label)
		}
	}
	if notices != nil {
		return forbidden(notices)
	}

	var permitted bool // the permits, each for every action unless it names one
	if in.user == nil {
		permitted = slices.ContainsFunc(r.Key.Scopes, func(s string) bool { // keys-write-users
			return s == directory.ScopeUsersWrite || s == directory.ScopeAdmin || s == directory.ScopePlatform
		})
	} else {
		permitted = in.self && in.action == directory.CedarUpdateUser || // acting-user-edits-self
			slices.Contains(in.user.Roles, "admin") // acting-admin-manages-users
	}
	if !permitted {
		return forbidden([]string{noPermitNotice})
	}
	return nil
}
