package httpapi

import (
	"net/http"

	"github.com/roster-dev/roster/internal/directory"
)

type policiesBody struct {
	Policies string `json:"policies"`
}

func handlePoliciesGet(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.StoredTenant(r.Context(), tenantFrom(r.Context()).ID)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "policies", "policies": svc.Policies(t), "default": t.Policies == ""})
	})
}

func handlePoliciesPut(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req policiesBody
		if err := readJSON(w, r, &req); err != nil {
			writeProblem(w, r, err)
			return
		}
		t, err := svc.SetPolicies(r.Context(), tenantFrom(r.Context()), req.Policies)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "policies", "policies": svc.Policies(t), "default": t.Policies == ""})
	})
}

type rolesBody struct {
	Roles []string `json:"roles"`
}

func handleRolesGet(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := svc.StoredTenant(r.Context(), tenantFrom(r.Context()).ID)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "roles", "roles": t.Roles})
	})
}

func handleRolesPut(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req rolesBody
		if err := readJSON(w, r, &req); err != nil {
			writeProblem(w, r, err)
			return
		}
		t, err := svc.SetRoles(r.Context(), tenantFrom(r.Context()), req.Roles)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "roles", "roles": t.Roles})
	})
}

type endpointRequest struct {
	URL       string                `json:"url"`
	Kind      string                `json:"kind"`
	Events    []directory.EventType `json:"events"`
	FailOpen  bool                  `json:"fail_open"`
	TimeoutMS int                   `json:"timeout_ms"`
}

// endpointJSON is an endpoint on the wire; the secret only when created.
func endpointJSON(e *directory.Endpoint, withSecret bool) map[string]any {
	m := map[string]any{
		"object": "webhook_endpoint", "id": e.ID, "url": e.URL, "kind": e.Kind, "events": e.Events,
		"fail_open": e.FailOpen, "timeout_ms": e.TimeoutMS, "created_at": directory.FormatTime(e.CreatedAt),
	}
	m["previous_secret_expires_at"] = timeOrNil(e.PreviousUntil)
	if withSecret {
		m["secret"] = e.Secret
	}
	return m
}

func handleEndpointCreate(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req endpointRequest
		if err := readJSON(w, r, &req); err != nil {
			writeProblem(w, r, err)
			return
		}
		ep, err := svc.CreateEndpoint(r.Context(), tenantFrom(r.Context()), directory.EndpointInput{
			URL: req.URL, Kind: req.Kind, Events: req.Events, FailOpen: req.FailOpen, TimeoutMS: req.TimeoutMS,
		})
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/webhook-endpoints/"+ep.ID)
		writeJSON(w, http.StatusCreated, endpointJSON(ep, true))
	})
}

func handleEndpointList(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		eps, err := svc.ListEndpoints(r.Context(), tenantFrom(r.Context()))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		data := make([]any, len(eps))
		for i, e := range eps {
			data[i] = endpointJSON(e, false)
		}
		writeJSON(w, http.StatusOK, listPage{Object: "list", Data: data})
	})
}

func handleEndpointGet(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ep, err := svc.GetEndpoint(r.Context(), tenantFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, endpointJSON(ep, false))
	})
}

// handleEndpointRotateSecret gives the endpoint a new secret, shown this
// once; the old one signs beside it until previous_secret_expires_at.
func handleEndpointRotateSecret(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := tenantFrom(r.Context())
		if _, err := svc.GetEndpoint(r.Context(), t, r.PathValue("id")); err != nil {
			writeProblem(w, r, err)
			return
		}
		grace, err := readGrace(w, r)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		ep, err := svc.RotateEndpointSecret(r.Context(), t, r.PathValue("id"), grace, actorOf(r))
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, endpointJSON(ep, true))
	})
}

func handleEndpointDelete(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := svc.DeleteEndpoint(r.Context(), tenantFrom(r.Context()), r.PathValue("id")); err != nil {
			writeProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleDeliveries(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := queryOf(r)
		limit := q.int("limit")
		ds, attempts, err := svc.Deliveries(r.Context(), tenantFrom(r.Context()), r.PathValue("id"), q.string("cursor"), limit+1)
		if err != nil {
			writeProblem(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, page(ds, limit, func(d *directory.Delivery) string { return d.ID }, func(d *directory.Delivery) any {
			as := make([]any, 0, len(attempts[d.ID]))
			for _, a := range attempts[d.ID] {
				as = append(as, map[string]any{
					"at": directory.FormatTime(a.At), "status_code": a.StatusCode, "error": a.Error, "duration_ms": a.DurationMS,
				})
			}
			var delivered any
			if d.DeliveredAt != nil {
				delivered = directory.FormatTime(*d.DeliveredAt)
			}
			return map[string]any{
				"object": "delivery", "id": d.ID, "event_id": d.EventID, "user_id": d.UserID, "status": d.Status,
				"attempts": d.Attempts, "next_attempt_at": directory.FormatTime(d.NextAttemptAt),
				"created_at": directory.FormatTime(d.CreatedAt), "delivered_at": delivered, "attempt_log": as,
			}
		}))
	})
}
