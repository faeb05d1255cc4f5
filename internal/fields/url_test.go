package fields

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	// "https://example.com/" is 20 octets.
	path2048 := "/" + strings.Repeat("a", 2048-20)
	tests := []struct {
		name, in, want, code string
	}{
		{"https", "https://example.com", "https://example.com", ""},
		{"http with path", "http://example.com/about", "http://example.com/about", ""},
		{"query and fragment", "https://example.com/p?q=1&r=two#top", "https://example.com/p?q=1&r=two#top", ""},
		{"scheme and host lower-cased, path kept", "HTTPS://Example.COM/About", "https://example.com/About", ""},
		{"IDN host", "https://Bücher.example/", "https://xn--bcher-kva.example/", ""},
		{"non-ASCII path, query and fragment encoded", "https://example.com/ä?q=ü#é", "https://example.com/%C3%A4?q=%C3%BC#%C3%A9", ""},
		{"percent-encoded IDN host", "https://b%C3%BCcher.example/", "https://xn--bcher-kva.example/", ""},
		{"percent-escapes kept", "https://example.com/a%2Fb?q=%26", "https://example.com/a%2Fb?q=%26", ""},
		{"characters not allowed in a URI encoded", "https://example.com/<a>?q=a|b{c}", "https://example.com/%3Ca%3E?q=a%7Cb%7Bc%7D", ""},
		{"port", "https://example.com:8443/", "https://example.com:8443/", ""},
		{"port with leading zeros", "https://example.com:0443/", "https://example.com:443/", ""},
		{"empty port dropped", "https://example.com:/", "https://example.com/", ""},
		{"empty query kept", "https://example.com/?", "https://example.com/?", ""},
		{"IPv4", "http://192.0.2.1:8080/x", "http://192.0.2.1:8080/x", ""},
		{"IPv6 canonicalized", "http://[2001:DB8:0::1]/", "http://[2001:db8::1]/", ""},
		{"2048 octets", "https://example.com" + path2048, "https://example.com" + path2048, ""},

		{"empty", "", "", CodeInvalidURL},
		{"no scheme", "example.com", "", CodeInvalidURL},
		{"scheme-relative", "//example.com/", "", CodeInvalidURL},
		{"path only", "/about", "", CodeInvalidURL},
		{"ftp", "ftp://example.com/", "", CodeInvalidURL},
		{"javascript", "javascript:alert(1)", "", CodeInvalidURL},
		{"mailto", "mailto:alice@example.com", "", CodeInvalidURL},
		{"data", "data:text/html,hi", "", CodeInvalidURL},
		{"opaque https", "https:example.com", "", CodeInvalidURL},
		{"no host", "https:///path", "", CodeInvalidURL},
		{"scheme only", "https://", "", CodeInvalidURL},
		{"user", "https://alice@example.com/", "", CodeInvalidURL},
		{"user and password", "https://alice:secret@example.com/", "", CodeInvalidURL},
		{"empty userinfo", "https://@example.com/", "", CodeInvalidURL},
		{"space in host", "https://exa mple.com/", "", CodeInvalidURL},
		{"space in path", "https://example.com/a b", "", CodeInvalidURL},
		{"leading space", " https://example.com/", "", CodeInvalidURL},
		{"trailing newline", "https://example.com/\n", "", CodeInvalidURL},
		{"tab", "https://example.com/\t", "", CodeInvalidURL},
		{"NUL", "https://example.com/\x00", "", CodeInvalidURL},
		{"no-break space", "https://example.com/\u00a0", "", CodeInvalidURL},
		{"backslash", "https://example.com\\@evil.example/", "", CodeInvalidURL},
		{"invalid UTF-8", "https://example.com/\xff", "", CodeInvalidURL},
		{"percent-encoded invalid UTF-8 in host", "https://%80.example/", "", CodeInvalidURL},
		{"localhost", "http://localhost:8080/", "", CodeInvalidURL},
		{"dotless host", "https://intranet/", "", CodeInvalidURL},
		{"trailing dot", "https://example.com./", "", CodeInvalidURL},
		{"numeric TLD", "https://example.123/", "", CodeInvalidURL},
		{"short IPv4", "http://1.2.3/", "", CodeInvalidURL},
		{"hexadecimal IPv4", "http://0x7f.1/", "", CodeInvalidURL},
		{"IPv4 with leading zeros", "http://010.0.0.1/", "", CodeInvalidURL},
		{"IPv6 zone", "http://[fe80::1%25eth0]/", "", CodeInvalidURL},
		{"IPv4 in brackets", "http://[192.0.2.1]/", "", CodeInvalidURL},
		{"underscore in host", "https://my_host.example/", "", CodeInvalidURL},
		{"port 0", "https://example.com:0/", "", CodeInvalidURL},
		{"port 65536", "https://example.com:65536/", "", CodeInvalidURL},
		{"port not a number", "https://example.com:https/", "", CodeInvalidURL},
		{"bad escape in path", "https://example.com/%zz", "", CodeInvalidURL},
		{"bad escape in query", "https://example.com/?q=%zz", "", CodeInvalidURL},
		{"truncated escape in query", "https://example.com/?q=%2", "", CodeInvalidURL},
		{"bad escape in fragment", "https://example.com/#%", "", CodeInvalidURL},
		{"2049 octets", "https://example.com" + path2048 + "a", "", CodeTooLong},
		{"over 2048 once encoded", "https://example.com/" + strings.Repeat("é", 700), "", CodeTooLong},
		{"huge", "https://example.com/" + strings.Repeat("a", 100000), "", CodeTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := URL(tt.in)
			checkString(t, got, err, tt.want, tt.code)
			if err == nil {
				again, err := URL(got)
				checkString(t, again, err, got, "")
			}
			// A picture URL follows the same rules.
			got, err = PictureURL(tt.in)
			checkString(t, got, err, tt.want, tt.code)
		})
	}
}

func TestIsDataURI(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"data:image/png;base64,AAAA", true},
		{"DATA:image/png;base64,AAAA", true},
		{"data:", true},
		{"https://example.com/a.png", false},
		{" data:image/png;base64,AAAA", false},
		{"dat", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := IsDataURI(tt.in); got != tt.want {
				t.Errorf("got %v; want %v", got, tt.want)
			}
		})
	}
}

func dataURI(contentType string, b []byte) string {
	return "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(b)
}

func TestDataURI(t *testing.T) {
	pad := func(b []byte, n int) []byte { return append(bytes.Clone(b), make([]byte, n-len(b))...) }
	// A whole PNG of exactly 256 KiB: a text chunk fills it up.
	full := withPNGChunk(pngBytes, "tEXt", append([]byte("Comment\x00"), bytes.Repeat([]byte("x"), 256<<10-len(pngBytes)-12-8)...))
	// A PNG of 10 bytes encodes as "…==": change the last data character
	// so that its unused low bits are not zero.
	nonCanonical := []byte(dataURI("image/png", pngBytes[:10]))
	nonCanonical[len(nonCanonical)-3]++
	tests := []struct {
		name, in, wantType string
		wantData           []byte
		code               string
	}{
		{"PNG", dataURI("image/png", pngBytes), "image/png", pngBytes, ""},
		{"JPEG", dataURI("image/jpeg", jpegBytes), "image/jpeg", jpegBytes, ""},
		{"GIF87a", dataURI("image/gif", gif87Bytes), "image/gif", gif87Bytes, ""},
		{"GIF89a", dataURI("image/gif", gif89Bytes), "image/gif", gif89Bytes, ""},
		{"WebP", dataURI("image/webp", webpBytes), "image/webp", webpBytes, ""},
		{"upper case", "DATA:IMAGE/PNG;BASE64," + base64.StdEncoding.EncodeToString(pngBytes), "image/png", pngBytes, ""},
		{"256 KiB", dataURI("image/png", full), "image/png", full, ""},

		{"PNG declared as JPEG", dataURI("image/jpeg", pngBytes), "", nil, CodeInvalidPicture},
		{"JPEG declared as PNG", dataURI("image/png", jpegBytes), "", nil, CodeInvalidPicture},
		{"GIF declared as WebP", dataURI("image/webp", gif89Bytes), "", nil, CodeInvalidPicture},
		{"WebP declared as GIF", dataURI("image/gif", webpBytes), "", nil, CodeInvalidPicture},
		{"RIFF but not WebP", dataURI("image/webp", []byte("RIFF\x1a\x00\x00\x00AVI LIST")), "", nil, CodeInvalidPicture},
		{"truncated WebP", dataURI("image/webp", webpBytes[:11]), "", nil, CodeInvalidPicture},
		{"GIF88a", dataURI("image/gif", []byte("GIF88a\x01\x00")), "", nil, CodeInvalidPicture},
		{"truncated PNG signature", dataURI("image/png", pngBytes[:7]), "", nil, CodeInvalidPicture},
		{"two JPEG bytes", dataURI("image/jpeg", jpegBytes[:2]), "", nil, CodeInvalidPicture},
		{"text", dataURI("image/png", []byte("hello, world")), "", nil, CodeInvalidPicture},
		{"image/jpg", dataURI("image/jpg", jpegBytes), "", nil, CodeInvalidPicture},
		{"SVG", dataURI("image/svg+xml", []byte("<svg/>")), "", nil, CodeInvalidPicture},
		{"no media type", dataURI("", pngBytes), "", nil, CodeInvalidPicture},
		{"parameter", "data:image/png;name=a.png;base64," + base64.StdEncoding.EncodeToString(pngBytes), "", nil, CodeInvalidPicture},
		{"not base64", "data:image/png,%89PNG%0D%0A%1A%0A", "", nil, CodeInvalidPicture},
		{"no comma", "data:image/png;base64", "", nil, CodeInvalidPicture},
		{"empty data", "data:image/png;base64,", "", nil, CodeInvalidPicture},
		{"invalid base64", "data:image/png;base64,!!!!", "", nil, CodeInvalidPicture},
		{"URL-safe base64", "data:image/jpeg;base64," + base64.URLEncoding.EncodeToString(jpegBytes), "", nil, CodeInvalidPicture},
		{"unpadded base64", "data:image/png;base64," + base64.RawStdEncoding.EncodeToString(pngBytes[:10]), "", nil, CodeInvalidPicture},
		{"non-canonical padding bits", string(nonCanonical), "", nil, CodeInvalidPicture},
		{"line break", "data:image/png;base64,iVBORw0K\nGgoAAAANSUhEUg==", "", nil, CodeInvalidPicture},
		{"CRLF", "data:image/png;base64,iVBORw0K\r\nGgoAAAANSUhEUg==", "", nil, CodeInvalidPicture},
		{"space", "data:image/png;base64,iVBORw0K GgoAAAANSUhEUg==", "", nil, CodeInvalidPicture},
		{"https URL", "https://example.com/a.png", "", nil, CodeInvalidPicture},
		{"256 KiB + 1", dataURI("image/png", pad(pngBytes, 256<<10+1)), "", nil, CodeTooLarge},
		{"1 MiB", dataURI("image/png", pad(pngBytes, 1<<20)), "", nil, CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotType, gotData, err := DataURI(tt.in)
			checkError(t, err, tt.code)
			if gotType != tt.wantType {
				t.Errorf("got type %q; want %q", gotType, tt.wantType)
			}
			if !bytes.Equal(gotData, tt.wantData) {
				t.Errorf("got %d bytes; want %d", len(gotData), len(tt.wantData))
			}
		})
	}
}
