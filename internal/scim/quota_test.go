package scim_test

import (
	"net/http"
	"strconv"
	"testing"
)

// TestWritesCarryQuota checks that SCIM's writes, failures included, carry
// the X-Quota-* headers of /v1's writes, with the figures their commit left.
func TestWritesCarryQuota(t *testing.T) {
	e := newEnv(t)
	used := func(t *testing.T, r *resp) int {
		t.Helper()
		for _, h := range []string{"X-Quota-Writes-Limit", "X-Quota-Active-Users", "X-Quota-Active-Users-Limit", "X-Quota-Reset"} {
			if r.header.Get(h) == "" {
				t.Errorf("%d answer without %s", r.status, h)
			}
		}
		n, err := strconv.Atoi(r.header.Get("X-Quota-Writes-Used"))
		if err != nil {
			t.Fatalf("X-Quota-Writes-Used %q", r.header.Get("X-Quota-Writes-Used"))
		}
		return n
	}
	r := e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "a@example.com"}}).want(t, http.StatusCreated)
	first := used(t, r)
	id := r.json(t)["id"].(string)
	if got := r.header.Get("X-Quota-Active-Users"); got != "2" { // the owner and a
		t.Errorf("X-Quota-Active-Users %q, want 2", got)
	}
	r = e.do(t, rq{method: "PATCH", path: "/scim/v2/Users/" + id, body: patchOp(
		map[string]any{"op": "replace", "value": map[string]any{"active": false, "displayName": "A"}})}).want(t, http.StatusOK)
	if got := used(t, r); got != first+2 { // an update and a deactivation
		t.Errorf("after a PATCH of two changes: %d writes used, want %d", got, first+2)
	}
	r = e.do(t, rq{method: "POST", path: "/scim/v2/Users", body: map[string]any{"userName": "A@example.com"}})
	r.want(t, http.StatusConflict)
	if got := used(t, r); got != first+2 {
		t.Errorf("after a refused create: %d writes used, want %d", got, first+2)
	}
	r = e.do(t, rq{method: "POST", path: "/scim/v2/Groups", body: map[string]any{"displayName": "Sales", "members": []any{map[string]any{"value": id}}}}).want(t, http.StatusCreated)
	if got := used(t, r); got != first+3 {
		t.Errorf("after a group with a member: %d writes used, want %d", got, first+3)
	}
	r = e.do(t, rq{method: "PUT", path: "/scim/v2/Users/" + id, body: map[string]any{"userName": "a@example.com"}}).want(t, http.StatusOK)
	used(t, r)
	r = e.do(t, rq{method: "DELETE", path: "/scim/v2/Users/" + id}).want(t, http.StatusNoContent)
	used(t, r)
	if r := e.do(t, rq{method: "GET", path: "/scim/v2/Users"}).want(t, http.StatusOK); r.header.Get("X-Quota-Writes-Used") != "" {
		t.Errorf("a read carries X-Quota-Writes-Used")
	}
}
