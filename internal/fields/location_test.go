package fields

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// decode decodes JSON as the HTTP layer does, with json.Number numbers.
func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestLocation(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		lon, lat float64
		code     string
	}{
		{"longitude and latitude", `{"longitude": 2.3522, "latitude": 48.8566}`, 2.3522, 48.8566, ""},
		{"members in other order", `{"latitude": 48.8566, "longitude": 2.3522}`, 2.3522, 48.8566, ""},
		{"GeoJSON Point", `{"type": "Point", "coordinates": [34.05, 18.25]}`, 34.05, 18.25, ""},
		{"GeoJSON members in other order", `{"coordinates": [-1, -2], "type": "Point"}`, -1, -2, ""},
		{"integers", `{"longitude": 10, "latitude": -20}`, 10, -20, ""},
		{"exponent", `{"longitude": 1.5e1, "latitude": -2E-1}`, 15, -0.2, ""},
		{"east and north bounds", `{"longitude": 180, "latitude": 90}`, 180, 90, ""},
		{"west and south bounds", `{"type": "Point", "coordinates": [-180, -90]}`, -180, -90, ""},
		{"negative zero", `{"longitude": -0, "latitude": -0.0}`, 0, 0, ""},

		{"longitude above 180", `{"longitude": 180.000001, "latitude": 0}`, 0, 0, CodeInvalidLocation},
		{"longitude below -180", `{"type": "Point", "coordinates": [-181, 0]}`, 0, 0, CodeInvalidLocation},
		{"latitude above 90", `{"longitude": 0, "latitude": 90.5}`, 0, 0, CodeInvalidLocation},
		{"latitude below -90", `{"type": "Point", "coordinates": [0, -91]}`, 0, 0, CodeInvalidLocation},
		{"swapped GeoJSON order out of range", `{"type": "Point", "coordinates": [48.8566, 200]}`, 0, 0, CodeInvalidLocation},
		{"huge exponent", `{"longitude": 1e400, "latitude": 0}`, 0, 0, CodeInvalidLocation},
		{"empty object", `{}`, 0, 0, CodeInvalidLocation},
		{"missing latitude", `{"longitude": 1}`, 0, 0, CodeInvalidLocation},
		{"extra member", `{"longitude": 1, "latitude": 2, "altitude": 3}`, 0, 0, CodeInvalidLocation},
		{"misspelled member", `{"longitude": 1, "lat": 2}`, 0, 0, CodeInvalidLocation},
		{"short names", `{"lon": 1, "lat": 2}`, 0, 0, CodeInvalidLocation},
		{"GeoJSON with bbox", `{"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2]}`, 0, 0, CodeInvalidLocation},
		{"GeoJSON with altitude", `{"type": "Point", "coordinates": [1, 2, 3]}`, 0, 0, CodeInvalidLocation},
		{"GeoJSON with one coordinate", `{"type": "Point", "coordinates": [1]}`, 0, 0, CodeInvalidLocation},
		{"GeoJSON without type", `{"coordinates": [1, 2], "longitude": 1}`, 0, 0, CodeInvalidLocation},
		{"lower-case type", `{"type": "point", "coordinates": [1, 2]}`, 0, 0, CodeInvalidLocation},
		{"other geometry", `{"type": "LineString", "coordinates": [1, 2]}`, 0, 0, CodeInvalidLocation},
		{"type not a string", `{"type": 1, "coordinates": [1, 2]}`, 0, 0, CodeInvalidLocation},
		{"coordinates an object", `{"type": "Point", "coordinates": {"x": 1, "y": 2}}`, 0, 0, CodeInvalidLocation},
		{"nested position", `{"type": "Point", "coordinates": [[1, 2]]}`, 0, 0, CodeInvalidLocation},
		{"number as string", `{"longitude": "2.35", "latitude": 48.85}`, 0, 0, CodeInvalidLocation},
		{"null coordinate", `{"longitude": null, "latitude": 48.85}`, 0, 0, CodeInvalidLocation},
		{"boolean coordinate", `{"type": "Point", "coordinates": [true, 1]}`, 0, 0, CodeInvalidLocation},
		{"array", `[2.35, 48.85]`, 0, 0, CodeInvalidLocation},
		{"string", `"48.85,2.35"`, 0, 0, CodeInvalidLocation},
		{"null", `null`, 0, 0, CodeInvalidLocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lon, lat, err := Location(decode(t, tt.json))
			checkError(t, err, tt.code)
			if lon != tt.lon || lat != tt.lat {
				t.Errorf("got (%v, %v); want (%v, %v)", lon, lat, tt.lon, tt.lat)
			}
			if math.Signbit(lon) != math.Signbit(tt.lon) || math.Signbit(lat) != math.Signbit(tt.lat) {
				t.Errorf("got signs of (%v, %v); want those of (%v, %v)", lon, lat, tt.lon, tt.lat)
			}
		})
	}
}

// TestLocationGoValues covers values a decoder without UseNumber, or Go
// code, produces.
func TestLocationGoValues(t *testing.T) {
	tests := []struct {
		name     string
		v        any
		lon, lat float64
		code     string
	}{
		{"float64", map[string]any{"longitude": 2.5, "latitude": -3.5}, 2.5, -3.5, ""},
		{"ints", map[string]any{"longitude": 2, "latitude": int64(-3)}, 2, -3, ""},
		{"float64 coordinates", map[string]any{"type": "Point", "coordinates": []float64{1, 2}}, 1, 2, ""},
		{"mixed json.Number and float64", map[string]any{"type": "Point", "coordinates": []any{json.Number("1"), 2.0}}, 1, 2, ""},

		{"NaN", map[string]any{"longitude": math.NaN(), "latitude": 0.0}, 0, 0, CodeInvalidLocation},
		{"+Inf", map[string]any{"longitude": 0.0, "latitude": math.Inf(1)}, 0, 0, CodeInvalidLocation},
		{"-Inf in GeoJSON", map[string]any{"type": "Point", "coordinates": []any{math.Inf(-1), 0.0}}, 0, 0, CodeInvalidLocation},
		{"json.Number NaN", map[string]any{"longitude": json.Number("NaN"), "latitude": json.Number("0")}, 0, 0, CodeInvalidLocation},
		{"json.Number Inf", map[string]any{"longitude": json.Number("0"), "latitude": json.Number("-Inf")}, 0, 0, CodeInvalidLocation},
		{"json.Number hexadecimal", map[string]any{"longitude": json.Number("0x10"), "latitude": json.Number("0")}, 0, 0, CodeInvalidLocation},
		{"json.Number underscore", map[string]any{"longitude": json.Number("1_0"), "latitude": json.Number("0")}, 0, 0, CodeInvalidLocation},
		{"json.Number leading plus", map[string]any{"longitude": json.Number("+1"), "latitude": json.Number("0")}, 0, 0, CodeInvalidLocation},
		{"json.Number leading zero", map[string]any{"longitude": json.Number("01"), "latitude": json.Number("0")}, 0, 0, CodeInvalidLocation},
		{"json.Number empty", map[string]any{"longitude": json.Number(""), "latitude": json.Number("0")}, 0, 0, CodeInvalidLocation},
		{"float64 coordinates with altitude", map[string]any{"type": "Point", "coordinates": []float64{1, 2, 3}}, 0, 0, CodeInvalidLocation},
		{"nil map", map[string]any(nil), 0, 0, CodeInvalidLocation},
		{"nil", nil, 0, 0, CodeInvalidLocation},
		{"other map type", map[string]float64{"longitude": 1, "latitude": 2}, 0, 0, CodeInvalidLocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lon, lat, err := Location(tt.v)
			checkError(t, err, tt.code)
			if lon != tt.lon || lat != tt.lat {
				t.Errorf("got (%v, %v); want (%v, %v)", lon, lat, tt.lon, tt.lat)
			}
		})
	}
}
