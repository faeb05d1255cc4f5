package fields

import (
	"strings"
	"testing"
)

// checkString checks the result of a function returning (string, *Error):
// the normalized value want when wantCode is "", else an error with that
// code, an empty value and a well-formed message.
func checkString(t *testing.T, got string, err *Error, want, wantCode string) {
	t.Helper()
	if wantCode != "" {
		checkError(t, err, wantCode)
		if got != "" {
			t.Errorf("got value %q with the error; want \"\"", got)
		}
		return
	}
	if err != nil {
		t.Fatalf("got error %v; want %q", err, want)
	}
	if got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}

// checkError checks that err has code wantCode, or is nil if wantCode is "".
func checkError(t *testing.T, err *Error, wantCode string) {
	t.Helper()
	if wantCode == "" {
		if err != nil {
			t.Fatalf("got error %v; want none", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error; want %s", wantCode)
	}
	if got := err.Code; got != wantCode {
		t.Fatalf("got code %s (%q); want %s", got, err.Message, wantCode)
	}
	// Messages read after a field name: "email must …".
	if m := err.Message; !strings.HasPrefix(m, "must ") || strings.HasSuffix(m, ".") || strings.ContainsAny(m, "\n%") {
		t.Errorf("message %q: want a sentence fragment starting with \"must \"", m)
	}
}

func TestErrorsAreCopies(t *testing.T) {
	_, err := Country("ZZ")
	err.Message = "changed"
	_, err = Country("ZZ")
	if got, want := err.Message, new(errCountry).Message; got != want {
		t.Errorf("got message %q after a caller changed an earlier error; want %q", got, want)
	}
}

func TestErrorString(t *testing.T) {
	err := &Error{Code: CodeTooLong, Message: "must be at most 3 characters"}
	if got, want := err.Error(), "too_long: must be at most 3 characters"; got != want {
		t.Errorf("got %q; want %q", got, want)
	}
}
