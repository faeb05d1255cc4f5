package sqlite

import (
	"database/sql"
	"encoding/json"
	"strings"
	"time"
)

// millis is how times are stored: unix milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis returns the UTC time of ms unix milliseconds.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nullTime is the time of a nullable millisecond column.
func nullTime(ms sql.NullInt64) *time.Time {
	if !ms.Valid {
		return nil
	}
	t := fromMillis(ms.Int64)
	return &t
}

// nullMillis is the column value of an optional time.
func nullMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return millis(*t)
}

// nullIfEmpty maps "" to SQL NULL, so that unset emails and usernames never
// collide in a unique index.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// encodeJSON encodes v for a JSON column.
func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// decodeJSON decodes a JSON column into v. Numbers in untyped values become
// json.Number, so that no digit is lost to float64.
func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return dec.Decode(v)
}

// decodeStrings decodes a JSON column of an array of strings, as
// decodeJSON would. The array json.Marshal writes of plain ASCII strings
// (no escape, no space), as a key's scopes are, is split without the
// reflection of encoding/json: it is read on every request; any other
// text goes to decodeJSON.
func decodeStrings(s string) ([]string, error) {
	if s == "[]" {
		return []string{}, nil
	}
	if len(s) < 4 || s[0] != '[' || s[len(s)-1] != ']' {
		return decodeStringsJSON(s)
	}
	out := make([]string, 0, strings.Count(s, ",")+1)
	rest := s[1 : len(s)-1]
	for {
		if len(rest) < 2 || rest[0] != '"' {
			return decodeStringsJSON(s)
		}
		end := 1
		for end < len(rest) && rest[end] != '"' {
			if c := rest[end]; c < 0x20 || c == '\\' || c >= 0x80 {
				return decodeStringsJSON(s)
			}
			end++
		}
		if end == len(rest) {
			return decodeStringsJSON(s)
		}
		out = append(out, rest[1:end])
		rest = rest[end+1:]
		if rest == "" {
			return out, nil
		}
		if rest[0] != ',' {
			return decodeStringsJSON(s)
		}
		rest = rest[1:]
	}
}

func decodeStringsJSON(s string) ([]string, error) {
	var out []string
	err := decodeJSON(s, &out)
	return out, err
}

// limit returns the LIMIT for n: SQLite's -1 (no limit) when n <= 0.
func limit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// collect scans every row of rows with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// oneRow returns err, or sql.ErrNoRows (which wrapErr makes
// directory.ErrNotFound) if the statement that returned res changed no row.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return sql.ErrNoRows
	}
	return nil
}
