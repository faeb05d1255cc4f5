package fields

import (
	"testing"
	"time"
)

func TestBirthdate(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in, want, code string
	}{
		{"date", "1990-01-01", "1990-01-01", ""},
		{"Feb 29 in leap year", "2024-02-29", "2024-02-29", ""},
		{"Feb 29 in 2000 (divisible by 400)", "2000-02-29", "2000-02-29", ""},
		{"Apr 30", "1990-04-30", "1990-04-30", ""},
		{"Dec 31", "1990-12-31", "1990-12-31", ""},
		{"first allowed", "1900-01-01", "1900-01-01", ""},
		{"today", "2026-03-15", "2026-03-15", ""},
		{"midnight UTC", "1990-01-01T00:00:00Z", "1990-01-01", ""},
		{"midnight UTC with milliseconds", "1990-01-01T00:00:00.000Z", "1990-01-01", ""},
		{"midnight UTC lower case", "1990-01-01t00:00:00z", "1990-01-01", ""},
		{"midnight UTC as +00:00", "1990-01-01T00:00:00+00:00", "1990-01-01", ""},
		{"midnight UTC in +02:00", "1990-01-01T02:00:00+02:00", "1990-01-01", ""},
		{"midnight UTC in -05:00, previous local day", "1989-12-31T19:00:00-05:00", "1990-01-01", ""},
		{"midnight UTC today", "2026-03-15T00:00:00Z", "2026-03-15", ""},

		{"empty", "", "", CodeInvalidDate},
		{"Feb 29 in common year", "2023-02-29", "", CodeInvalidDate},
		{"Feb 29 in 1900 (divisible by 100)", "1900-02-29", "", CodeInvalidDate},
		{"Feb 30", "2024-02-30", "", CodeInvalidDate},
		{"Apr 31", "1990-04-31", "", CodeInvalidDate},
		{"month 13", "1990-13-01", "", CodeInvalidDate},
		{"month 0", "1990-00-10", "", CodeInvalidDate},
		{"day 0", "1990-01-00", "", CodeInvalidDate},
		{"day 32", "1990-01-32", "", CodeInvalidDate},
		{"no zero padding", "1990-1-1", "", CodeInvalidDate},
		{"two-digit year", "90-01-01", "", CodeInvalidDate},
		{"slashes", "1990/01/01", "", CodeInvalidDate},
		{"day first", "01-01-1990", "", CodeInvalidDate},
		{"surrounding space", " 1990-01-01", "", CodeInvalidDate},
		{"fullwidth digits", "１９９０-01-01", "", CodeInvalidDate},
		{"sign", "+1990-01-01", "", CodeInvalidDate},
		{"not midnight", "1990-01-01T00:00:01Z", "", CodeInvalidDate},
		{"one millisecond past midnight", "1990-01-01T00:00:00.001Z", "", CodeInvalidDate},
		{"local midnight, not UTC", "1990-01-01T00:00:00+02:00", "", CodeInvalidDate},
		{"no offset", "1990-01-01T00:00:00", "", CodeInvalidDate},
		{"space for T", "1990-01-01 00:00:00Z", "", CodeInvalidDate},
		{"hour 24", "1990-01-01T24:00:00Z", "", CodeInvalidDate},
		{"timestamp on Feb 30", "2024-02-30T00:00:00Z", "", CodeInvalidDate},

		{"1899", "1899-12-31", "", CodeDateTooEarly},
		{"year 0001", "0001-01-01", "", CodeDateTooEarly},
		{"midnight UTC in 1899", "1899-12-31T00:00:00Z", "", CodeDateTooEarly},
		{"tomorrow", "2026-03-16", "", CodeDateInFuture},
		{"next month", "2026-04-01", "", CodeDateInFuture},
		{"next year", "2027-01-01", "", CodeDateInFuture},
		{"tomorrow as timestamp", "2026-03-16T00:00:00Z", "", CodeDateInFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Birthdate(tt.in, now)
			checkString(t, got, err, tt.want, tt.code)
		})
	}

	t.Run("today is the UTC date of now", func(t *testing.T) {
		// 23:30 in New York on the 15th is the 16th in UTC.
		now := time.Date(2026, 3, 15, 23, 30, 0, 0, time.FixedZone("EST", -5*3600))
		got, err := Birthdate("2026-03-16", now)
		checkString(t, got, err, "2026-03-16", "")
	})
}

func TestConsentedAt(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name, in string
		want     time.Time
		code     string
	}{
		{"past", "2026-03-15T09:00:00Z", time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC), ""},
		{"now", "2026-03-15T10:00:00Z", now, ""},
		{"within clock skew", "2026-03-15T10:05:00Z", time.Date(2026, 3, 15, 10, 5, 0, 0, time.UTC), ""},
		{"offset converted to UTC", "2026-03-15T10:30:00+01:00", time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC), ""},
		{"negative offset", "2026-03-15T04:00:00-05:30", time.Date(2026, 3, 15, 9, 30, 0, 0, time.UTC), ""},
		{"truncated to milliseconds", "2026-03-15T09:00:00.123987654Z", time.Date(2026, 3, 15, 9, 0, 0, 123e6, time.UTC), ""},
		{"one fractional digit", "2026-03-15T09:00:00.5Z", time.Date(2026, 3, 15, 9, 0, 0, 500e6, time.UTC), ""},
		{"lower case t and z", "2026-03-15t09:00:00z", time.Date(2026, 3, 15, 9, 0, 0, 0, time.UTC), ""},
		{"long ago", "1999-12-31T23:59:59Z", time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), ""},

		{"epoch", "1970-01-01T00:00:00Z", time.Unix(0, 0).UTC(), ""},
		{"before the epoch", "1969-12-31T23:59:59.999Z", time.Time{}, CodeDateTooEarly},
		{"Go zero time", "0001-01-01T00:00:00Z", time.Time{}, CodeDateTooEarly},
		{"year 0 with offset", "0000-01-01T00:00:00+00:01", time.Time{}, CodeDateTooEarly},
		{"beyond clock skew", "2026-03-15T10:05:00.001Z", time.Time{}, CodeDateInFuture},
		{"next year", "2027-01-01T00:00:00Z", time.Time{}, CodeDateInFuture},
		{"empty", "", time.Time{}, CodeInvalidTimestamp},
		{"date only", "2026-03-15", time.Time{}, CodeInvalidTimestamp},
		{"no offset", "2026-03-15T09:00:00", time.Time{}, CodeInvalidTimestamp},
		{"space for T", "2026-03-15 09:00:00Z", time.Time{}, CodeInvalidTimestamp},
		{"offset without colon", "2026-03-15T09:00:00+0100", time.Time{}, CodeInvalidTimestamp},
		{"offset of 24 hours", "2026-03-15T09:00:00+24:00", time.Time{}, CodeInvalidTimestamp},
		{"comma decimal", "2026-03-15T09:00:00,5Z", time.Time{}, CodeInvalidTimestamp},
		{"empty fraction", "2026-03-15T09:00:00.Z", time.Time{}, CodeInvalidTimestamp},
		{"hour 24", "2026-03-15T24:00:00Z", time.Time{}, CodeInvalidTimestamp},
		{"leap second", "2016-12-31T23:59:60Z", time.Time{}, CodeInvalidTimestamp},
		{"Feb 30", "2024-02-30T09:00:00Z", time.Time{}, CodeInvalidTimestamp},
		{"Unix seconds", "1773568800", time.Time{}, CodeInvalidTimestamp},
		{"trailing garbage", "2026-03-15T09:00:00Zabc", time.Time{}, CodeInvalidTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConsentedAt(tt.in, now)
			checkError(t, err, tt.code)
			if !got.Equal(tt.want) {
				t.Errorf("got %v; want %v", got, tt.want)
			}
			if err == nil && got.Location() != time.UTC {
				t.Errorf("got location %v; want UTC", got.Location())
			}
		})
	}
}

func TestConsentMethod(t *testing.T) {
	tests := []struct {
		name, in, want, code string
	}{
		{"opt-in", "opt-in", "opt-in", ""},
		{"text-ref", "text-ref", "text-ref", ""},
		{"empty", "", "", CodeInvalidConsent},
		{"capitalized", "Opt-In", "", CodeInvalidConsent},
		{"no hyphen", "optin", "", CodeInvalidConsent},
		{"underscore", "text_ref", "", CodeInvalidConsent},
		{"padded", " opt-in", "", CodeInvalidConsent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConsentMethod(tt.in)
			checkString(t, got, err, tt.want, tt.code)
		})
	}
}
