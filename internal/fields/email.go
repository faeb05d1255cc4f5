package fields

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
)

// Limits of an email address, in octets of its normalized form (RFC 5321
// §4.5.3.1 and RFC 3696 erratum 1690).
const (
	MaxEmailLength      = 254
	MaxEmailLocalLength = 64
)

// idnaProfile converts a domain the way a resolver looks it up (UTS #46,
// non-transitional, so "ß" is kept): case and width are folded, labels are
// checked (letters, digits and hyphens only; hyphen placement; joiners; the
// Bidi rule) and so are DNS lengths (labels ≤ 63, name ≤ 253 octets).
// A Profile is immutable and safe for concurrent use.
var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

var (
	errEmailSyntax = fail(CodeInvalidEmail,
		"must be a bare address such as name@example.com, without a display name, angle brackets, comments or spaces")
	errEmailLocalASCII = fail(CodeInvalidEmail,
		"must have only ASCII characters before the @")
	errEmailLiteral = fail(CodeInvalidEmail,
		"must have a domain name after the @, not an address literal in brackets")
	errEmailDomain = fail(CodeInvalidEmail,
		"must have a valid domain name with at least one dot after the @")
	errEmailLocalLong = fail(CodeTooLong,
		"must have at most 64 characters before the @")
)

// Email validates an email address and returns its normalized form.
//
// It accepts an RFC 5322 addr-spec and nothing around it: no display name
// ("Alice <a@example.com>"), angle brackets, comments, or whitespace outside a
// quoted local part. The local part is a dot-atom (alice.smith+tag) or a
// quoted string ("alice smith"); it must be ASCII (SMTPUTF8 local parts are
// rejected, since many mail systems cannot deliver to them) and non-empty.
// A quoted local part is normalized to its simplest equivalent form:
// "alice"@example.com becomes alice@example.com, and needless backslashes are
// dropped. Its case is kept, as RFC 5321 makes it significant.
//
// The domain is lower-cased and IDNA-encoded (UTS #46 lookup mapping,
// non-transitional): "user@Bücher.example" becomes
// "user@xn--bcher-kva.example". It must be a fully qualified host name: at
// least two labels, the last one starting with a letter, no trailing dot.
// Dotless hosts (user@localhost), IP addresses and domain literals
// (user@[192.0.2.1]) are rejected: none of them is a mailbox a directory
// should hold.
//
// The normalized address must be at most 254 octets, its local part at most
// 64. Returns CodeInvalidEmail or CodeTooLong.
func Email(s string) (string, *Error) {
	if s == "" {
		return "", new(errEmailSyntax)
	}
	// More than 4×254 bytes is more than 254 characters: reject it before
	// doing any work. (The only inputs normalization would shrink that much
	// are runs of characters IDNA ignores, such as soft hyphens.)
	if len(s) > 4*MaxEmailLength {
		return "", tooLong(MaxEmailLength, "characters")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "", new(errEmailSyntax)
	}
	local, err := emailLocal(s[:at])
	if err != nil {
		return "", err
	}
	domain, err := emailDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	if len(local) > MaxEmailLocalLength {
		return "", new(errEmailLocalLong)
	}
	if len(local)+1+len(domain) > MaxEmailLength {
		return "", tooLong(MaxEmailLength, "characters")
	}
	if local == s[:at] && domain == s[at+1:] {
		return s, nil
	}
	return local + "@" + domain, nil
}

// EmailKey returns the key under which an address normalized by Email is
// unique: the whole address case-folded, so Alice@example.com and
// alice@EXAMPLE.com share a key. It does no provider-specific folding (dots or
// +tags in Gmail addresses are significant). Store it in a column with a
// unique index rather than comparing addresses in Go.
func EmailKey(normalized string) string {
	for i := 0; i < len(normalized); i++ {
		if normalized[i] >= utf8.RuneSelf {
			// Email never returns non-ASCII, but the key must stay
			// case-insensitive for any input.
			return cases.Fold().String(normalized)
		}
	}
	return strings.ToLower(normalized)
}

// emailLocal validates a local part and returns its normalized form.
func emailLocal(s string) (string, *Error) {
	if s == "" {
		return "", new(errEmailSyntax)
	}
	if s[0] != '"' {
		if isDotAtom(s) {
			return s, nil
		}
		if !isASCII(s) {
			return "", new(errEmailLocalASCII)
		}
		return "", new(errEmailSyntax)
	}
	if len(s) < 2 || s[len(s)-1] != '"' {
		return "", new(errEmailSyntax)
	}
	quoted := s[1 : len(s)-1]
	content := make([]byte, 0, len(quoted))
	for i := 0; i < len(quoted); i++ {
		c := quoted[i]
		switch {
		case c == '\\':
			// quoted-pair: a backslash and a printable character or space.
			i++
			if i == len(quoted) || quoted[i] < ' ' || quoted[i] > '~' {
				return "", new(errEmailSyntax)
			}
			content = append(content, quoted[i])
		case c == '"':
			return "", new(errEmailSyntax)
		case c >= ' ' && c <= '~':
			// qtext, or a space (FWS without folding).
			content = append(content, c)
		case c >= utf8.RuneSelf:
			return "", new(errEmailLocalASCII)
		default:
			// Controls, tabs and line breaks.
			return "", new(errEmailSyntax)
		}
	}
	if len(content) == 0 {
		return "", new(errEmailSyntax)
	}
	if isDotAtom(string(content)) {
		return string(content), nil
	}
	var b strings.Builder
	b.Grow(len(content) + 2)
	b.WriteByte('"')
	for _, c := range content {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String(), nil
}

// emailDomain validates the domain of an address and returns it lower-cased
// and IDNA-encoded.
func emailDomain(d string) (string, *Error) {
	if d == "" {
		return "", new(errEmailDomain)
	}
	if d[0] == '[' {
		return "", new(errEmailLiteral)
	}
	if out, ok := hostname(d); ok {
		return out, nil
	}
	return "", new(errEmailDomain)
}

// hostname validates a fully qualified domain name and returns it
// lower-cased and IDNA-encoded. See Email for the rules.
func hostname(d string) (string, bool) {
	out, handled, ok := asciiHostname(d)
	if !handled {
		// x/net/idna encodes invalid UTF-8 as if it were U+FFFD, which it
		// rejects when given as such.
		if !utf8.ValidString(d) {
			return "", false
		}
		var err error
		out, err = idnaProfile.ToASCII(d)
		ok = err == nil
	}
	return out, ok && isQualified(out)
}

// asciiHostname is the allocation-free path of hostname for the common case
// of an all-ASCII name without A-labels, where IDNA processing amounts to
// lower-casing and the STD3 and hyphen rules checked here. handled is false
// when the name needs the full IDNA profile.
func asciiHostname(d string) (out string, handled, ok bool) {
	upper := false
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
		case c >= 'A' && c <= 'Z':
			upper = true
		default:
			return "", false, false
		}
	}
	if len(d) > 253 {
		return "", true, false
	}
	for label := range strings.SplitSeq(d, ".") {
		switch {
		case len(label) == 0 || len(label) > 63:
			return "", true, false
		case label[0] == '-' || label[len(label)-1] == '-':
			return "", true, false
		case len(label) >= 4 && label[2] == '-' && label[3] == '-':
			if strings.EqualFold(label[:2], "xn") {
				// An A-label: its Punycode must be decoded and checked.
				return "", false, false
			}
			return "", true, false
		}
	}
	if upper {
		d = strings.ToLower(d)
	}
	return d, true, true
}

// isQualified reports whether an IDNA-encoded name has at least two labels
// and a top-level label that starts with a letter, which rules out IPv4
// addresses in any notation (1.2.3.4, 0x7f.1) and trailing dots.
func isQualified(d string) bool {
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || dot == len(d)-1 {
		return false
	}
	c := d[dot+1]
	return c >= 'a' && c <= 'z'
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if !atext[c] {
			return false
		}
	}
	return true
}

// atext is the RFC 5322 atext set.
var atext = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] = true
	}
	return t
}()

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
