// Package fields validates and normalizes the values of a user profile, one
// field at a time, by the rules of docs/design.md §2.
//
// Each function takes a value as decoded from a request and returns its
// normalized form, the one to store, compare and return, together with a nil
// *Error, or a zero value and an *Error whose Code is one of the Code
// constants and whose Message can be shown to the API client after the field
// name. Functions check one value and know nothing of the request: "a user
// needs an email or a username", uniqueness, or "consented_at and
// consent_method are set together" are the caller's rules. Presence and null
// are the caller's too: a function is only called with a value to set.
//
// The functions are pure (Zoneinfo reads the time zone database, then
// remembers the names it found), safe for concurrent use, and allocate
// little on the common paths. Normalization is idempotent: a normalized value
// validates to itself, so an update that sends back the stored value changes
// nothing.
//
// Lengths are counted in Unicode code points ("characters") for texts, and
// in octets for values that are ASCII once normalized (email, URL). Limits
// apply to the normalized value, the one stored.
//
// Where §2 is silent, each function's comment states the rule chosen. In
// short: emails need a dotted domain name (no IP literals, no "localhost"),
// an ASCII local part, and keep its case (EmailKey folds it for uniqueness);
// names reject controls and bidi overrides but keep joiners; bios keep line
// breaks and tabs, turning CRLF into LF; URLs take no userinfo and no dotless
// host; countries are the 249 assigned ISO codes plus XK; locales must name a
// language ("und" is refused); zone names are case-sensitive and must load
// from the embedded database or the system's; birthdates accept only
// timestamps at exactly midnight UTC; consent times may be up to 5 minutes
// ahead and no earlier than 1970; metadata key rules apply to top-level keys.
package fields
