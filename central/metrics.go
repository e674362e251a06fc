package central

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// activeWindow is how recently a device must have synced to count as
// active in terrain_active_devices.
const activeWindow = 24 * time.Hour

// metrics are the service's Prometheus metrics, in a registry of the
// Server's own (two servers in one test process do not collide). Labels
// hold outcomes and operations only: never a device, account or address.
type metrics struct {
	reg            *prometheus.Registry
	syncs          *prometheus.CounterVec
	syncSeconds    prometheus.Histogram
	pushed         prometheus.Counter
	pulled         prometheus.Counter
	signInFailures *prometheus.CounterVec
	backendSeconds *prometheus.HistogramVec

	mu       sync.Mutex
	lastSeen map[string]time.Time // device id -> last successful sync
	now      func() time.Time
}

func newMetrics(now func() time.Time) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "terrain_sync_requests_total",
			Help: "Sync requests answered, by outcome: ok, or the protocol error code.",
		}, []string{"outcome"}),
		syncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "terrain_sync_request_duration_seconds",
			Help:    "Time to answer a sync request, body read and written included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		pushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "terrain_pushed_mutations_total",
			Help: "Mutations received from devices in successful sync requests (retries included).",
		}),
		pulled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "terrain_pulled_changes_total",
			Help: "Changes sent to devices.",
		}),
		signInFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "terrain_sign_in_failures_total",
			Help: "Failed sign-ins, by reason: bad_credentials, too_many_attempts, disabled.",
		}, []string{"reason"}),
		backendSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "terrain_backend_transaction_duration_seconds",
			Help:    "Time of backend transactions, by kind (view or update), waiting for the writer included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}, []string{"op"}),
		lastSeen: map[string]time.Time{},
		now:      now,
	}
	active := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "terrain_active_devices",
		Help: "Devices that synced successfully in the last 24 hours (since this process started).",
	}, func() float64 { return float64(m.active()) })
	m.reg.MustRegister(m.syncs, m.syncSeconds, m.pushed, m.pulled, m.signInFailures, m.backendSeconds, active,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// active counts the devices seen within activeWindow, forgetting older ones.
func (m *metrics) active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	cutoff := m.now().Add(-activeWindow)
	for id, t := range m.lastSeen {
		if t.Before(cutoff) {
			delete(m.lastSeen, id)
		}
	}
	return len(m.lastSeen)
}

func (m *metrics) seen(device string) {
	m.mu.Lock()
	m.lastSeen[device] = m.now()
	m.mu.Unlock()
}

// instrumentSync counts a sync request by outcome, times it, and adds what
// it pushed and pulled. It reads what handleSync left in the request's
// requestInfo.
func (s *Server) instrumentSync(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next(sw, r)
		s.metrics.syncSeconds.Observe(time.Since(start).Seconds())
		ri := info(r)
		outcome := "ok"
		if sw.status != http.StatusOK {
			outcome = ri.code
			if outcome == "" {
				outcome = "http_" + strconv.Itoa(sw.status)
			}
		}
		s.metrics.syncs.WithLabelValues(outcome).Inc()
		if outcome == "ok" {
			s.metrics.pushed.Add(float64(ri.muts))
			s.metrics.pulled.Add(float64(ri.changes))
			s.metrics.seen(ri.device)
		}
	}
}

// signInFailed counts a failed sign-in and logs it on the audit log with
// the account tried, for incident review; never the password nor the
// client address.
func (s *Server) signInFailed(r *http.Request, account, reason string) {
	s.metrics.signInFailures.WithLabelValues(reason).Inc()
	s.audit.Warn("sign-in failed", "account", account, "reason", reason, "device", info(r).device)
}

// MetricsHandler serves the metrics in Prometheus' text format. It is not
// part of Handler: the API faces the Internet, the metrics an internal
// network (terrain-central serve --metrics-addr).
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// timedBackend times every transaction of a Backend for the metrics.
type timedBackend struct {
	Backend
	hist *prometheus.HistogramVec
}

func (b timedBackend) View(ctx context.Context, fn func(ReadTx) error) error {
	defer b.observe("view", time.Now())
	return b.Backend.View(ctx, fn)
}

func (b timedBackend) Update(ctx context.Context, fn func(Tx) error) error {
	defer b.observe("update", time.Now())
	return b.Backend.Update(ctx, fn)
}

func (b timedBackend) observe(op string, start time.Time) {
	b.hist.WithLabelValues(op).Observe(time.Since(start).Seconds())
}
