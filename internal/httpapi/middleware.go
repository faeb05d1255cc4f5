package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-dev/roster/internal/directory"
)

// requestInfo travels with a request: the outer middleware creates it and the
// inner layers fill it in, so the log line at the end can say who called.
type requestInfo struct {
	id string
	// base is the node's logger; logger, made from it on first use by
	// log, adds the request ID to each line.
	base       *slog.Logger
	loggerOnce sync.Once
	logger     *slog.Logger
	key        *directory.Key
	tenant     *directory.Tenant // the key's tenant, read once by gate
	tenantID   string
	query      queryValues // the query parameters, as withQuery parsed them
	problem    string      // the code of the problem answered, if one was
}

type ctxKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	if info, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{base: slog.Default()}
}

// log returns the request's logger. Most requests log only their request
// line, which observe writes without it: a logger With an attribute costs
// a copy of the handler per request.
func (info *requestInfo) log() *slog.Logger {
	info.loggerOnce.Do(func() { info.logger = info.base.With(slog.String("requestId", info.id)) })
	return info.logger
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// metrics are the Prometheus collectors of one handler.
type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roster_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe is the outermost middleware: it stamps the request ID, gives the
// request its one deadline, recovers panics as 500 problems, and writes one
// log line and the metrics of every request.
//
// The deadline, timeout from now, bounds all a request does: reading its
// body (the connection's read deadline), asking validation webhooks and
// waiting for its transaction (the context's). A write whose deadline
// passes before its transaction starts is not made.
func observe(log *slog.Logger, m *metrics, timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := ulid.Make().String()
		info := &requestInfo{id: id, base: log}
		ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), ctxKey{}, info), timeout)
		defer cancel()
		if r.ContentLength != 0 {
			// A connection that cannot take a deadline (a test's recorder)
			// still has the context's.
			_ = http.NewResponseController(w).SetReadDeadline(start.Add(timeout))
		}
		r = r.WithContext(ctx)
		h := w.Header()
		h.Set("X-Request-Id", id)
		// API answers are personal data: no cache keeps them unless a
		// handler says otherwise (pictures do), and no browser sniffs them.
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				info.log().Error("panic", slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					writeProblem(rec, r, fmt.Errorf("panic: %v", v))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			m.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
			m.latency.WithLabelValues(r.Method, route).Observe(d.Seconds())
			// The line reads as info.log()'s would: a handler writes the
			// attributes of With before those of the line.
			attrs := []slog.Attr{
				slog.String("requestId", id), slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", rec.status), slog.Float64("durationMs", float64(d.Microseconds())/1000),
			}
			if info.tenantID != "" {
				attrs = append(attrs, slog.String("tenant", info.tenantID))
			}
			if info.key != nil {
				attrs = append(attrs, slog.String("keyId", info.key.ID))
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()
		next.ServeHTTP(rec, r)
	})
}

// problemsForMux answers the requests that match no route as problems: 404
// for an unknown path, 405 (with Allow) for a known path and another method.
func problemsForMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// Let the mux decide between 404 and 405, then answer in our format.
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.Header().Get("Allow"))
			writeProblem(w, r, directory.Errorf(codeMethodNotAllowed, "%s is not allowed here; allowed: %s.", r.Method, rec.Header().Get("Allow")))
			return
		}
		if rec.Code >= 300 && rec.Code < 400 { // the mux cleans paths with a redirect
			w.Header().Set("Location", rec.Header().Get("Location"))
			w.WriteHeader(rec.Code)
			return
		}
		writeProblem(w, r, directory.Errorf(directory.ECodeNotFound, "No route matches %s %s.", r.Method, r.URL.Path))
	})
}

// headerRecorder keeps the status and headers a handler writes and discards
// its body.
type headerRecorder struct {
	header http.Header
	Code   int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.Code == 0 {
		h.Code = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(b), nil
}
