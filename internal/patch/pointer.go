package patch

import (
	"errors"
	"strconv"
	"strings"
)

// ParsePointer splits an RFC 6901 JSON Pointer into its unescaped reference
// tokens: "" (the whole document) gives no tokens, "/" gives one empty
// token (the member named ""), and "/a~1b/m~0n" gives "a/b" and "m~n".
//
// It returns an error when s is neither empty nor starts with "/", or when a
// "~" is not followed by "0" or "1".
func ParsePointer(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	if s[0] != '/' {
		return nil, errors.New(`a JSON pointer must be empty or start with "/"`)
	}
	tokens := strings.Split(s[1:], "/")
	for i, tok := range tokens {
		if !strings.Contains(tok, "~") {
			continue
		}
		// RFC 6901 §4: "~1" becomes "/" before "~0" becomes "~", so "~01"
		// is "~1". Scanning left to right gives the same result.
		var b strings.Builder
		for j := 0; j < len(tok); j++ {
			if tok[j] != '~' {
				b.WriteByte(tok[j])
				continue
			}
			if j+1 < len(tok) && tok[j+1] == '0' {
				b.WriteByte('~')
			} else if j+1 < len(tok) && tok[j+1] == '1' {
				b.WriteByte('/')
			} else {
				return nil, errors.New(`a "~" in a JSON pointer must be followed by "0" or "1"`)
			}
			j++
		}
		tokens[i] = b.String()
	}
	return tokens, nil
}

// formatPointer is the inverse of ParsePointer.
func formatPointer(tokens []string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteByte('/')
		if !strings.ContainsAny(tok, "~/") {
			b.WriteString(tok)
			continue
		}
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

// errNoEnd and friends say why a token does not select an array element;
// arrayIndex returns them and Apply words them into conflicts.
var (
	errNoEnd      = errors.New("index - is past the end")
	errBadIndex   = errors.New("invalid array index")
	errOutOfRange = errors.New("array index out of range")
)

// arrayIndex interprets tok as an index into an array of length n. RFC 6901
// allows only "0" or digits without a leading zero: "01", "-1", "+1" and
// "1e0" are refused. With forAdd, "-" and n itself are accepted and mean
// "append".
func arrayIndex(tok string, n int, forAdd bool) (int, error) {
	if tok == "-" {
		if forAdd {
			return n, nil
		}
		return 0, errNoEnd
	}
	if tok == "" || (tok[0] == '0' && len(tok) > 1) {
		return 0, errBadIndex
	}
	for i := 0; i < len(tok); i++ {
		if !isDigit(tok[i]) {
			return 0, errBadIndex
		}
	}
	i, err := strconv.Atoi(tok)
	if err != nil { // only overflow is left: far out of range
		return 0, errOutOfRange
	}
	if i > n || (i == n && !forAdd) {
		return 0, errOutOfRange
	}
	return i, nil
}
