package fields

import (
	"bytes"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets check what every function promises: no panic, and a
// normalized value validates to itself. `go test` runs their seeds; run
// `go test -fuzz=FuzzEmail ./internal/fields/` to explore.

func fuzzIdempotent(f *testing.F, seeds []string, fn func(string) (string, *Error)) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := fn(s)
		if err != nil {
			if got != "" {
				t.Fatalf("%q: got %q with error %v", s, got, err)
			}
			return
		}
		again, err := fn(got)
		if err != nil || again != got {
			t.Fatalf("%q: normalized to %q, which gives %q, %v", s, got, again, err)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("%q: normalized to invalid UTF-8 %q", s, got)
		}
	})
}

func FuzzEmail(f *testing.F) {
	fuzzIdempotent(f, []string{
		"alice@example.com", "Alice@EXAMPLE.COM", `"a b"@example.com`, `"a\"b"@x.example`,
		"user@Bücher.example", "user@例え。テスト", "a@xn--bcher-kva.example",
	}, Email)
}

func FuzzURL(f *testing.F) {
	fuzzIdempotent(f, []string{
		"https://example.com/", "HTTP://Bücher.example:080/ä?q=ü|x#é", "http://[2001:DB8::1]/",
		"https://example.com/a%2Fb?q=%26", "https://b%C3%BCcher.example/",
	}, URL)
}

func FuzzUsername(f *testing.F) {
	fuzzIdempotent(f, []string{"alice", "ＡＬＩＣＥ", "a.b_c-d", "Élodie"}, Username)
}

func FuzzName(f *testing.F) {
	fuzzIdempotent(f, []string{"  Alice ", "Ame\u0301lie", "\u1100\u1161", "a\u200db"}, Name)
}

func FuzzBio(f *testing.F) {
	fuzzIdempotent(f, []string{"a\r\nb\r", " x\t\n", "e\u0301"}, Bio)
}

func FuzzLocale(f *testing.F) {
	fuzzIdempotent(f, []string{"fr-fr", "zh-hans-cn", "i-klingon", "en-US-u-ca-gregory-x-a"}, Locale)
}

func FuzzBirthdate(f *testing.F) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	fuzzIdempotent(f, []string{"1990-01-01", "2024-02-29T00:00:00.000Z", "1990-01-01T02:00:00+02:00"},
		func(s string) (string, *Error) { return Birthdate(s, now) })
}

func FuzzConsentedAt(f *testing.F) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	fuzzIdempotent(f, []string{"2026-03-15T09:00:00.123456Z", "2020-01-01t00:00:00+05:30"},
		func(s string) (string, *Error) {
			t, err := ConsentedAt(s, now)
			if err != nil {
				return "", err
			}
			return t.Format(time.RFC3339Nano), nil
		})
}

func FuzzDataURI(f *testing.F) {
	for _, s := range []string{dataURI("image/png", pngBytes), dataURI("image/webp", webpBytes), dataURI("image/gif", gif89Bytes),
		dataURI("image/jpeg", jpegBytes), "data:image/gif;base64,R0lGODlh"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ct, data, err := DataURI(s)
		if err == nil && (ct == "" || len(data) == 0 || len(data) > MaxPictureBytes) {
			t.Fatalf("%q: got %q and %d bytes", s, ct, len(data))
		}
	})
}

// FuzzPictureBytes feeds image bytes, not base64, to DataURI under each
// content type: no panic, and what it accepts is within the limits.
func FuzzPictureBytes(f *testing.F) {
	for i, img := range images {
		f.Add(uint8(i), img.data)
	}
	f.Fuzz(func(t *testing.T, kind uint8, b []byte) {
		ct := images[int(kind)%len(images)].contentType
		got, data, err := DataURI(dataURI(ct, b))
		if err != nil {
			return
		}
		if got != ct || !bytes.Equal(data, b) {
			t.Fatalf("accepted as %s %d bytes; sent %s %d bytes", got, len(data), ct, len(b))
		}
	})
}
