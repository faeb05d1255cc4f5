package fields

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

func keys(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = i
	}
	return m
}

func TestMetadata(t *testing.T) {
	// {"k":"…"} is 8 octets around the value.
	sized := func(n int, c string) map[string]any { return map[string]any{"k": strings.Repeat(c, n-8)} }
	tests := []struct {
		name    string
		m       map[string]any
		maxKeys int
		code    string
	}{
		{"nil", nil, 16, ""},
		{"empty", map[string]any{}, 16, ""},
		{"empty with no keys allowed", map[string]any{}, 0, ""},
		{"one key", map[string]any{"theme": "dark"}, 16, ""},
		{"all key characters", map[string]any{"Az09_.-": true}, 16, ""},
		{"key of 64", map[string]any{strings.Repeat("k", 64): 1}, 16, ""},
		{"16 keys", keys(16), 16, ""},
		{"nested values, nested keys free", map[string]any{"prefs": map[string]any{"any key / ~": []any{json.Number("1"), nil, "x"}}}, 16, ""},
		{"8 KiB", sized(8192, "a"), 16, ""},
		{"8 KiB with HTML characters", sized(8192, "<"), 16, ""},

		{"17 keys", keys(17), 16, CodeTooManyKeys},
		{"tenant limit of 2", keys(3), 2, CodeTooManyKeys},
		{"one key with no keys allowed", map[string]any{"a": 1}, 0, CodeTooManyKeys},
		{"empty key", map[string]any{"": 1}, 16, CodeInvalidMetadataKey},
		{"key of 65", map[string]any{strings.Repeat("k", 65): 1}, 16, CodeInvalidMetadataKey},
		{"space in key", map[string]any{"the me": 1}, 16, CodeInvalidMetadataKey},
		{"slash in key", map[string]any{"a/b": 1}, 16, CodeInvalidMetadataKey},
		{"tilde in key", map[string]any{"a~b": 1}, 16, CodeInvalidMetadataKey},
		{"non-ASCII key", map[string]any{"thème": 1}, 16, CodeInvalidMetadataKey},
		{"NaN value", map[string]any{"x": math.NaN()}, 16, CodeInvalidMetadata},
		{"channel value", map[string]any{"x": make(chan int)}, 16, CodeInvalidMetadata},
		{"8 KiB + 1", sized(8193, "a"), 16, CodeTooLarge},
		{"escaped characters counted encoded", map[string]any{"k": strings.Repeat("\x01", 1366)}, 16, CodeTooLarge}, // 6 octets each
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkError(t, Metadata(tt.m, tt.maxKeys), tt.code)
		})
	}
}

func TestSecureMetadata(t *testing.T) {
	secret := strings.Repeat("s3cr3t", 2000)
	tests := []struct {
		name string
		m    map[string]any
		code string
	}{
		{"nil", nil, ""},
		{"any keys", map[string]any{"": 1, "a key / with ~ anything é": "x"}, ""},
		{"many keys", keys(100), ""},
		{"over 8 KiB", map[string]any{"ssn": secret}, CodeTooLarge},
		{"NaN value", map[string]any{"x": math.Inf(1)}, CodeInvalidMetadata},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SecureMetadata(tt.m)
			checkError(t, err, tt.code)
			if err != nil && strings.Contains(err.Message, "s3cr3t") {
				t.Errorf("message %q reveals the content", err.Message)
			}
		})
	}
}

func TestMetadataNumbersMustFitADouble(t *testing.T) {
	for _, n := range []string{"1e999999", "-1e400", "1" + strings.Repeat("0", 400)} {
		m := map[string]any{"a": []any{map[string]any{"n": json.Number(n)}}}
		if err := Metadata(m, 16); err == nil || err.Code != CodeInvalidMetadata {
			t.Errorf("Metadata with %s: %v, want %s", n, err, CodeInvalidMetadata)
		}
		if err := SecureMetadata(m); err == nil {
			t.Errorf("SecureMetadata with %s accepted", n)
		}
	}
	if err := Metadata(map[string]any{"big": json.Number("123456789012345678901234567890")}, 16); err != nil {
		t.Errorf("a big integer within range refused: %v", err)
	}
}
