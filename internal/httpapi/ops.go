package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/roster-dev/roster/api"
	"github.com/roster-dev/roster/internal/directory"
)

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleReady answers 200 while the database answers, 503 otherwise.
func handleReady(svc *directory.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := svc.Ping(ctx); err != nil {
			requestInfoFrom(r.Context()).log().Warn("not ready", "error", err.Error())
			writeProblem(w, r, directory.Errorf(directory.ECodeUnavailable, "The database is not reachable."))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Header().Set("Content-Length", strconv.Itoa(len(api.OpenAPI)))
		_, _ = w.Write(api.OpenAPI)
	})
}
