package fields

import (
	"strings"
	"testing"
)

func TestEmail(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	// 189 octets, so that a 64-octet local part makes 254.
	domain189 := long(63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 57) + ".com"
	tests := []struct {
		name, in, want, code string
	}{
		{"simple", "alice@example.com", "alice@example.com", ""},
		{"subdomain", "alice@mail.example.co.uk", "alice@mail.example.co.uk", ""},
		{"uppercase domain lowered, local kept", "Alice.Smith@EXAMPLE.COM", "Alice.Smith@example.com", ""},
		{"all atext", "a.b+tag!#$%&'*/=?^_`{|}~-@example.com", "a.b+tag!#$%&'*/=?^_`{|}~-@example.com", ""},
		{"digits and hyphens in domain", "x@a-1.b2-c.example", "x@a-1.b2-c.example", ""},
		{"IDN domain", "user@Bücher.example", "user@xn--bcher-kva.example", ""},
		{"IDN domain and TLD", "user@例え。テスト", "user@xn--r8jz45g.xn--zckzah", ""},
		{"fullwidth domain", "user@ｅｘａｍｐｌｅ.com", "user@example.com", ""},
		{"sharp s kept (non-transitional)", "user@straße.de", "user@xn--strae-oqa.de", ""},
		{"RTL label", "user@שלום.example", "user@xn--9dbne9b.example", ""},
		{"A-label", "user@xn--bcher-kva.example", "user@xn--bcher-kva.example", ""},
		{"uppercase A-label", "user@XN--BCHER-KVA.EXAMPLE", "user@xn--bcher-kva.example", ""},
		{"quoted with space", `"john doe"@example.com`, `"john doe"@example.com`, ""},
		{"quoted needless", `"alice"@example.com`, "alice@example.com", ""},
		{"quoted needless escape", `"a\lice"@example.com`, "alice@example.com", ""},
		{"quoted escaped quote", `"a\"b"@example.com`, `"a\"b"@example.com`, ""},
		{"quoted escaped space", `"a\ b"@example.com`, `"a b"@example.com`, ""},
		{"quoted at sign", `"a@b"@example.com`, `"a@b"@example.com`, ""},
		{"quoted double dot", `"a..b"@example.com`, `"a..b"@example.com`, ""},
		{"label of 63", "a@" + long(63) + ".com", "a@" + long(63) + ".com", ""},
		{"local part of 64", long(64) + "@example.com", long(64) + "@example.com", ""},
		{"quoted local part 64 once unquoted", `"` + long(64) + `"@example.com`, long(64) + "@example.com", ""},
		{"254 octets", long(64) + "@" + domain189, long(64) + "@" + domain189, ""},

		{"empty", "", "", CodeInvalidEmail},
		{"display name", "Alice <alice@example.com>", "", CodeInvalidEmail},
		{"quoted display name", `"Alice" <alice@example.com>`, "", CodeInvalidEmail},
		{"angle brackets", "<alice@example.com>", "", CodeInvalidEmail},
		{"comment", "alice(work)@example.com", "", CodeInvalidEmail},
		{"comment in domain", "alice@(work)example.com", "", CodeInvalidEmail},
		{"leading space", " alice@example.com", "", CodeInvalidEmail},
		{"trailing space", "alice@example.com ", "", CodeInvalidEmail},
		{"trailing newline", "alice@example.com\n", "", CodeInvalidEmail},
		{"space in local part", "alice smith@example.com", "", CodeInvalidEmail},
		{"no at", "alice.example.com", "", CodeInvalidEmail},
		{"fullwidth at", "alice＠example.com", "", CodeInvalidEmail},
		{"two ats", "alice@home@example.com", "", CodeInvalidEmail},
		{"empty local part", "@example.com", "", CodeInvalidEmail},
		{"empty quoted local part", `""@example.com`, "", CodeInvalidEmail},
		{"empty domain", "alice@", "", CodeInvalidEmail},
		{"leading dot", ".alice@example.com", "", CodeInvalidEmail},
		{"trailing dot in local part", "alice.@example.com", "", CodeInvalidEmail},
		{"double dot in local part", "al..ice@example.com", "", CodeInvalidEmail},
		{"unterminated quote", `"alice@example.com`, "", CodeInvalidEmail},
		{"quote inside atom", `al"ice"@example.com`, "", CodeInvalidEmail},
		{"unescaped quote in quotes", `"a"b"@example.com`, "", CodeInvalidEmail},
		{"trailing backslash in quotes", `"a\"@example.com`, "", CodeInvalidEmail},
		{"tab in quotes", "\"a\tb\"@example.com", "", CodeInvalidEmail},
		{"NUL", "al\x00ice@example.com", "", CodeInvalidEmail},
		{"non-ASCII local part", "jörg@example.com", "", CodeInvalidEmail},
		{"non-ASCII in quotes", `"jörg"@example.com`, "", CodeInvalidEmail},
		{"domain literal", "alice@[192.0.2.1]", "", CodeInvalidEmail},
		{"IPv6 domain literal", "alice@[IPv6:2001:db8::1]", "", CodeInvalidEmail},
		{"IPv4 address", "alice@192.0.2.1", "", CodeInvalidEmail},
		{"numeric TLD", "alice@example.123", "", CodeInvalidEmail},
		{"dotless domain", "alice@localhost", "", CodeInvalidEmail},
		{"trailing dot in domain", "alice@example.com.", "", CodeInvalidEmail},
		{"trailing ideographic stop", "alice@例え。テスト。", "", CodeInvalidEmail},
		{"leading dot in domain", "alice@.example.com", "", CodeInvalidEmail},
		{"empty label", "alice@example..com", "", CodeInvalidEmail},
		{"underscore in domain", "alice@ex_ample.com", "", CodeInvalidEmail},
		{"leading hyphen", "alice@-example.com", "", CodeInvalidEmail},
		{"trailing hyphen", "alice@example-.com", "", CodeInvalidEmail},
		{"hyphens at 3 and 4", "alice@ab--cd.com", "", CodeInvalidEmail},
		{"bad A-label", "alice@xn--abc.com", "", CodeInvalidEmail},
		{"Bidi rule broken", "alice@aשלום.example", "", CodeInvalidEmail},
		{"label of 64", "alice@" + long(64) + ".com", "", CodeInvalidEmail},
		{"newline in domain", "alice@exa\nmple.com", "", CodeInvalidEmail},
		{"space in domain", "alice@exa mple.com", "", CodeInvalidEmail},
		{"invalid UTF-8 in domain", "alice@\xff.example", "", CodeInvalidEmail},
		{"replacement character in domain", "alice@\ufffd.example", "", CodeInvalidEmail},
		{"local part of 65", long(65) + "@example.com", "", CodeTooLong},
		{"255 octets", long(64) + "@" + domain189[:len(domain189)-4] + "c.com", "", CodeTooLong},
		{"255 octets once IDNA-encoded", long(64) + "@bücher." + long(63) + "." + long(63) + "." + long(44) + ".com", "", CodeTooLong},
		{"huge", long(5000) + "@example.com", "", CodeTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Email(tt.in)
			checkString(t, got, err, tt.want, tt.code)
			if err == nil {
				again, err := Email(got)
				checkString(t, again, err, got, "")
			}
		})
	}
}

func TestEmailKey(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lower already", "alice@example.com", "alice@example.com"},
		{"local part folded", "Alice.Smith@example.com", "alice.smith@example.com"},
		{"quoted", `"John Doe"@example.com`, `"john doe"@example.com`},
		{"non-ASCII folded fully", "STRAßE@example.com", "strasse@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EmailKey(tt.in); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
	t.Run("same key for case variants", func(t *testing.T) {
		a, _ := Email("Alice@EXAMPLE.com")
		b, _ := Email("aLiCe@example.COM")
		if got, want := EmailKey(a), EmailKey(b); got != want {
			t.Errorf("got %q; want %q", got, want)
		}
	})
}

// TestASCIIHostname checks that the fast path agrees with the IDNA profile
// on the names hostname accepts.
func TestASCIIHostname(t *testing.T) {
	for _, d := range []string{
		"example.com", "EXAMPLE.COM", "Example.Com", "a-b.c-d.example", "a.b", "ex..com",
		".example.com", "example.com.", "-a.com", "a-.com", "ab--cd.com", "xn--bcher-kva.example",
		"XN--BCHER-KVA.example", "xn--abc.com", "1.2.3.4", "a1.b2", strings.Repeat("a", 63) + ".com",
		strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 126) + "com", strings.Repeat("a.", 127) + "com",
	} {
		t.Run(d, func(t *testing.T) {
			got, handled, ok := asciiHostname(d)
			if !handled {
				return
			}
			want, err := idnaProfile.ToASCII(d)
			wantOK := err == nil && isQualified(want)
			if (ok && isQualified(got)) != wantOK || ok && got != want {
				t.Errorf("got %q, %v; IDNA gives %q, %v", got, ok, want, err)
			}
		})
	}
}

func BenchmarkEmail(b *testing.B) {
	for _, bb := range []struct{ name, in string }{
		{"normalized", "alice.smith+news@example.com"},
		{"uppercase", "Alice.Smith@EXAMPLE.COM"},
		{"quoted", `"alice smith"@example.com`},
		{"IDN", "user@Bücher.example"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Email(bb.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
