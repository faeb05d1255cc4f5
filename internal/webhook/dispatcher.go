package webhook

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roster-dev/roster/internal/directory"
)

// DeliveryStore is what the Dispatcher needs of a store; directory.Store
// satisfies it.
type DeliveryStore interface {
	// ClaimDeliveries leases up to limit due deliveries, at most one per
	// endpoint and user: the oldest pending one.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*directory.ClaimedDelivery, error)
	// FinishAttempt records an attempt; on failure the delivery is due
	// again at next.
	FinishAttempt(ctx context.Context, d *directory.Delivery, a *directory.Attempt, next time.Time) error
}

// DispatcherOptions tune a Dispatcher. Zero values take the defaults.
type DispatcherOptions struct {
	// Interval is how often the store is asked for due deliveries when
	// nothing kicks the Dispatcher. Default 1 s.
	Interval time.Duration
	// Lease is how long a claimed delivery stays with this Dispatcher
	// before another may claim it. An attempt is cut short so that it
	// ends, and is recorded, within its lease. Default 1 min.
	Lease time.Duration
	// BatchSize is the most deliveries claimed at once. Default 100.
	BatchSize int
	// Workers is the most deliveries in flight at once. Default 8.
	Workers int
	// BaseBackoff bounds the delay before the first retry; each further
	// failure doubles the bound, up to MaxBackoff; the delay is drawn
	// uniformly below the bound (full jitter). Defaults 1 s and 5 min.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Registerer, if not nil, registers the Dispatcher's metrics.
	Registerer prometheus.Registerer
}

// Outcomes of an attempt, as counted in roster_webhook_delivery_attempts_total.
const (
	outcomeDelivered = "delivered"
	outcomeHTTPError = "http_error"    // an answer other than 2xx, redirects included
	outcomeTimeout   = "timeout"       // no answer within the endpoint's timeout
	outcomeNetwork   = "network_error" // no connection, TLS failure, a reset
	outcomeForbidden = "forbidden"     // the address is refused (NewClient)
)

// Dispatcher delivers the outbox's events to event endpoints: it claims due
// deliveries from the store, POSTs each signed payload, and records the
// attempt. A delivery that fails is retried with exponential back-off,
// forever: an event is never dropped, and since the store hands out only
// the oldest pending delivery of each endpoint and user, a receiver that is
// down holds back that user's later events, which then arrive in order.
// Several Dispatchers, in one process or many, may share a store.
type Dispatcher struct {
	store  DeliveryStore
	client *http.Client
	log    *slog.Logger
	opts   DispatcherOptions

	kick  chan struct{} // a commit, or a success that may free a successor
	freed chan struct{} // a worker finished

	now    func() time.Time
	jitter func(bound time.Duration) time.Duration

	attempts    *prometheus.CounterVec
	duration    prometheus.Histogram
	storeErrors *prometheus.CounterVec
}

// NewDispatcher returns a Dispatcher that claims deliveries from store and
// sends them with client (NewClient(false) if nil). It does nothing until
// Run.
func NewDispatcher(store DeliveryStore, client *http.Client, log *slog.Logger, opts DispatcherOptions) *Dispatcher {
	if client == nil {
		client = NewClient(false)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.BaseBackoff)
	d := &Dispatcher{
		store: store, client: client, log: log, opts: opts,
		kick:   make(chan struct{}, 1),
		freed:  make(chan struct{}, 1),
		now:    time.Now,
		jitter: func(bound time.Duration) time.Duration { return rand.N(bound + 1) },
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_webhook_delivery_attempts_total",
			Help: "Webhook event delivery attempts by outcome.",
		}, []string{"outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "roster_webhook_delivery_duration_seconds",
			Help:    "Duration of webhook event delivery attempts.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roster_webhook_store_errors_total",
			Help: "Failed store operations of the webhook dispatcher.",
		}, []string{"op"}),
	}
	for _, o := range []string{outcomeDelivered, outcomeHTTPError, outcomeTimeout, outcomeNetwork, outcomeForbidden} {
		d.attempts.WithLabelValues(o)
	}
	d.storeErrors.WithLabelValues("claim")
	d.storeErrors.WithLabelValues("finish")
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(d.attempts, d.duration, d.storeErrors)
	}
	return d
}

// Kick makes the Dispatcher look for due deliveries now rather than at its
// next Interval. It never blocks; call it after committing a write that
// queued deliveries.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the attempts in flight and
// returns nil. An attempt cut short by ctx is not recorded: its delivery is
// claimed again once its lease expires. Store errors are logged and
// counted, never returned. Call Run once.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, d.opts.Workers) // a send takes a worker
	timer := time.NewTimer(d.opts.Interval)
	defer timer.Stop()
	for ctx.Err() == nil {
		// Only as many deliveries are claimed as can start at once, so
		// each attempt runs within its lease.
		free := cap(slots) - len(slots)
		if free == 0 {
			select {
			case <-ctx.Done():
			case <-d.freed:
			}
			continue
		}
		limit := min(free, d.opts.BatchSize)
		now := d.now()
		claimed, err := d.store.ClaimDeliveries(ctx, now, d.opts.Lease, limit)
		if err != nil && ctx.Err() == nil {
			d.storeErrors.WithLabelValues("claim").Inc()
			d.log.Error("claim webhook deliveries", slog.String("error", err.Error()))
		}
		leaseEnd := now.Add(d.opts.Lease)
		for _, cd := range claimed {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() {
					<-slots
					select {
					case d.freed <- struct{}{}:
					default:
					}
				}()
				d.deliver(ctx, cd, leaseEnd)
			})
		}
		if err == nil && len(claimed) == limit {
			continue // more may be due
		}
		timer.Reset(d.opts.Interval)
		select {
		case <-ctx.Done():
		case <-d.kick:
		case <-timer.C:
		}
	}
	return nil
}

// deliver makes one attempt at a claimed delivery and records it.
func (d *Dispatcher) deliver(ctx context.Context, cd *directory.ClaimedDelivery, leaseEnd time.Time) {
	dl, e := cd.Delivery, cd.Endpoint
	now := d.now()
	// The attempt must end, and be recorded, before the lease does: after
	// it, another Dispatcher may send the same delivery.
	margin := min(5*time.Second, d.opts.Lease/5)
	timeout := min(EndpointTimeout(e), leaseEnd.Sub(now)-margin)
	log := d.log.With(slog.String("tenant", dl.TenantID), slog.String("endpointId", e.ID),
		slog.String("deliveryId", dl.ID), slog.String("eventId", dl.EventID))
	if timeout <= 0 {
		log.Warn("webhook delivery lease ran out before the attempt; it will be claimed again")
		return
	}
	// An attempt under way finishes, and is recorded, even when the
	// Dispatcher is stopping: abandoning it after the receiver has answered
	// would send the event again once the lease ends. The timeout bounds it.
	a := post(context.WithoutCancel(ctx), d.client, e, dl.EventID, cd.Payload, now, timeout, false)
	att := &directory.Attempt{DeliveryID: dl.ID, At: now, StatusCode: a.status, DurationMS: a.duration.Milliseconds()}
	next := now
	outcome := outcomeDelivered
	if !a.ok() {
		att.Error = a.describe(timeout)
		next = now.Add(d.backoff(dl.Attempts + 1))
		outcome = classify(a)
	}
	d.attempts.WithLabelValues(outcome).Inc()
	d.duration.Observe(a.duration.Seconds())

	// Record a finished attempt even if ctx ends meanwhile: the receiver
	// has seen it.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.store.FinishAttempt(fctx, dl, att, next); err != nil {
		d.storeErrors.WithLabelValues("finish").Inc()
		log.Error("record webhook attempt", slog.String("error", err.Error()))
		return
	}
	if outcome == outcomeDelivered {
		d.Kick() // the user's next event may be due now
		return
	}
	log.Debug("webhook delivery failed", slog.String("error", att.Error),
		slog.Int("attempt", dl.Attempts+1), slog.Time("nextAttemptAt", next))
}

// backoff returns the delay before the retry that follows the nth failed
// attempt (n >= 1): uniform in [0, min(BaseBackoff·2ⁿ⁻¹, MaxBackoff)].
func (d *Dispatcher) backoff(n int) time.Duration {
	bound := d.opts.BaseBackoff
	for i := 1; i < n && bound < d.opts.MaxBackoff; i++ {
		bound *= 2
	}
	return d.jitter(min(bound, d.opts.MaxBackoff))
}

// classify names the outcome of a failed attempt.
func classify(a answer) string {
	var ae *AddrError
	switch {
	case a.err == nil:
		return outcomeHTTPError
	case errors.As(a.err, &ae):
		return outcomeForbidden
	case errors.Is(a.err, context.DeadlineExceeded) || isTimeout(a.err):
		return outcomeTimeout
	}
	return outcomeNetwork
}
