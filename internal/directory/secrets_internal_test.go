package directory

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestNewSigningSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := newSigningSecret()
		enc, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			t.Fatalf("newSigningSecret() = %q, want the whsec_ prefix", s)
		}
		key, err := base64.StdEncoding.Strict().DecodeString(enc)
		if err != nil {
			t.Fatalf("newSigningSecret() = %q: %v", s, err)
		}
		if got, want := len(key), 32; got != want {
			t.Fatalf("newSigningSecret() key is %d bytes, want %d", got, want)
		}
		if seen[s] {
			t.Fatalf("newSigningSecret() repeated %q", s)
		}
		seen[s] = true
	}
}
