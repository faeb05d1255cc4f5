package fields

import (
	"encoding/json"
	"math"
	"strconv"
)

var (
	errLocationShape = fail(CodeInvalidLocation,
		`must be {"longitude": x, "latitude": y} or a GeoJSON Point {"type": "Point", "coordinates": [x, y]}`)
	errLocationNumber = fail(CodeInvalidLocation, "must have finite numbers as coordinates")
	errLongitude      = fail(CodeInvalidLocation, "must have a longitude between -180 and 180")
	errLatitude       = fail(CodeInvalidLocation, "must have a latitude between -90 and 90")
)

// Location validates a location given as a decoded JSON value and returns its
// longitude and latitude in degrees (WGS 84).
//
// v must be a map[string]any holding exactly the members of one of two forms:
//
//	{"longitude": -1.55, "latitude": 47.22}
//	{"type": "Point", "coordinates": [-1.55, 47.22]}
//
// The GeoJSON form takes exactly two coordinates, longitude first: a third
// one (altitude) is rejected rather than silently dropped. Numbers may be
// json.Number (from a decoder with UseNumber) or float64, and for Go callers
// any integer or float32; they must be finite, with −180 ≤ longitude ≤ 180
// and −90 ≤ latitude ≤ 90. A negative zero is returned as zero.
//
// Returns CodeInvalidLocation.
func Location(v any) (lon, lat float64, err *Error) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 2 {
		return 0, 0, new(errLocationShape)
	}
	var x, y any
	if t, ok := m["type"]; ok {
		c, ok := m["coordinates"]
		if !ok || t != "Point" {
			return 0, 0, new(errLocationShape)
		}
		switch c := c.(type) {
		case []any:
			if len(c) != 2 {
				return 0, 0, new(errLocationShape)
			}
			x, y = c[0], c[1]
		case []float64:
			if len(c) != 2 {
				return 0, 0, new(errLocationShape)
			}
			x, y = c[0], c[1]
		default:
			return 0, 0, new(errLocationShape)
		}
	} else {
		var ok1, ok2 bool
		x, ok1 = m["longitude"]
		y, ok2 = m["latitude"]
		if !ok1 || !ok2 {
			return 0, 0, new(errLocationShape)
		}
	}
	lon, ok1 := number(x)
	lat, ok2 := number(y)
	switch {
	case !ok1 || !ok2:
		return 0, 0, new(errLocationNumber)
	case lon < -180 || lon > 180:
		return 0, 0, new(errLongitude)
	case lat < -90 || lat > 90:
		return 0, 0, new(errLatitude)
	}
	// -0 + 0 is +0: a negative zero would be encoded as "-0".
	return lon + 0, lat + 0, nil
}

// number converts a decoded JSON number to a finite float64.
func number(v any) (float64, bool) {
	var f float64
	switch n := v.(type) {
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(n), 64); err != nil || !isJSONNumber(string(n)) {
			return 0, false
		}
	case float64:
		f = n
	case float32:
		f = float64(n)
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	case int32:
		f = float64(n)
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// isJSONNumber reports whether s has the JSON number grammar (RFC 8259 §6),
// which strconv.ParseFloat extends with "NaN", "Inf", hexadecimal and
// underscores: a json.Number built in Go need not come from a decoder.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(s)
}
