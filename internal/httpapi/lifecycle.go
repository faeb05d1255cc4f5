package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/wire"
)

// lifecycleAction is a user lifecycle operation of the Service.
type lifecycleAction func(ctx context.Context, t *directory.Tenant, id string, opts directory.WriteOptions) (*directory.Written, error)

// handleLifecycle serves delete, restore, deactivate and reactivate: each
// answers the user as it now is, with status (202 for a deletion), to a key
// that may read it (writeUser).
func handleLifecycle(svc *directory.Service, action lifecycleAction, status int) writeFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		opts := writeOptions(r)
		res, err := action(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), opts)
		if err != nil {
			return err
		}
		answerWrite(svc, w, r, status, res, opts)
		return nil
	}
}

type suspensionRequest struct {
	Reason string  `json:"reason"`
	EndsAt *string `json:"ends_at"`
}

func handleSuspend(svc *directory.Service) writeFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var req suspensionRequest
		if err := readJSON(w, r, &req); err != nil {
			return err
		}
		in := directory.SuspensionInput{Reason: req.Reason}
		if req.EndsAt != nil {
			in.EndsAt = *req.EndsAt
		}
		opts := writeOptions(r)
		res, sus, err := svc.SuspendUser(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), in, opts)
		if err != nil {
			return err
		}
		setQuota(svc, w, r, res)
		markDryRun(w, opts)
		w.Header().Set("ETag", directory.ETag(res.User))
		status := http.StatusOK
		if !opts.DryRun {
			w.Header().Set("Location", "/v1/users/"+res.User.ID+"/suspensions/"+sus.ID)
			status = http.StatusCreated
		}
		writeJSON(w, status, wire.SuspensionDoc(*sus))
		return nil
	}
}

func handleUnsuspend(svc *directory.Service) writeFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		opts := writeOptions(r)
		res, err := svc.UnsuspendUser(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), r.PathValue("sid"), opts)
		if err != nil {
			return err
		}
		answerWrite(svc, w, r, http.StatusOK, res, opts)
		return nil
	}
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
