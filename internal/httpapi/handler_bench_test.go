package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roster-dev/roster/internal/bench"
	"github.com/roster-dev/roster/internal/directory"
	"github.com/roster-dev/roster/internal/server"
)

// benchUsers is how many users the handler benchmarks seed: the size of the
// load test's default tenant.
const benchUsers = 10000

// benchNode builds a node as `roster serve` does (JSON request log, here
// discarded), with a tenant of benchUsers users on a generous plan, and
// returns its handler, an admin token and the users' IDs.
func benchNode(b *testing.B) (http.Handler, string, []string) {
	b.Helper()
	ctx := context.Background()
	store, _ := openStore(b)
	node, err := server.New(ctx, server.Config{Store: store, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), SecretKeys: [][]byte{testSecretKey}})
	if err != nil {
		b.Fatal(err)
	}
	workers, stop := context.WithCancel(ctx)
	node.RunWorkers(workers)
	b.Cleanup(func() { stop(); node.Close() })
	out, err := node.Service.CreateTenant(ctx, directory.TenantInput{Name: "Bench", Plan: &generous}, true, directory.Actor{})
	if err != nil {
		b.Fatal(err)
	}
	ids, err := bench.SeedUsers(ctx, store, out.Tenant.ID, benchUsers, 5000)
	if err != nil {
		b.Fatal(err)
	}
	return node.Handler, out.Token, ids
}

// BenchmarkHandler drives the whole HTTP handler (middleware, auth, rate
// limit, quota headers, the Service and the store) without a network: a
// PATCH that changes one field of a random user, and a GET. It is the
// benchmark to profile one request with:
//
//	ROSTER_TEST_BACKENDS=sqlite go test ./internal/httpapi -run '^$' \
//	  -bench 'Handler/PATCH' -benchtime 5s -cpuprofile cpu.out
func BenchmarkHandler(b *testing.B) {
	h, token, ids := benchNode(b)
	var seq atomic.Int64
	serve := func(b *testing.B, method string, body func(n int64) string) func(n int64) {
		return func(n int64) {
			id := ids[n%int64(len(ids))]
			var rd io.Reader
			if body != nil {
				rd = strings.NewReader(body(n))
			}
			r := httptest.NewRequest(method, "/v1/users/"+id, rd)
			r.Header.Set("Authorization", "Bearer "+token)
			if body != nil {
				r.Header.Set("Content-Type", "application/json")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("%s: status %d: %s", method, w.Code, w.Body)
			}
		}
	}
	patch := func(n int64) string { return fmt.Sprintf(`{"name": "Bench %d"}`, n) }
	for _, c := range []struct {
		name   string
		method string
		body   func(int64) string
	}{{"PATCH", http.MethodPatch, patch}, {"GET", http.MethodGet, nil}} {
		b.Run(c.name, func(b *testing.B) {
			do := serve(b, c.method, c.body)
			b.ReportAllocs()
			for b.Loop() {
				do(seq.Add(7919)) // a prime stride: consecutive requests hit different users
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			do := serve(b, c.method, c.body)
			b.ReportAllocs()
			b.SetParallelism(8) // 16 goroutines on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					do(seq.Add(7919))
				}
			})
		})
	}
}
