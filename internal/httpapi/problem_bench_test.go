package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/roster-dev/roster/internal/directory"
)

// BenchmarkWriteProblem measures the rendering of an error answer: a 422
// listing two failing fields, a 404, and an internal error, which is also
// logged (to a discarding JSON handler).
func BenchmarkWriteProblem(b *testing.B) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	info := &requestInfo{id: "01JDQ3Z8K9W2V4X6Y8Z0A2B4C6", logger: log}
	r := httptest.NewRequest("PATCH", "/v1/users/usr_01JDQ3Z8K9W2V4X6Y8Z0A2B4C6", nil)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, info))
	for _, c := range []struct {
		name string
		err  error
	}{
		{"validation", &directory.Error{Code: directory.ECodeValidationFailed, Message: "2 fields are invalid.", Fields: []directory.FieldError{
			{Field: "country", Code: "invalid_country", Message: "is not an assigned ISO 3166-1 alpha-2 code"},
			{Field: "birthdate", Code: "invalid_date", Message: "is in the future"},
		}}},
		{"not-found", directory.ErrNotFound},
		{"internal", errors.New("sqlite: update user: disk I/O error")},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				writeProblem(w, r, c.err)
			}
		})
	}
}
