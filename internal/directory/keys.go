package directory

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// tokenPrefix marks Roster tokens so secret scanners can recognize them.
const tokenPrefix = "rst_"

// NewToken returns a new random API token (256 bits) and its hash. Only the
// hash is ever stored.
func NewToken() (token string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken returns the SHA-256 of a token. Tokens carry 256 random bits, so
// a fast unsalted hash is enough: there is nothing to brute-force.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ParseScopes turns a space- or comma-separated list of scopes or access
// levels into scopes. Access levels read_only and read_write (§6) expand to
// their scopes. It returns an error naming an unknown scope.
func ParseScopes(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(sc string) {
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		switch f {
		case ScopeUsersRead, ScopeUsersWrite, ScopeAdmin:
			add(f)
		case "read_only":
			add(ScopeUsersRead)
		case "read_write":
			add(ScopeUsersRead)
			add(ScopeUsersWrite)
		default:
			return nil, Errorf(ECodeInvalidRequest, "Unknown scope %q: use users:read, users:write, admin, read_only or read_write.", f)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(ECodeInvalidRequest, "A key needs at least one scope.")
	}
	return out, nil
}
