package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/wire"
)

// FloorEnv is the environment variable that makes roster-bench the floor
// server (ServeFloorEnv) instead of a load test. Its value is the tenant's
// ID, a space, and the database.
const FloorEnv = "ROSTER_BENCH_FLOOR"

// ServeFloorEnv runs ServeFloor on what the value v of FloorEnv names.
func ServeFloorEnv(ctx context.Context, v string, stderr io.Writer) error {
	tenantID, db, ok := strings.Cut(v, " ")
	if !ok || tenantID == "" || db == "" {
		return fmt.Errorf("%s=%q: want the tenant's ID, a space and the database", FloorEnv, v)
	}
	return ServeFloor(ctx, db, tenantID, stderr)
}

// ServeFloor serves, until ctx ends, the least an HTTP PATCH of a user can
// cost on this store and machine: PATCH /v1/users/{id} decodes the JSON
// body, reads the user through the store, commits the raw update
// transaction (rawUpdate: the user's row, an audit entry, an event; a
// concurrent update of the same user makes it read again) and answers 200
// with the user's JSON. Nothing of Roster's own work is there: no
// authentication, rate limit, field rules, validation, policy, webhook
// lookup, quota, metrics or log line. It listens on a loopback port, which
// it reports on stderr with the line roster serve writes.
//
// The floor's rate over the raw rate is what HTTP and the read before the
// write leave of the store's rate on the machine; PATCH's over the floor's,
// what Roster's work leaves of that.
func ServeFloor(ctx context.Context, db, tenantID string, stderr io.Writer) error {
	store, err := openStore(ctx, db)
	if err != nil {
		return err
	}
	defer store.Close()
	var seq atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("PATCH /v1/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for {
			u, err := store.GetUser(r.Context(), tenantID, r.PathValue("id"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			next, err := rawUpdate(r.Context(), store, u, fmt.Sprintf("Floor %d", seq.Add(1)))
			if errors.Is(err, directory.ErrVersionConflict) {
				continue
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(wire.MarshalPublic(next))
			return
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	stop := context.AfterFunc(ctx, func() { srv.Close() })
	defer stop()
	fmt.Fprintf(stderr, `{"msg":"listening","addr":"http://%s"}`+"\n", l.Addr())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
