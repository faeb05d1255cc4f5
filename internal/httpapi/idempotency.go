package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roster-dev/roster/internal/directory"
)

// maxIdempotencyKey is the longest Idempotency-Key accepted, in characters.
const maxIdempotencyKey = 255

// Sealer seals the stored answers replayed to an Idempotency-Key's retries:
// some carry a secret shown once (a key's token, a signing secret).
// internal/secretbox's Box is one.
type Sealer interface {
	Seal(plain, aad string) string
	Open(stored, aad string) (plain string, current bool, err error)
}

// replayedHeaders are the headers of an answer that are part of it, and are
// stored and replayed with its status and body. The others (X-Request-ID,
// X-RateLimit-*) describe the retry, which sets its own.
var replayedHeaders = []string{
	"Content-Type", "ETag", "Location", "Last-Modified", "Roster-Dry-Run", "Retry-After", "Accept-Patch", "Allow",
	"X-Quota-Writes-Used", "X-Quota-Writes-Limit", "X-Quota-Active-Users", "X-Quota-Active-Users-Limit", "X-Quota-Reset",
}

// fingerprintHeaders are the request headers that change what a write does:
// a retry must send them as the first request did.
var fingerprintHeaders = []string{"Content-Type", "Content-Encoding", "If-Match", "If-None-Match", "X-Acting-User"}

// idempotent serves next under the request's Idempotency-Key, if it has one
// (§ Idempotency-Key in docs/api.md): the first request with a key runs and
// its final answer (below 500) is stored for directory.IdempotencyTTL; a
// retry with the same key and the same request gets that answer again with
// Idempotent-Replayed: true, and nothing runs; the same key with another
// request is 422; a retry while the first runs is 409. A 5xx is not stored,
// so that a retry runs the request again. Keys are scoped by the tenant the
// request acts in, "" for the platform routes. A running entry older than
// stale was left by a node that died and is taken over. A nil sealer turns
// the header off: answers are never stored in plaintext.
func idempotent(svc *directory.Service, sealer Sealer, stale time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, sent := r.Header["Idempotency-Key"]
		if !sent || sealer == nil || r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		key, err := parseIdempotencyKey(raw[0])
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		body, whole := peekBody(r)
		if !whole {
			// Too large or unreadable: the route refuses it, and a refusal
			// of the body's transport is not the answer to keep.
			next.ServeHTTP(w, r)
			return
		}
		tenantID := ""
		if t := tenantFrom(r.Context()); t != nil {
			tenantID = t.ID
		}
		now := directory.Now()
		e := &directory.IdempotencyEntry{
			TenantID: tenantID, Key: key, Fingerprint: fingerprint(r, body),
			Claim: directory.NewIdempotencyClaim(), CreatedAt: now, ExpiresAt: now.Add(directory.IdempotencyTTL),
		}
		held, err := svc.ClaimIdempotency(r.Context(), e, now.Add(-stale))
		switch {
		case err != nil:
			writeProblem(w, r, err)
			return
		case held.Claim != e.Claim && !bytes.Equal(held.Fingerprint, e.Fingerprint):
			writeProblem(w, r, directory.Errorf(codeIdempotencyKeyReused, "Idempotency-Key is already used for a different request payload."))
			return
		case held.Claim != e.Claim && !held.Done:
			writeProblem(w, r, &directory.Error{Code: codeIdempotencyKeyInUse, Message: "A request is outstanding for this Idempotency-Key: retry when it is answered.", RetryAfter: time.Second})
			return
		case held.Claim != e.Claim:
			replay(w, r, sealer, held)
			return
		}

		rec := &recorder{ResponseWriter: w}
		final := false
		defer func() {
			// A panic, or an answer not to keep: free the key for a retry.
			// A final answer that could not be stored keeps the claim, as
			// its write may have committed: the claim goes stale instead.
			if !final {
				ctx, cancel := afterRequest(r)
				defer cancel()
				if err := svc.ReleaseIdempotency(ctx, tenantID, key, e.Claim); err != nil {
					requestInfoFrom(r.Context()).log().Warn("idempotency key not released", slog.String("error", err.Error()))
				}
			}
		}()
		next.ServeHTTP(rec, r)
		if rec.status >= 500 || rec.overflow {
			return
		}
		final = true
		hdr, _ := json.Marshal(rec.header) // a map of strings always encodes
		e.Status, e.Header = rec.statusOrOK(), hdr
		e.Body = []byte(sealer.Seal(rec.body.String(), idempotencyAAD(tenantID, key)))
		e.UserID = answerUser(r, rec.header)
		ctx, cancel := afterRequest(r)
		defer cancel()
		if err := svc.CompleteIdempotency(ctx, e); err != nil {
			requestInfoFrom(r.Context()).log().Warn("idempotency key answer not stored", slog.String("error", err.Error()))
		}
	})
}

// afterRequest is the context of the bookkeeping done once the request is
// answered: its deadline may have passed, and a key left claimed would make
// every retry wait for the claim to go stale.
func afterRequest(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
}

// replay answers the stored answer of e.
func replay(w http.ResponseWriter, r *http.Request, sealer Sealer, e *directory.IdempotencyEntry) {
	var hdr map[string]string
	body, _, err := sealer.Open(string(e.Body), idempotencyAAD(e.TenantID, e.Key))
	if err == nil {
		err = json.Unmarshal(e.Header, &hdr)
	}
	if err != nil {
		writeProblem(w, r, errors.New("open the stored answer of an idempotency key: "+err.Error()))
		return
	}
	h := w.Header()
	for name, v := range hdr {
		h.Set(name, v)
	}
	h.Set("Idempotent-Replayed", "true")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	io.WriteString(w, body)
}

// idempotencyAAD binds a sealed answer to its tenant and key, so that one
// cannot be moved to another's row.
func idempotencyAAD(tenantID, key string) string { return "idempotency:" + tenantID + ":" + key }

// parseIdempotencyKey returns the key an Idempotency-Key field carries: a
// Structured Field sf-string (RFC 8941 §3.3.3) without parameters, not
// empty, at most maxIdempotencyKey characters. The draft's form is the
// quoted string; a bare key of visible ASCII characters but '"', '\', ','
// and ';' is taken as the same key quoted, as many clients (Roster's own
// Go client among them) send one so, and it cannot be read two ways.
func parseIdempotencyKey(field string) (string, error) {
	bad := func(msg string) error {
		return &directory.Error{Code: directory.ECodeInvalidRequest, Message: "The Idempotency-Key header is invalid: " + msg + ".",
			Fields: []directory.FieldError{{Field: "Idempotency-Key", Code: "invalid", Message: msg}}}
	}
	s := strings.Trim(field, " ")
	if s != "" && s[0] != '"' {
		if strings.ContainsFunc(s, func(c rune) bool { return c <= 0x20 || c >= 0x7f || strings.ContainsRune(`"\,;`, c) }) {
			return "", bad(`must be a quoted string, such as "8e03978e-40d5-43e8-bc93-6894a57f9324"`)
		}
		s = `"` + s + `"`
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", bad(`must be a quoted string, such as "8e03978e-40d5-43e8-bc93-6894a57f9324"`)
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s)-1 && (s[i+1] == '"' || s[i+1] == '\\'):
			i++
			b.WriteByte(s[i])
		case c == '\\' || c == '"':
			return "", bad(`must be a quoted string: escape " and \ with \`)
		case c < 0x20 || c > 0x7e:
			return "", bad("must hold printable ASCII characters only")
		default:
			b.WriteByte(c)
		}
	}
	key := b.String()
	switch {
	case key == "":
		return "", bad("must not be empty")
	case len(key) > maxIdempotencyKey:
		return "", bad("must be at most " + strconv.Itoa(maxIdempotencyKey) + " characters")
	}
	return key, nil
}

// peekBody reads the request's body for its fingerprint and puts it back
// for the route. whole is false when it could not be read whole within
// maxBody bytes; the route then reads what is left as it would have.
func peekBody(r *http.Request) (body []byte, whole bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(b) > maxBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, true
}

// fingerprint identifies a request: its method, path and query, the
// headers that change its meaning, and its body. Each part is prefixed by
// its length, so that no two requests have one encoding.
func fingerprint(r *http.Request, body []byte) []byte {
	h := sha256.New()
	part := func(s []byte) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(s))))
		h.Write(s)
	}
	part([]byte(r.Method))
	part([]byte(r.URL.EscapedPath()))
	part([]byte(r.URL.RawQuery))
	for _, name := range fingerprintHeaders {
		part([]byte(strings.Join(r.Header.Values(name), "\n")))
	}
	part(body)
	return h.Sum(nil)
}

// maxStoredAnswer bounds the answer kept for a replay; a larger one is
// answered but not kept (no write route answers one).
const maxStoredAnswer = 1 << 20

// recorder passes an answer through and keeps a copy of its status, its
// replayedHeaders and its body.
type recorder struct {
	http.ResponseWriter
	status   int
	header   map[string]string
	body     bytes.Buffer
	overflow bool
}

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
		rec.header = map[string]string{}
		h := rec.ResponseWriter.Header()
		for _, name := range replayedHeaders {
			if v := h.Get(name); v != "" {
				rec.header[name] = v
			}
		}
	}
	rec.ResponseWriter.WriteHeader(status)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.body.Len()+len(p) > maxStoredAnswer {
		rec.overflow = true
	} else if !rec.overflow {
		rec.body.Write(p)
	}
	return rec.ResponseWriter.Write(p)
}

func (rec *recorder) statusOrOK() int {
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}

// Unwrap lets http.ResponseController reach the connection.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// answerUser is the user an answer is about, whose purge must delete it: the
// user of a /v1/users/{id}… route, or the one a create made (its Location).
func answerUser(r *http.Request, header map[string]string) string {
	for _, p := range []string{r.URL.Path, header["Location"]} {
		if rest, ok := strings.CutPrefix(p, "/v1/users/"); ok {
			id, _, _ := strings.Cut(rest, "/")
			if directory.ValidID(directory.PrefixUser, id) {
				return id
			}
		}
	}
	return ""
}
