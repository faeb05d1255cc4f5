package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/wire"
)

// quotaHeaders adds the X-Quota-* headers of §8 to every response of a write
// route, with the figures as they are after the write: those the write's
// own transaction read when it committed one, else (an error, a no-op, a
// dry run) read now.
func quotaHeaders(svc *directory.Service, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &quotaWriter{ResponseWriter: w, ctx: r.Context(), svc: svc}
		next.ServeHTTP(q, r.WithContext(directory.WithUsageReport(r.Context(), &q.report)))
	})
}

type quotaWriter struct {
	http.ResponseWriter
	ctx    context.Context
	svc    *directory.Service
	report directory.UsageReport
	done   bool
}

func (q *quotaWriter) WriteHeader(code int) {
	if !q.done {
		q.done = true
		t, u, err := q.report.Tenant, q.report.Usage, error(nil)
		if t == nil {
			t = tenantFrom(q.ctx)
		}
		switch {
		case u != nil: // from the write's own transaction
		case requestInfoFrom(q.ctx).problem == directory.ECodeUnavailable:
			// The database did not answer the request: asking it for the
			// figures would only make the client wait for it once more.
			err = directory.ErrUnavailable
		default:
			u, err = q.svc.Usage(q.ctx, t)
		}
		if err == nil {
			h := q.Header()
			h.Set("X-Quota-Writes-Used", strconv.FormatInt(u.Writes, 10))
			h.Set("X-Quota-Writes-Limit", strconv.FormatInt(t.Plan.WritesPerPeriod, 10))
			h.Set("X-Quota-Active-Users", strconv.FormatInt(u.ActiveUsers, 10))
			h.Set("X-Quota-Active-Users-Limit", strconv.FormatInt(t.Plan.MaxActiveUsers, 10))
			h.Set("X-Quota-Reset", directory.FormatTime(u.PeriodEnd))
		}
	}
	q.ResponseWriter.WriteHeader(code)
}

func (q *quotaWriter) Write(b []byte) (int, error) {
	if !q.done {
		q.WriteHeader(http.StatusOK)
	}
	return q.ResponseWriter.Write(b)
}

func (q *quotaWriter) Unwrap() http.ResponseWriter { return q.ResponseWriter }

// lifecycleAction is a user lifecycle operation of the Service.
type lifecycleAction func(ctx context.Context, t *directory.Tenant, id string, opts directory.WriteOptions) (*directory.User, error)

// handleLifecycle serves delete, restore, deactivate and reactivate: each
// answers the user as it now is, with status (202 for a deletion), to a key
// that may read it (writeUser).
func handleLifecycle(action lifecycleAction, status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts := writeOptions(r)
		u, err := action(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), opts)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		markDryRun(w, opts)
		writeUser(w, r, status, u)
	})
}

type suspensionRequest struct {
	Reason string  `json:"reason"`
	EndsAt *string `json:"ends_at"`
}

func handleSuspend(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts := writeOptions(r)
		body, err := requireJSON(w, r)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		var req suspensionRequest
		if err := decodeStrict(body, &req); err != nil {
			writeProblem(w, r, err)
			return
		}
		in := directory.SuspensionInput{Reason: req.Reason}
		if req.EndsAt != nil {
			in.EndsAt = *req.EndsAt
		}
		u, sus, err := svc.SuspendUser(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), in, opts)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		w.Header().Set("ETag", directory.ETag(u))
		if opts.DryRun {
			markDryRun(w, opts)
			writeJSON(w, http.StatusOK, wire.SuspensionDoc(*sus))
			return
		}
		w.Header().Set("Location", "/v1/users/"+u.ID+"/suspensions/"+sus.ID)
		writeJSON(w, http.StatusCreated, wire.SuspensionDoc(*sus))
	})
}

func handleUnsuspend(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		opts := writeOptions(r)
		u, err := svc.UnsuspendUser(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), r.PathValue("sid"), opts)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		markDryRun(w, opts)
		writeUser(w, r, http.StatusOK, u)
	})
}

// handlePicture serves a stored picture. The bytes were sniffed on upload,
// and nosniff keeps browsers from reading them as anything else.
func handlePicture(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := svc.GetPicture(r.Context(), tenantFrom(r.Context()).ID, r.PathValue("id"))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		h := w.Header()
		h.Set("ETag", p.ETag)
		h.Set("Cache-Control", "private, max-age=300")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		h.Set("Last-Modified", p.UpdatedAt.UTC().Format(http.TimeFormat))
		if inm := r.Header.Get("If-None-Match"); inm != "" && noneMatch(inm, p.ETag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", p.ContentType)
		h.Set("Content-Length", strconv.Itoa(len(p.Data)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(p.Data)
		}
	})
}

func handleUsage(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.StoredTenant(r.Context(), tenantFrom(r.Context()).ID) // the limits as stored
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		u, err := svc.Usage(r.Context(), t)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"object":       "usage",
			"period_start": directory.FormatTime(u.PeriodStart),
			"period_end":   directory.FormatTime(u.PeriodEnd),
			"writes":       map[string]int64{"used": u.Writes, "limit": t.Plan.WritesPerPeriod},
			"active_users": map[string]int64{"used": u.ActiveUsers, "limit": t.Plan.MaxActiveUsers},
		})
	})
}
