package httpapi

import (
	"net/http"
	"strconv"

	"github.com/roster-dev/roster/internal/directory"
)

// A writeFunc serves a user write. It answers a success itself, once
// setQuota has set the quota headers from the write's outcome, and returns
// any failure for serveWrite to answer.
type writeFunc func(w http.ResponseWriter, r *http.Request) error

// serveWrite serves a user write route: its query (ps), then h. Every
// answer carries the X-Quota-* headers of §8, failures included.
func serveWrite(svc *directory.Service, ps params, h writeFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := parseQuery(ps, r)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			if problemOf(err).Code != directory.ECodeUnavailable {
				// Not when the database did not answer: asking it for the
				// figures would only make the client wait for it once more.
				setQuota(svc, w, r, nil)
			}
			writeProblem(w, r, err)
		}
	})
}

// setQuota sets the X-Quota-* headers of §8 on the answer to a write: the
// figures its transaction left when it committed (res.Usage), else, for a
// no-op, a dry run or a failure (res nil), the figures as they are now.
func setQuota(svc *directory.Service, w http.ResponseWriter, r *http.Request, res *directory.Written) {
	ctx := r.Context()
	var t *directory.Tenant
	var u *directory.Usage
	if res != nil {
		t, u = res.Tenant, res.Usage
	}
	if t == nil {
		// The write may have been refused on a configuration newer than
		// the request's: the Service cached it, and its limits applied.
		var err error
		if t, err = svc.GetTenant(ctx, tenantFrom(ctx).ID); err != nil {
			return
		}
	}
	if u == nil {
		var err error
		if u, err = svc.Usage(ctx, t); err != nil {
			return
		}
	}
	h := w.Header()
	h.Set("X-Quota-Writes-Used", strconv.FormatInt(u.Writes, 10))
	h.Set("X-Quota-Writes-Limit", strconv.FormatInt(t.Plan.WritesPerPeriod, 10))
	h.Set("X-Quota-Active-Users", strconv.FormatInt(u.ActiveUsers, 10))
	h.Set("X-Quota-Active-Users-Limit", strconv.FormatInt(t.Plan.MaxActiveUsers, 10))
	h.Set("X-Quota-Reset", directory.FormatTime(u.PeriodEnd))
}

// answerWrite answers a write that succeeded with the user it left, with
// status (200 for an update, 201 for a creation, 202 for a deletion).
func answerWrite(svc *directory.Service, w http.ResponseWriter, r *http.Request, status int, res *directory.Written, opts directory.WriteOptions) {
	setQuota(svc, w, r, res)
	markDryRun(w, opts)
	writeUser(w, r, status, res.User)
}
