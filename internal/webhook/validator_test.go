package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/roster-dev/roster/internal/directory"
)

// endpointsOf returns an EndpointLister serving eps for tenant "ten_1".
func endpointsOf(eps ...*directory.Endpoint) EndpointLister {
	return func(_ context.Context, tenantID string) ([]*directory.Endpoint, error) {
		if tenantID != "ten_1" {
			return nil, fmt.Errorf("unexpected tenant %q", tenantID)
		}
		return eps, nil
	}
}

// updateRequest is an update of ten_1's user usr_1.
func updateRequest() directory.HookRequest {
	return directory.HookRequest{
		Tenant:        &directory.Tenant{ID: "ten_1"},
		Action:        directory.CedarUpdateUser,
		Before:        map[string]any{"id": "usr_1", "name": "Alice", "metadata": map[string]any{"theme": "dark"}},
		After:         map[string]any{"id": "usr_1", "name": "Alice Smith", "metadata": map[string]any{"theme": "dark"}},
		ChangedFields: []string{"name"},
	}
}

// errorCode returns the code of err's *directory.Error, or fails.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var de *directory.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *directory.Error", err, err)
	}
	return de.Code
}

func TestValidatorAllowSendsSignedPayload(t *testing.T) {
	rc := newReceiver(t, answerJSON(200, `{"allow": true}`))
	v := NewValidator(endpointsOf(rc.endpoint("whe_1", directory.EndpointValidation)), NewClient(true), nil)

	req := updateRequest()
	// A secure_metadata member that sneaked into a document is not sent.
	req.After["secure_metadata"] = map[string]any{"ssn": "123-45-6789"}
	req.Before["secure_metadata"] = map[string]any{"ssn": "000-00-0000"}
	req.ChangedFields = []string{"secure_metadata", "name"}
	if err := v.Validate(context.Background(), req); err != nil {
		t.Fatalf("Validate = %v, want nil", err)
	}
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.VerifyErr != nil {
		t.Fatalf("reference library: %v", r.VerifyErr)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if bytes.Contains(r.Body, []byte("secure_metadata")) || bytes.Contains(r.Body, []byte("123-45-6789")) {
		t.Fatalf("payload carries secure_metadata: %s", r.Body)
	}
	if _, ok := req.After["secure_metadata"]; !ok || req.ChangedFields[0] != "secure_metadata" {
		t.Error("Validate modified the caller's request")
	}

	var p struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			Action        string         `json:"action"`
			Before        map[string]any `json:"before"`
			After         map[string]any `json:"after"`
			ChangedFields []string       `json:"changed_fields"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("payload %s: %v", r.Body, err)
	}
	if p.Type != TypeValidate || p.Data.Action != directory.EventUserUpdated {
		t.Errorf("type %q, action %q", p.Type, p.Data.Action)
	}
	if p.ID == "" || p.ID != r.Header.Get(HeaderID) {
		t.Errorf("id %q, webhook-id %q: want the same", p.ID, r.Header.Get(HeaderID))
	}
	if ts, err := time.Parse(time.RFC3339, p.Timestamp); err != nil || time.Since(ts) > time.Minute {
		t.Errorf("timestamp %q: %v", p.Timestamp, err)
	}
	want := updateRequest()
	if !reflect.DeepEqual(p.Data.Before, want.Before) {
		t.Errorf("before = %v, want %v", p.Data.Before, want.Before)
	}
	if !reflect.DeepEqual(p.Data.After, want.After) {
		t.Errorf("after = %v, want %v", p.Data.After, want.After)
	}
	if !reflect.DeepEqual(p.Data.ChangedFields, want.ChangedFields) {
		t.Errorf("changed_fields = %v, want %v", p.Data.ChangedFields, want.ChangedFields)
	}
}

func TestValidatorCreateSendsNullBefore(t *testing.T) {
	rc := newReceiver(t, answerJSON(200, `{"allow": true}`))
	v := NewValidator(endpointsOf(rc.endpoint("whe_1", directory.EndpointValidation)), NewClient(true), nil)
	req := directory.HookRequest{
		Tenant: &directory.Tenant{ID: "ten_1"}, Action: directory.CedarCreateUser,
		After: map[string]any{"email": "a@example.com"},
	}
	if err := v.Validate(context.Background(), req); err != nil {
		t.Fatalf("Validate = %v", err)
	}
	var p struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(rc.requests()[0].Body, &p); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"action": `"user.created"`, "before": `null`, "changed_fields": `[]`, "after": `{"email":"a@example.com"}`} {
		if got := string(p.Data[k]); got != want {
			t.Errorf("data.%s = %s, want %s", k, got, want)
		}
	}
}

func TestValidatorReject(t *testing.T) {
	rc := newReceiver(t, answerJSON(200, `{"allow": false, "message": "Names must be approved.",
		"errors": [{"field": "name", "code": "not_approved", "message": "is not on the approved list"},
		           {"field": "metadata.theme", "code": "", "message": "unknown theme"}]}`))
	v := NewValidator(endpointsOf(rc.endpoint("whe_1", directory.EndpointValidation)), NewClient(true), nil)
	err := v.Validate(context.Background(), updateRequest())
	var de *directory.Error
	if !errors.As(err, &de) {
		t.Fatalf("Validate = %v, want a *directory.Error", err)
	}
	if de.Code != directory.ECodeValidationRejected || de.Message != "Names must be approved." {
		t.Errorf("error = %q %q", de.Code, de.Message)
	}
	want := []directory.FieldError{
		{Field: "name", Code: "not_approved", Message: "is not on the approved list"},
		{Field: "metadata.theme", Code: "rejected", Message: "unknown theme"},
	}
	if !reflect.DeepEqual(de.Fields, want) {
		t.Errorf("fields = %+v, want %+v", de.Fields, want)
	}
}

func TestValidatorRejectIsSanitized(t *testing.T) {
	var errs []map[string]string
	for i := range 150 {
		errs = append(errs, map[string]string{"field": fmt.Sprintf("f%d", i), "code": "bad", "message": "m"})
	}
	errs[0] = map[string]string{"field": "name\x00\u202e", "code": strings.Repeat("c", 500), "message": strings.Repeat("é", 5000)}
	errs[1] = map[string]string{} // nothing to show: dropped
	reply, _ := json.Marshal(map[string]any{"allow": false, "message": "line1\r\nline2\x1b[31m" + strings.Repeat("x", 5000), "errors": errs})
	rc := newReceiver(t, answerJSON(200, string(reply)))
	v := NewValidator(endpointsOf(rc.endpoint("whe_1", directory.EndpointValidation)), NewClient(true), nil)

	var de *directory.Error
	if err := v.Validate(context.Background(), updateRequest()); !errors.As(err, &de) || de.Code != directory.ECodeValidationRejected {
		t.Fatalf("Validate = %v, want validation_rejected", err)
	}
	if n := utf8.RuneCountInString(de.Message); n > maxRejectMessage {
		t.Errorf("message has %d runes", n)
	}
	if !strings.HasPrefix(de.Message, "line1  line2 [31m") {
		t.Errorf("message = %.40q…, want control characters replaced", de.Message)
	}
	if len(de.Fields) != maxRejectErrors {
		t.Fatalf("%d field errors, want %d", len(de.Fields), maxRejectErrors)
	}
	f := de.Fields[0]
	if f.Field != "name" || len(f.Code) != maxRejectCode || utf8.RuneCountInString(f.Message) != maxRejectMessage {
		t.Errorf("first field error = %q, %d-octet code, %d-rune message", f.Field, len(f.Code), utf8.RuneCountInString(f.Message))
	}
	if de.Fields[1].Field != "f2" {
		t.Errorf("second field error = %+v, want the empty one dropped", de.Fields[1])
	}
}

func TestValidatorRejectDefaultMessage(t *testing.T) {
	rc := newReceiver(t, answerJSON(200, `{"allow": false}`))
	v := NewValidator(endpointsOf(rc.endpoint("whe_1", directory.EndpointValidation)), NewClient(true), nil)
	var de *directory.Error
	if err := v.Validate(context.Background(), updateRequest()); !errors.As(err, &de) {
		t.Fatalf("Validate = %v", err)
	}
	if de.Code != directory.ECodeValidationRejected || de.Message == "" || de.Fields != nil {
		t.Errorf("error = %+v", de)
	}
}

// TestValidatorUnavailable checks each way an endpoint can fail to answer,
// once failing closed (validation_unavailable) and once failing open (the
// next endpoint is asked, and its answer decides).
func TestValidatorUnavailable(t *testing.T) {
	var targetHits atomic.Int32
	target := newReceiver(t, func(int, http.ResponseWriter, *http.Request) { targetHits.Add(1) })
	closed := newReceiver(t, answerJSON(200, `{"allow":true}`))
	closed.srv.Close()

	tests := []struct {
		name    string
		answer  func(rc *receiver) func(int, http.ResponseWriter, *http.Request)
		timeout int
		rc      *receiver // instead of answer
	}{
		{name: "500", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return answerJSON(500, `{"allow": true}`)
		}},
		{name: "404", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) { return answerJSON(404, ``) }},
		{name: "not JSON", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) { return answerJSON(200, `OK`) }},
		{name: "empty body", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) { return answerJSON(204, ``) }},
		{name: "no allow", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return answerJSON(200, `{"message": "fine"}`)
		}},
		{name: "allow not boolean", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return answerJSON(200, `{"allow": "true"}`)
		}},
		{name: "allow null", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return answerJSON(200, `{"allow": null}`)
		}},
		{name: "array", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return answerJSON(200, `[{"allow": true}]`)
		}},
		{name: "trailing data", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return answerJSON(200, `{"allow": true} {"allow": false}`)
		}},
		{name: "too large", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return answerJSON(200, `{"allow": true, "pad": "`+strings.Repeat(" ", MaxResponseBytes)+`"}`)
		}},
		{name: "redirect", answer: func(*receiver) func(int, http.ResponseWriter, *http.Request) {
			return func(_ int, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.srv.URL, http.StatusFound)
			}
		}},
		{name: "timeout", timeout: 100, answer: func(rc *receiver) func(int, http.ResponseWriter, *http.Request) {
			return func(_ int, w http.ResponseWriter, r *http.Request) {
				rc.wait(r)
				answerJSON(200, `{"allow": true}`)(0, w, r)
			}
		}},
		{name: "connection refused", rc: closed},
	}
	for _, tt := range tests {
		for _, failOpen := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fail_open=%v", tt.name, failOpen), func(t *testing.T) {
				rc := tt.rc
				if rc == nil {
					var fresh *receiver
					fresh = newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { tt.answer(fresh)(n, w, r) })
					rc = fresh
				}
				e := rc.endpoint("whe_1", directory.EndpointValidation)
				e.FailOpen, e.TimeoutMS = failOpen, tt.timeout
				// A second endpoint, created later, rejects.
				next := newReceiver(t, answerJSON(200, `{"allow": false, "message": "second says no"}`))
				e2 := next.endpoint("whe_2", directory.EndpointValidation)
				e2.CreatedAt = e.CreatedAt.Add(time.Second)

				var logs bytes.Buffer
				log := slog.New(slog.NewJSONHandler(&logs, nil))
				v := NewValidator(endpointsOf(e, e2), NewClient(true), log)
				start := time.Now()
				err := v.Validate(context.Background(), updateRequest())
				if el := time.Since(start); el > 3*time.Second {
					t.Errorf("Validate took %v", el)
				}
				if !failOpen {
					if got := errorCode(t, err); got != directory.ECodeValidationUnavail {
						t.Fatalf("Validate = %v, want %s", err, directory.ECodeValidationUnavail)
					}
					var de *directory.Error
					if errors.As(err, &de); de.RetryAfter != RetryAfter {
						t.Errorf("RetryAfter = %v, want %v", de.RetryAfter, RetryAfter)
					}
					if n := len(next.requests()); n != 0 {
						t.Errorf("the next endpoint got %d requests after a failure, want 0", n)
					}
				} else {
					if got := errorCode(t, err); got != directory.ECodeValidationRejected {
						t.Fatalf("Validate = %v, want the next endpoint's rejection", err)
					}
				}
				if !strings.Contains(logs.String(), `"endpointId":"whe_1"`) {
					t.Errorf("no log line names the endpoint: %s", logs.String())
				}
			})
		}
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}

// TestValidatorRefusesPrivateTarget: with private targets disallowed, an
// endpoint that points to loopback is unavailable, though it would allow.
func TestValidatorRefusesPrivateTarget(t *testing.T) {
	rc := newReceiver(t, answerJSON(200, `{"allow": true}`))
	v := NewValidator(endpointsOf(rc.endpoint("whe_1", directory.EndpointValidation)), NewClient(false), nil)
	if got := errorCode(t, v.Validate(context.Background(), updateRequest())); got != directory.ECodeValidationUnavail {
		t.Fatalf("Validate code = %q, want %s", got, directory.ECodeValidationUnavail)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("receiver got %d requests, want 0", n)
	}
}

func TestValidatorOrderAndSelection(t *testing.T) {
	var (
		mu    sync.Mutex
		order []string
	)
	answer := func(name, reply string) func(int, http.ResponseWriter, *http.Request) {
		return func(n int, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			answerJSON(200, reply)(n, w, r)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(id, kind string, created int, events []directory.EventType, reply string) *directory.Endpoint {
		e := newReceiver(t, answer(id, reply)).endpoint(id, kind)
		e.CreatedAt = t0.Add(time.Duration(created) * time.Second)
		e.Events = events
		return e
	}
	eps := []*directory.Endpoint{
		mk("whe_c", directory.EndpointValidation, 3, nil, `{"allow": true}`),
		mk("whe_a", directory.EndpointValidation, 1, []directory.EventType{"user.updated", "user.created"}, `{"allow": true}`),
		mk("whe_ev", directory.EndpointEvents, 0, nil, `{"allow": false}`),
		mk("whe_b", directory.EndpointValidation, 2, []directory.EventType{"user.created"}, `{"allow": false}`),
		mk("whe_d", directory.EndpointValidation, 4, nil, `{"allow": false, "message": "d"}`),
		mk("whe_e", directory.EndpointValidation, 5, nil, `{"allow": true}`),
	}
	v := NewValidator(endpointsOf(eps...), NewClient(true), nil)

	// An update: whe_b only validates creates, whe_ev is for events; whe_d
	// rejects, so whe_e is never asked.
	var de *directory.Error
	if err := v.Validate(context.Background(), updateRequest()); !errors.As(err, &de) || de.Message != "d" {
		t.Fatalf("Validate = %v, want whe_d's rejection", err)
	}
	if want := []string{"whe_a", "whe_c", "whe_d"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("calls = %v, want %v", order, want)
	}

	// A create: whe_b, second in creation order, rejects.
	order = nil
	req := updateRequest()
	req.Action, req.Before = directory.CedarCreateUser, nil
	if got := errorCode(t, v.Validate(context.Background(), req)); got != directory.ECodeValidationRejected {
		t.Fatalf("Validate = %q, want rejected", got)
	}
	if want := []string{"whe_a", "whe_b"}; !reflect.DeepEqual(order, want) {
		t.Fatalf("calls = %v, want %v", order, want)
	}

	// Other actions call no endpoint.
	order = nil
	for _, action := range []directory.CedarAction{directory.CedarDeleteUser, directory.CedarDeactivateUser, directory.CedarSuspendUser, directory.CedarRestoreUser} {
		req.Action = action
		if err := v.Validate(context.Background(), req); err != nil {
			t.Errorf("Validate(%s) = %v", action, err)
		}
	}
	if len(order) != 0 {
		t.Fatalf("calls = %v, want none", order)
	}
}

func TestValidatorNoEndpoints(t *testing.T) {
	v := NewValidator(endpointsOf(), NewClient(true), nil)
	if err := v.Validate(context.Background(), updateRequest()); err != nil {
		t.Fatalf("Validate = %v", err)
	}
}

func TestValidatorListError(t *testing.T) {
	boom := errors.New("database is locked")
	v := NewValidator(func(context.Context, string) ([]*directory.Endpoint, error) { return nil, boom }, NewClient(true), nil)
	if err := v.Validate(context.Background(), updateRequest()); !errors.Is(err, boom) {
		t.Fatalf("Validate = %v, want it to wrap the lister's error", err)
	}
}

// TestValidatorContextCanceled: a request abandoned by its client is not the
// endpoint's failure, even for one that fails open: the caller gets ctx's
// error and does not write. A request whose deadline passes while an
// endpoint is asked, fail-open or not, gets validation_unavailable: the
// endpoints share the request's one deadline, and it must not write.
func TestValidatorContextCanceled(t *testing.T) {
	var rc *receiver
	rc = newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) { rc.wait(r) })
	e := rc.endpoint("whe_1", directory.EndpointValidation)
	e.FailOpen = true
	v := NewValidator(endpointsOf(e), NewClient(true), nil)
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := v.Validate(ctx, updateRequest()); directory.ErrorCode(err) != directory.ECodeValidationUnavail {
			t.Fatalf("Validate = %v, want validation_unavailable", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		if err := v.Validate(ctx, updateRequest()); !errors.Is(err, context.Canceled) {
			t.Fatalf("Validate = %v, want context.Canceled", err)
		}
	})
}
