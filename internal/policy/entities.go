package policy

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/roster-dev/roster/internal/directory"
)

// Entity types and the action type of the model (Schema).
const (
	typeKey    cedar.EntityType = "Key"
	typeUser   cedar.EntityType = "User"
	typeAction cedar.EntityType = "Action"
)

// actions are the action entities, one per directory.CedarAction.
var actions = func() map[directory.CedarAction]cedar.EntityUID {
	m := make(map[directory.CedarAction]cedar.EntityUID)
	for _, a := range []directory.CedarAction{
		directory.CedarCreateUser, directory.CedarUpdateUser, directory.CedarDeleteUser,
		directory.CedarRestoreUser, directory.CedarDeactivateUser, directory.CedarReactivateUser,
		directory.CedarSuspendUser, directory.CedarUnsuspendUser,
	} {
		m[a] = cedar.NewEntityUID(typeAction, cedar.String(string(a)))
	}
	return m
}()

// pair is the entity store of one request: its principal and its resource
// (one entity when an acting user acts on themselves). It spares a map per
// request.
type pair struct {
	principal, resource cedar.Entity
}

func (p *pair) Get(uid cedar.EntityUID) (cedar.Entity, bool) {
	switch uid {
	case p.resource.UID:
		return p.resource, true
	case p.principal.UID:
		return p.principal, true
	}
	return cedar.Entity{}, false
}

// keyEntity is the Key entity of k.
func keyEntity(k *directory.Key) cedar.Entity {
	return cedar.Entity{
		UID:        cedar.NewEntityUID(typeKey, cedar.String(k.ID)),
		Attributes: cedar.NewRecord(cedar.RecordMap{"scopes": stringSet(k.Scopes)}),
	}
}

// userEntity is the User entity of u at now.
func userEntity(u *directory.User, now time.Time) cedar.Entity {
	attrs := cedar.RecordMap{
		"roles":           stringSet(u.Roles),
		"is_owner":        cedar.Boolean(u.IsOwner),
		"status":          cedar.String(u.Status),
		"suspended":       cedar.Boolean(suspended(u, now)),
		"email_verified":  cedar.Boolean(u.EmailVerified),
		"metadata":        record(u.Metadata),
		"secure_metadata": record(u.SecureMetadata),
	}
	if u.Email != "" {
		attrs["email"] = cedar.String(u.Email)
	}
	if u.Username != "" {
		attrs["username"] = cedar.String(u.Username)
	}
	return cedar.Entity{
		UID:        cedar.NewEntityUID(typeUser, cedar.String(u.ID)),
		Attributes: cedar.NewRecord(attrs),
	}
}

// suspended is the attribute suspended of u at now: whether one of its
// suspensions is in force.
func suspended(u *directory.User, now time.Time) bool {
	return slices.ContainsFunc(u.Suspensions, func(s directory.Suspension) bool { return s.Active(now) })
}

func stringSet(ss []string) cedar.Set {
	vs := make([]cedar.Value, len(ss))
	for i, s := range ss {
		vs[i] = cedar.String(s)
	}
	return cedar.NewSet(vs...)
}

// record converts a JSON object to a Cedar record. Members whose value
// Cedar cannot hold (null, and types JSON does not produce) are left out, so
// a policy sees them as absent.
func record(m map[string]any) cedar.Record {
	if len(m) == 0 {
		return cedar.Record{} // spares NewRecord's copy and hash
	}
	rm := make(cedar.RecordMap, len(m))
	for k, v := range m {
		if cv, ok := value(v); ok {
			rm[cedar.String(k)] = cv
		}
	}
	return cedar.NewRecord(rm)
}

// value converts a decoded JSON value to a Cedar value: strings, booleans,
// numbers (see number), arrays as Sets (null elements dropped; Cedar sets
// are unordered and hold each value once), objects as records. ok is false
// for null and for anything else.
func value(v any) (cedar.Value, bool) {
	switch v := v.(type) {
	case string:
		return cedar.String(v), true
	case bool:
		return cedar.Boolean(v), true
	case json.Number:
		return number(string(v)), true
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
		return number(strconv.FormatFloat(v, 'g', -1, 64)), true
	case int:
		return cedar.Long(v), true
	case int64:
		return cedar.Long(v), true
	case []any:
		vs := make([]cedar.Value, 0, len(v))
		for _, e := range v {
			if cv, ok := value(e); ok {
				vs = append(vs, cv)
			}
		}
		return cedar.NewSet(vs...), true
	case []string:
		return stringSet(v), true
	case map[string]any:
		return record(v), true
	}
	return nil, false
}

// number converts a JSON number to a Long when it is integral and fits 64
// bits (so 2.0 and 1e3 are Longs), to a decimal when it has at most four
// decimals and fits Cedar's decimal range, and otherwise to the String of
// its JSON text, so no value is ever rounded.
func number(s string) cedar.Value {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return cedar.Long(n)
	}
	neg, digits, exp, ok := splitNumber(s)
	if !ok {
		return cedar.String(s)
	}
	if exp >= 0 {
		if n, ok := scale(neg, digits, exp); ok {
			return cedar.Long(n)
		}
		return cedar.String(s)
	}
	if exp >= -4 {
		if n, ok := scale(neg, digits, 0); ok {
			if d, err := cedar.NewDecimal(n, exp); err == nil {
				return d
			}
		}
	}
	return cedar.String(s)
}

// splitNumber reads a JSON number as neg, digits × 10^exp, with digits
// free of leading and trailing zeros ("" for zero).
func splitNumber(s string) (neg bool, digits string, exp int, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	var buf []byte
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		buf = append(buf, s[i])
		i++
	}
	if i == start {
		return false, "", 0, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fstart := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			buf = append(buf, s[i])
			exp--
			i++
		}
		if i == fstart {
			return false, "", 0, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		estart := i
		e := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if e < 1_000_000 { // far beyond any Long or decimal; stops overflow
				e = e*10 + int(s[i]-'0')
			}
			i++
		}
		if i == estart {
			return false, "", 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(s) {
		return false, "", 0, false
	}
	for len(buf) > 0 && buf[0] == '0' {
		buf = buf[1:]
	}
	for len(buf) > 0 && buf[len(buf)-1] == '0' {
		buf = buf[:len(buf)-1]
		exp++
	}
	if len(buf) == 0 {
		exp = 0
	}
	return neg, string(buf), exp, true
}

// scale returns ±digits × 10^exp when it fits an int64 (exp ≥ 0).
func scale(neg bool, digits string, exp int) (int64, bool) {
	if len(digits)+exp > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		n = n*10 + uint64(digits[i]-'0')
	}
	for ; exp > 0; exp-- {
		n *= 10
	}
	switch {
	case !neg && n <= math.MaxInt64:
		return int64(n), true
	case neg && n <= 1<<63:
		return int64(-n), true
	}
	return 0, false
}
