package fields

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Limits of metadata objects.
const (
	DefaultMetadataMaxKeys = 16      // the default per-tenant limit of top-level keys
	MaxMetadataBytes       = 8 << 10 // the JSON encoding of metadata and secure_metadata
	MaxMetadataKeyLength   = 64
)

var (
	errMetadataKey = fail(CodeInvalidMetadataKey,
		"must have keys of 1 to 64 characters among A-Z, a-z, 0-9, '_', '.' and '-'")
	errMetadataValue = fail(CodeInvalidMetadata, "must be a JSON object")
	errMetadataSize  = fail(CodeTooLarge, "must be at most 8 KiB when encoded as JSON")
)

// Metadata validates a metadata object, a decoded JSON object.
//
// It accepts at most maxKeys top-level keys (the tenant's setting,
// DefaultMetadataMaxKeys unless changed; 0 allows only the empty object),
// each of 1 to 64 characters among A-Z a-z 0-9 "_" "." "-", so keys can be
// used in JSON Pointers and policy attribute paths without escaping. Values
// are any JSON values; keys of nested objects are not restricted. The whole
// object, encoded as compact JSON without HTML escaping, must be at most
// 8 KiB. A nil map is the empty object.
//
// Checks run in that order and the first failure is returned:
// CodeTooManyKeys, CodeInvalidMetadataKey, CodeInvalidMetadata (a value that
// is not JSON, such as NaN or a Go channel, or a number beyond a double's
// range) or CodeTooLarge.
func Metadata(m map[string]any, maxKeys int) *Error {
	if len(m) > maxKeys {
		return &Error{Code: CodeTooManyKeys, Message: "must have at most " + strconv.Itoa(maxKeys) + " keys"}
	}
	for k := range m {
		if !metadataKey(k) {
			return new(errMetadataKey)
		}
	}
	return metadataSize(m)
}

// SecureMetadata validates a secure_metadata object: any decoded JSON object
// whose compact JSON encoding is at most 8 KiB. Its errors never describe
// the content. Returns CodeInvalidMetadata or CodeTooLarge.
func SecureMetadata(m map[string]any) *Error {
	return metadataSize(m)
}

func metadataKey(k string) bool {
	if k == "" || len(k) > MaxMetadataKeyLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// metadataSize checks the size of the compact JSON encoding of m. HTML
// characters are not escaped, so "<" counts as one byte, as a client sent it.
func metadataSize(m map[string]any) *Error {
	if len(m) == 0 {
		return nil
	}
	if !numbersFit(m) {
		return &Error{Code: CodeInvalidMetadata, Message: "must hold only numbers that fit an IEEE 754 double (magnitude below about 1.8e308)"}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return new(errMetadataValue)
	}
	// Encode ends the value with a newline.
	if buf.Len()-1 > MaxMetadataBytes {
		return new(errMetadataSize)
	}
	return nil
}

// numbersFit reports whether every number in v fits a double (RFC 7493
// §2.2). A larger one would be served back in every read of the user, and
// clients such as Go's encoding/json cannot decode it, while JavaScript
// reads Infinity. Precision is kept: big integers within range stay exact.
func numbersFit(v any) bool {
	switch v := v.(type) {
	case json.Number:
		_, err := strconv.ParseFloat(string(v), 64)
		return err == nil
	case map[string]any:
		for _, e := range v {
			if !numbersFit(e) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !numbersFit(e) {
				return false
			}
		}
	}
	return true
}
