package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret.
const SecretPrefix = "whsec_"

// The Standard Webhooks specification asks for secrets of 24 to 64 random
// bytes. The reference libraries accept any length, even none, so the bound
// is enforced here.
const (
	minKeyBytes = 24
	maxKeyBytes = 64
)

// ErrInvalidSecret is returned, wrapped, by Sign and Headers when a secret is
// not "whsec_" followed by the standard base64 encoding of 24 to 64 bytes.
var ErrInvalidSecret = errors.New("invalid webhook secret")

// secretKey returns the HMAC key of a secret.
func secretKey(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: no %s prefix", ErrInvalidSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrInvalidSecret)
	}
	if len(key) < minKeyBytes || len(key) > maxKeyBytes {
		return nil, fmt.Errorf("%w: %d bytes, want %d to %d", ErrInvalidSecret, len(key), minKeyBytes, maxKeyBytes)
	}
	return key, nil
}

// Sign returns the Standard Webhooks signature of one message: "v1," and the
// base64 HMAC-SHA256, keyed by the secret's decoded bytes, of
// "{msgID}.{ts as Unix seconds}.{body}". It returns an error wrapping
// ErrInvalidSecret if the secret is malformed or its key is not 24 to 64
// bytes long, and an error if msgID is empty.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	if msgID == "" {
		return "", errors.New("sign webhook: empty message ID")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Headers returns the three Standard Webhooks headers of one message,
// signed by each of secrets (at least one): during a secret's rotation the
// old and the new one both sign, space-separated in webhook-signature, so a
// receiver that knows either accepts the message. It returns Sign's errors.
func Headers(secrets []string, msgID string, ts time.Time, body []byte) (http.Header, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrInvalidSecret)
	}
	sigs := make([]string, len(secrets))
	for i, secret := range secrets {
		sig, err := Sign(secret, msgID, ts, body)
		if err != nil {
			return nil, err
		}
		sigs[i] = sig
	}
	h := make(http.Header, 3)
	h.Set(HeaderID, msgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return h, nil
}
