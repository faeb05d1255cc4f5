package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func secretOf(n int) string {
	key := make([]byte, n)
	for i := range key {
		key[i] = byte(i*7 + 1)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// newSecret returns a random secret of 32 bytes, as the directory makes
// them for endpoints.
func newSecret() string {
	key := make([]byte, 32)
	rand.Read(key)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// TestSignVerifiesWithReferenceLibrary checks our signatures with the
// Standard Webhooks Go library, which shares no code with ours.
func TestSignVerifiesWithReferenceLibrary(t *testing.T) {
	bodies := []string{
		``,
		`{"type":"user.created","timestamp":"2026-11-22T22:58:32.123Z","data":{"id":"usr_1"}}`,
		"{\"name\":\"Zoë \\u2028 \u00e9\u6f22\"}\n",
		strings.Repeat("x", 100_000),
	}
	for _, secret := range []string{newSecret(), secretOf(24), secretOf(64)} {
		for _, body := range bodies {
			ts := time.Now()
			h, err := Headers([]string{secret}, "evt_01JABCDEF", ts, []byte(body))
			if err != nil {
				t.Fatalf("Headers: %v", err)
			}
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil {
				t.Fatalf("NewWebhook: %v", err)
			}
			if err := wh.Verify([]byte(body), h); err != nil {
				t.Errorf("reference Verify of a %d-byte body: %v", len(body), err)
			}
			if err := wh.Verify([]byte(body+" "), h); err == nil {
				t.Errorf("reference Verify accepted a changed body")
			}
			// The signature is the library's own, byte for byte.
			want, _ := wh.Sign("evt_01JABCDEF", ts, []byte(body))
			if got := h.Get(HeaderSignature); got != want {
				t.Errorf("signature = %q, want %q", got, want)
			}
			if got, want := h.Get(HeaderTimestamp), strconv.FormatInt(ts.Unix(), 10); got != want {
				t.Errorf("%s = %q, want %q", HeaderTimestamp, got, want)
			}
			if got := h.Get(HeaderID); got != "evt_01JABCDEF" {
				t.Errorf("%s = %q", HeaderID, got)
			}
		}
	}
}

func TestSignWrongSecretFailsVerification(t *testing.T) {
	body := []byte(`{"a":1}`)
	h, err := Headers([]string{newSecret()}, "msg_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	wh, _ := standardwebhooks.NewWebhook(newSecret())
	if err := wh.Verify(body, h); err == nil {
		t.Fatal("reference Verify accepted a signature made with another secret")
	}
	secret := newSecret()
	wh, _ = standardwebhooks.NewWebhook(secret)
	old, _ := Headers([]string{secret}, "msg_1", time.Now().Add(-time.Hour), body)
	if err := wh.VerifyIgnoringTimestamp(body, old); err != nil {
		t.Fatalf("reference VerifyIgnoringTimestamp: %v", err)
	}
	if err := wh.Verify(body, old); err == nil {
		t.Fatal("reference Verify accepted an hour-old timestamp")
	}
}

// TestSignWithTwoSecrets: during a rotation both secrets sign, and the
// reference library verifies the message with either, but not with a third.
func TestSignWithTwoSecrets(t *testing.T) {
	body := []byte(`{"type":"user.updated"}`)
	old, fresh := newSecret(), newSecret()
	h, err := Headers([]string{fresh, old}, "msg_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get(HeaderSignature))); n != 2 {
		t.Fatalf("%s %q: %d signatures, want 2", HeaderSignature, h.Get(HeaderSignature), n)
	}
	for _, secret := range []string{old, fresh} {
		wh, _ := standardwebhooks.NewWebhook(secret)
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("reference Verify with one of the two secrets: %v", err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(newSecret())
	if err := wh.Verify(body, h); err == nil {
		t.Error("reference Verify accepted a third secret")
	}
	if _, err := Headers(nil, "msg_1", time.Now(), body); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("Headers with no secret: %v", err)
	}
}

func TestSignSecretLength(t *testing.T) {
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"24 bytes", secretOf(24), true},
		{"32 bytes", secretOf(32), true},
		{"64 bytes", secretOf(64), true},
		{"23 bytes", secretOf(23), false},
		{"65 bytes", secretOf(65), false},
		{"empty key", SecretPrefix, false},
		{"empty", "", false},
		{"no prefix", strings.TrimPrefix(secretOf(32), SecretPrefix), false},
		{"not base64", SecretPrefix + strings.Repeat("!", 44), false},
		{"unpadded", strings.TrimRight(secretOf(32), "="), false},
		{"URL alphabet", SecretPrefix + strings.Repeat("-_", 22), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Sign(tt.secret, "msg_1", time.Now(), []byte("{}"))
			if tt.ok && err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("Sign error = %v, want ErrInvalidSecret", err)
			}
			if _, herr := Headers([]string{tt.secret}, "msg_1", time.Now(), nil); (herr == nil) != tt.ok {
				t.Fatalf("Headers error = %v, want ok %v", herr, tt.ok)
			}
		})
	}
	if _, err := Sign(newSecret(), "", time.Now(), nil); err == nil {
		t.Error("Sign accepted an empty message ID")
	}
}
