package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/patch"
)

// maxBody is the largest request body Roster reads (§4).
const maxBody = 1 << 20

// Media types of write bodies.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
	mediaJSONPatch  = "application/json-patch+json"
	acceptPatch     = mediaJSON + ", " + mediaMergePatch + ", " + mediaJSONPatch
)

// readBody reads a request body of at most maxBody bytes. It refuses
// compressed bodies: Roster does not inflate what clients send. Every coding
// of every Content-Encoding line counts, as a list may span several.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	for _, line := range r.Header.Values("Content-Encoding") {
		for ce := range strings.SplitSeq(line, ",") {
			if ce = strings.TrimSpace(ce); ce != "" && !strings.EqualFold(ce, "identity") {
				return nil, directory.Errorf(codeUnsupportedMediaType, "Content-Encoding %q is not supported: send the body uncompressed.", ce)
			}
		}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, directory.Errorf(codePayloadTooLarge, "The body is larger than %d bytes.", maxBody)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || (err != nil && r.Context().Err() != nil) {
		return nil, directory.Errorf(codeRequestTimeout, "The body did not arrive before the request's deadline.")
	}
	if err != nil {
		return nil, directory.Errorf(directory.ECodeInvalidRequest, "The body could not be read.")
	}
	return b, nil
}

// mediaType returns the request's media type, lower-cased, without
// parameters. A charset other than UTF-8 is refused.
func mediaType(r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", directory.Errorf(codeUnsupportedMediaType, "The Content-Type header is malformed.")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", directory.Errorf(codeUnsupportedMediaType, "Only UTF-8 bodies are accepted.")
	}
	return mt, nil
}

// requireJSON reads a body that must be application/json.
func requireJSON(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, err := mediaType(r)
	if err != nil {
		return nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if mt != mediaJSON && !(mt == "" && len(bytes.TrimSpace(body)) == 0) {
		return nil, directory.Errorf(codeUnsupportedMediaType, "The body must be application/json.")
	}
	return body, nil
}

// readJSON reads a JSON request body into v, as decodeStrict does.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := requireJSON(w, r)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

// decodeStrict decodes a JSON object body into v, refusing malformed JSON,
// duplicate members, invalid UTF-8 and unknown members.
func decodeStrict(body []byte, v any) error {
	if _, err := patch.Decode(body); err != nil {
		if errors.Is(err, patch.ErrEmpty) {
			return directory.Errorf(directory.ECodeInvalidRequest, "The body must be a JSON object.")
		}
		return directory.Errorf(directory.ECodeInvalidRequest, "The body is not valid JSON: %v.", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	err := dec.Decode(v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return directory.Errorf(directory.ECodeInvalidRequest, "The body must be a JSON object.")
		}
		return &directory.Error{
			Code: directory.ECodeInvalidRequest, Message: "1 field has the wrong JSON type.",
			Fields: []directory.FieldError{{Field: field, Code: "invalid_type", Message: "must be a JSON " + typeErr.Type.Kind().String()}},
		}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return &directory.Error{
			Code: directory.ECodeUnknownField, Message: fmt.Sprintf("Unknown member %q.", field),
			Fields: []directory.FieldError{{Field: field, Code: directory.ECodeUnknownField, Message: "is not a known member"}},
		}
	}
	return directory.Errorf(directory.ECodeInvalidRequest, "The body does not have the expected shape.")
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("httpapi: encode response: %v", err)) // observe turns it into a 500
	}
	writeBody(w, status, body)
}

// writeBody answers body, which is JSON.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// listPage is a page of a list (§3): newest first, with an opaque cursor.
type listPage struct {
	Object     string  `json:"object"`
	Data       []any   `json:"data"`
	HasMore    bool    `json:"has_more"`
	NextCursor *string `json:"next_cursor"`
}

// page builds a list page from up to limit+1 items: the extra one only says
// that there is more.
func page[T any](items []T, limit int, id func(T) string, render func(T) any) listPage {
	p := listPage{Object: "list", Data: make([]any, 0, min(len(items), limit))}
	if len(items) > limit {
		items = items[:limit]
		c := base64.RawURLEncoding.EncodeToString([]byte(id(items[limit-1])))
		p.HasMore, p.NextCursor = true, &c
	}
	for _, it := range items {
		p.Data = append(p.Data, render(it))
	}
	return p
}
