package postgres

import (
	"bytes"
	"encoding/json"
	"time"
)

// ts is how a time is written: truncated to the millisecond, the precision
// Roster keeps (timestamptz would keep microseconds), so that it comes back
// as the SQLite store returns it.
func ts(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// tsPtr is ts for an optional time; nil is NULL.
func tsPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// utcPtr returns *t in UTC, or nil. pgx reads timestamptz in the local zone.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC()
	return &v
}

// nullIfEmpty maps "" to NULL, so that unset emails and usernames never
// collide in a unique index.
func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// fromNull maps NULL to "".
func fromNull(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// encodeJSON encodes v for a text JSON column.
func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// encodeObject encodes a map for a nullable JSON column: a nil map is NULL,
// so that nil and empty both come back as they went in.
func encodeObject(m map[string]any) (*string, error) {
	if m == nil {
		return nil, nil
	}
	s, err := encodeJSON(m)
	return &s, err
}

// decodeJSON decodes a JSON column into v. Numbers in untyped values become
// json.Number, so that no digit is lost to float64.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// decodeObject decodes a nullable JSON object column; NULL is a nil map.
func decodeObject(s *string) (map[string]any, error) {
	if s == nil {
		return nil, nil
	}
	var m map[string]any
	err := decodeJSON([]byte(*s), &m)
	return m, err
}

// limit returns the LIMIT for n: NULL, no limit, when n <= 0.
func limit(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}
