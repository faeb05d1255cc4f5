package fields

import (
	"encoding/base64"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxURLLength is the maximum length of a website or picture URL, in octets
// of its normalized (ASCII) form.
const MaxURLLength = 2048

// MaxPictureBytes is the maximum size of a picture sent as a data: URI,
// once decoded.
const MaxPictureBytes = 256 << 10

var (
	errURL = fail(CodeInvalidURL,
		"must be an absolute http or https URL such as https://example.com/")
	errURLChars = fail(CodeInvalidURL,
		"must not contain spaces, control characters or backslashes")
	errURLUserinfo = fail(CodeInvalidURL, "must not contain a user name or password")
	errURLHost     = fail(CodeInvalidURL,
		"must have a valid host: a domain name with at least one dot, or an IP address")
	errURLPort = fail(CodeInvalidURL, "must have a port between 1 and 65535")

	errDataURI = fail(CodeInvalidPicture,
		"must be a URI of the form data:image/png;base64,… (png, jpeg, gif or webp)")
	errDataBase64   = fail(CodeInvalidPicture, "must have valid standard base64 data, without line breaks")
	errDataEmpty    = fail(CodeInvalidPicture, "must not have empty image data")
	errDataTooLarge = fail(CodeTooLarge, "must be at most 256 KiB once decoded")
)

// URL validates a website URL and returns its normalized form.
//
// It accepts an absolute URL with scheme http or https and a host, and
// rejects: spaces, control characters and backslashes anywhere (browsers read
// "\" as "/", so it could make two parsers disagree on the host); userinfo
// ("https://user:pass@example.com" leaks credentials and is a phishing
// device); malformed percent-escapes; ports outside 1–65535; and hosts that
// are neither an IP address (IPv6 in brackets, without zone) nor a domain
// name with at least one dot and a top-level label starting with a letter
// ("https://localhost" and "https://intranet" are almost always mistakes for a
// public profile). It does not check whether the host is public or resolves.
//
// Normalization: scheme and host lower-cased, an internationalized host
// IDNA-encoded, IP addresses in canonical form, leading zeros of the port
// and an empty port (":" alone) dropped, and characters not allowed in a URI
// (non-ASCII and the like) percent-encoded in path, query and fragment, so
// the result is ASCII. The result must be at most 2048 octets.
//
// Returns CodeInvalidURL or CodeTooLong.
func URL(s string) (string, *Error) {
	if s == "" {
		return "", new(errURL)
	}
	// More than 4×2048 bytes is more than 2048 characters: reject it before
	// doing any work.
	if len(s) > 4*MaxURLLength {
		return "", tooLong(MaxURLLength, "characters")
	}
	for _, r := range s {
		if r == utf8.RuneError || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", new(errURLChars)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", new(errURL)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Opaque != "" || u.Host == "" {
		return "", new(errURL)
	}
	if u.User != nil {
		return "", new(errURLUserinfo)
	}
	host, ok := urlHost(u.Hostname(), strings.HasPrefix(u.Host, "["))
	if !ok {
		return "", new(errURLHost)
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", new(errURLPort)
		}
		host += ":" + strconv.Itoa(n) // without leading zeros
	}
	u.Host = host
	if u.RawQuery, ok = escapeQuery(u.RawQuery); !ok {
		return "", new(errURL)
	}
	out := u.String()
	if len(out) > MaxURLLength {
		return "", tooLong(MaxURLLength, "characters")
	}
	return out, nil
}

// PictureURL validates the URL of a profile picture: the same rules, the
// same normalization and the same error codes as URL. Check IsDataURI first
// to route data: URIs to DataURI.
func PictureURL(s string) (string, *Error) {
	return URL(s)
}

// urlHost validates the host of a URL (without port and brackets) and
// returns it normalized.
func urlHost(h string, bracketed bool) (string, bool) {
	if bracketed {
		a, err := netip.ParseAddr(h)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		return "[" + a.String() + "]", true
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if !a.Is4() {
			return "", false
		}
		return a.String(), true
	}
	if h == "" || h[len(h)-1] == '.' {
		return "", false
	}
	return hostname(h)
}

// escapeQuery checks the percent-escapes of a raw query and percent-encodes
// the octets RFC 3986 does not allow in one. url.Parse does neither.
func escapeQuery(q string) (string, bool) {
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%':
			if i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2]) {
				return "", false
			}
		case needsEscape(c):
			n++
		}
	}
	if n == 0 {
		return q, true
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(q)+2*n)
	for i := 0; i < len(q); i++ {
		if c := q[i]; needsEscape(c) {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b), true
}

// needsEscape reports whether c is an octet RFC 3986 allows nowhere in a URI
// (spaces and controls are rejected before).
func needsEscape(c byte) bool {
	return c >= utf8.RuneSelf || strings.IndexByte(`"<>\^`+"`{|}", c) >= 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// IsDataURI reports whether s uses the data: scheme (in any case), that is,
// whether a picture value should be checked with DataURI rather than
// PictureURL.
func IsDataURI(s string) bool {
	return len(s) >= 5 && strings.EqualFold(s[:5], "data:")
}

// DataURI decodes a picture sent inline and returns its content type
// ("image/png", "image/jpeg", "image/gif" or "image/webp") and bytes.
//
// It accepts exactly data:image/<png|jpeg|gif|webp>;base64,<data>, where the
// scheme, the media type and ";base64" are case-insensitive and the data is
// padded standard base64 (RFC 4648 §4) without line breaks or white space. No
// other media type ("image/jpg", "image/svg+xml") and no parameters. The
// decoded image must be 1 byte to 256 KiB, and must be a whole image of its
// declared type, as the standard library's image/png, image/jpeg and
// image/gif (every frame) and golang.org/x/image/webp (still images) decode
// it, with nothing after the end its format defines; see picture.go. Its
// pixel dimensions are checked on its header, before it is decoded: at most
// MaxPictureSide wide and high and MaxPicturePixels in all; a GIF at most
// MaxPictureFrames frames of MaxPictureFramePixels in all.
//
// Returns CodeInvalidPicture, or CodeTooLarge for too many bytes, pixels or
// frames.
func DataURI(s string) (contentType string, data []byte, err *Error) {
	if !IsDataURI(s) {
		return "", nil, new(errDataURI)
	}
	meta, payload, ok := strings.Cut(s[len("data:"):], ",")
	const b64 = ";base64"
	if !ok || len(meta) < len(b64) || !strings.EqualFold(meta[len(meta)-len(b64):], b64) {
		return "", nil, new(errDataURI)
	}
	meta = meta[:len(meta)-len(b64)]
	var signature func([]byte) bool
	var check func([]byte) *Error
	for _, t := range pictureTypes {
		if strings.EqualFold(meta, t.contentType) {
			contentType, signature, check = t.contentType, t.signature, t.check
			break
		}
	}
	if check == nil {
		return "", nil, new(errDataURI)
	}
	if len(payload) > base64.StdEncoding.EncodedLen(MaxPictureBytes) {
		return "", nil, new(errDataTooLarge)
	}
	// The decoder skips CR and LF; the format does not allow them.
	if strings.ContainsAny(payload, "\r\n") {
		return "", nil, new(errDataBase64)
	}
	data, decodeErr := base64.StdEncoding.Strict().DecodeString(payload)
	switch {
	case decodeErr != nil:
		return "", nil, new(errDataBase64)
	case len(data) == 0:
		return "", nil, new(errDataEmpty)
	case len(data) > MaxPictureBytes:
		return "", nil, new(errDataTooLarge)
	case !signature(data):
		return "", nil, new(errPictureImage)
	}
	if err := check(data); err != nil {
		return "", nil, err
	}
	return contentType, data, nil
}
