package fields

import "time"

// ConsentClockSkew is how far in the future a consent time may be, to allow
// for clients whose clocks run a little ahead of the server's.
const ConsentClockSkew = 5 * time.Minute

// MinBirthYear is the earliest year of a birthdate.
const MinBirthYear = 1900

// minConsentTime is the earliest consent time: anything before the Unix epoch
// is a client bug, such as Go's zero time.Time (0001-01-01T00:00:00Z).
var minConsentTime = time.Unix(0, 0)

// Consent methods.
const (
	ConsentOptIn   = "opt-in"
	ConsentTextRef = "text-ref"
)

var (
	errBirthdate = fail(CodeInvalidDate,
		"must be a calendar date in YYYY-MM-DD form, or an RFC 3339 timestamp at midnight UTC")
	errBirthdateEarly  = fail(CodeDateTooEarly, "must be on or after 1900-01-01")
	errBirthdateFuture = fail(CodeDateInFuture, "must not be in the future")
	errTimestamp       = fail(CodeInvalidTimestamp,
		"must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z")
	errConsentFuture = fail(CodeDateInFuture, "must not be in the future")
	errConsentEarly  = fail(CodeDateTooEarly, "must not be before 1970-01-01T00:00:00Z")
	errConsentMethod = fail(CodeInvalidConsent, `must be "opt-in" or "text-ref"`)
)

// Birthdate validates a birthdate and returns it as YYYY-MM-DD.
//
// It accepts a date "YYYY-MM-DD", or an RFC 3339 timestamp whose instant is
// exactly midnight UTC ("1990-01-01T00:00:00Z", "1990-01-01T00:00:00.000Z",
// "1990-01-01T02:00:00+02:00"), which is normalized to that UTC date; any
// other time of day is rejected rather than guessed at. The date must exist
// (no February 29 outside leap years), be in 1900 or later, and not be after
// now's UTC date (a birthdate of today is allowed).
//
// Returns CodeInvalidDate, CodeDateTooEarly or CodeDateInFuture.
func Birthdate(s string, now time.Time) (string, *Error) {
	var y, m, d int
	if len(s) == len("2006-01-02") {
		var ok bool
		if y, m, d, ok = parseDate(s); !ok {
			return "", new(errBirthdate)
		}
	} else {
		t, ok := parseRFC3339(s)
		if !ok {
			return "", new(errBirthdate)
		}
		t = t.UTC()
		if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
			return "", new(errBirthdate)
		}
		var month time.Month
		y, month, d = t.Date()
		m = int(month)
	}
	if y < MinBirthYear {
		return "", new(errBirthdateEarly)
	}
	ny, nm, nd := now.UTC().Date()
	if y > ny || y == ny && (m > int(nm) || m == int(nm) && d > nd) {
		return "", new(errBirthdateFuture)
	}
	if len(s) == len("2006-01-02") {
		return s, nil
	}
	b := make([]byte, 0, 10)
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, m, 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	return string(b), nil
}

// ConsentMethod validates a consent method: exactly "opt-in" or "text-ref"
// (case-sensitive). Returns the method, or CodeInvalidConsent.
func ConsentMethod(s string) (string, *Error) {
	if s != ConsentOptIn && s != ConsentTextRef {
		return "", new(errConsentMethod)
	}
	return s, nil
}

// ConsentedAt validates the time consent was given and returns it in UTC,
// truncated to the millisecond (the precision of every Roster timestamp).
//
// It accepts an RFC 3339 timestamp with a time-offset ("Z" or ±hh:mm; "T" and
// "Z" may be lower case; fractional seconds of any length; no leap second).
// The time must not be later than now plus ConsentClockSkew (5 minutes), nor
// earlier than 1970-01-01T00:00:00Z: such a time is a client bug, such as an
// unset Go time.Time sent as 0001-01-01T00:00:00Z.
//
// Returns CodeInvalidTimestamp, CodeDateInFuture or CodeDateTooEarly.
func ConsentedAt(s string, now time.Time) (time.Time, *Error) {
	t, ok := parseRFC3339(s)
	if !ok {
		return time.Time{}, new(errTimestamp)
	}
	if t.Before(minConsentTime) {
		return time.Time{}, new(errConsentEarly)
	}
	if t.After(now.Add(ConsentClockSkew)) {
		return time.Time{}, new(errConsentFuture)
	}
	return t.UTC().Truncate(time.Millisecond), nil
}

// parseDate parses a full-date (RFC 3339 §5.6) and checks that it exists.
func parseDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// parseRFC3339 parses an RFC 3339 date-time strictly: unlike time.Parse, it
// rejects offsets of 24 hours or more and comma decimal separators.
func parseRFC3339(s string) (time.Time, bool) {
	// 2006-01-02T15:04:05[.frac]Z
	if len(s) < len("2006-01-02T15:04:05Z") {
		return time.Time{}, false
	}
	y, m, d, ok := parseDate(s[:10])
	if !ok || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	hh, ok1 := digits(s[11:13])
	mm, ok2 := digits(s[14:16])
	ss, ok3 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		frac := rest[1:n]
		if frac == "" {
			return time.Time{}, false
		}
		for i := 0; i < 9; i++ {
			nsec *= 10
			if i < len(frac) {
				nsec += int(frac[i] - '0')
			}
		}
		rest = rest[n:]
	}
	offset := 0
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = (oh*60 + om) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, hh, mm, ss, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// digits parses a run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, s != ""
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func appendDigits(b []byte, n, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[:width]...)
}
