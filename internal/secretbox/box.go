// Package secretbox keeps the secrets Roster must be able to read back —
// webhook signing secrets — encrypted at rest, so that a copy of the
// database alone signs nothing.
//
// A Box seals with AES-256-GCM under its current key and opens what any of
// its keys sealed, so an operator can replace the key without downtime
// (docs/security.md, "Secrets at rest"). A sealed value names its key by a
// short ID and is bound to the row it belongs to, so it cannot be moved to
// another endpoint.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// sealedPrefix starts every sealed value: the format's version, then the
// key's ID, then the nonce and ciphertext, base64.
const sealedPrefix = "sealed:v1:"

// ErrUnknownKey is returned, wrapped, by Open for a value sealed under a key
// the Box does not hold.
var ErrUnknownKey = errors.New("sealed under a key this node does not have")

// key is one AES-256-GCM key with its ID: the first 4 bytes of its SHA-256,
// in hex, which names the key without revealing it.
type key struct {
	id   string
	aead cipher.AEAD
}

// Box seals under its first key and opens under any.
type Box struct {
	keys []key
}

// New returns a Box sealing under current and opening under current and
// previous. Every key is KeySize bytes.
func New(current []byte, previous ...[]byte) (*Box, error) {
	b := &Box{}
	for i, raw := range append([][]byte{current}, previous...) {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("secret key %d: %d bytes, want %d", i+1, len(raw), KeySize)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(raw)
		b.keys = append(b.keys, key{id: hex.EncodeToString(sum[:4]), aead: aead})
	}
	return b, nil
}

// NewKey returns a new random key, encoded as ParseKey reads it.
func NewKey() string {
	raw := make([]byte, KeySize)
	rand.Read(raw) // never fails
	return base64.StdEncoding.EncodeToString(raw)
}

// ParseKey decodes a key: the standard base64 encoding of KeySize bytes,
// surrounding white space ignored (a key file may end in a newline).
func ParseKey(s string) ([]byte, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("a secret key is the base64 encoding of 32 bytes: not base64")
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("a secret key is the base64 encoding of 32 bytes, not %d", len(raw))
	}
	return raw, nil
}

// Seal encrypts plain under the current key, bound to aad (what the secret
// belongs to), and returns the value to store.
func (b *Box) Seal(plain, aad string) string {
	k := b.keys[0]
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	rand.Read(nonce)
	out := k.aead.Seal(nonce, nonce, []byte(plain), []byte(aad))
	return sealedPrefix + k.id + ":" + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a value Seal returned for the same aad. current reports
// whether it was sealed under the current key; a value that is not sealed
// at all (stored before secrets were) is returned as is, not current, so
// that it is sealed when next written.
func (b *Box) Open(stored, aad string) (plain string, current bool, err error) {
	rest, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return stored, false, nil
	}
	id, enc, ok := strings.Cut(rest, ":")
	if !ok {
		return "", false, errors.New("malformed sealed secret")
	}
	for i, k := range b.keys {
		if k.id != id {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || len(raw) < k.aead.NonceSize() {
			return "", false, errors.New("malformed sealed secret")
		}
		n := k.aead.NonceSize()
		out, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(aad))
		if err != nil {
			return "", false, errors.New("sealed secret does not open: altered, or moved from another row")
		}
		return string(out), i == 0, nil
	}
	return "", false, fmt.Errorf("%w (key %s)", ErrUnknownKey, id)
}
