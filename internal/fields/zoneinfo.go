package fields

import (
	"strings"
	"sync"
	"time"

	// Embeds the IANA database (about 450 KB) so that Zoneinfo accepts the
	// same names on a host without /usr/share/zoneinfo, as in a scratch
	// container running the static binary.
	_ "time/tzdata"
)

var errZoneinfo = fail(CodeInvalidZoneinfo,
	"must be an IANA time zone name such as Europe/Paris")

// zoneCache remembers the names that loaded, since time.LoadLocation reads
// and parses a file on every call. Only valid names are stored, so it holds
// at most the few hundred zones of the database.
var zoneCache sync.Map // string → struct{}

// Zoneinfo validates an IANA time zone name such as "Europe/Paris" and
// returns it unchanged.
//
// The name must load with time.LoadLocation, from the system database or the
// copy embedded in this package with time/tzdata. Names are case-sensitive,
// and links ("Asia/Calcutta", "US/Pacific", "UTC") are kept as given.
// Rejected before any lookup: "" and "Local" (which mean the server's zone),
// names with characters other than A-Z a-z 0-9 . _ + - and /, absolute or
// relative paths (leading "/", empty, "." or ".." components), names of more
// than 64 characters, and the system files that are not zones of their own:
// "localtime", "posixrules", "Factory" and the "posix/" and "right/" trees.
//
// Returns CodeInvalidZoneinfo.
func Zoneinfo(s string) (string, *Error) {
	if _, ok := zoneCache.Load(s); ok {
		return s, nil
	}
	if !zoneNameSyntax(s) {
		return "", new(errZoneinfo)
	}
	switch s {
	case "Local", "localtime", "posixrules", "Factory":
		return "", new(errZoneinfo)
	}
	if strings.HasPrefix(s, "posix/") || strings.HasPrefix(s, "right/") {
		return "", new(errZoneinfo)
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", new(errZoneinfo)
	}
	zoneCache.Store(s, struct{}{})
	return s, nil
}

// zoneNameSyntax reports whether s has the form of a tz database name:
// "/"-separated components of A-Z a-z 0-9 . _ + -, none empty, "." or "..".
func zoneNameSyntax(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for part := range strings.SplitSeq(s, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
				c == '.' || c == '_' || c == '+' || c == '-') {
				return false
			}
		}
	}
	return true
}
