package admission

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the webhook's Prometheus series. A nil *Metrics records
// nothing, so tests and qm need not build one.
type Metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	policy     prometheus.Histogram
	placement  prometheus.Histogram
	decisions  *prometheus.CounterVec
	panics     prometheus.Counter
	timeouts   *prometheus.CounterVec
	fastReject prometheus.Counter
}

// latencyBuckets resolve the fast path (tens of µs) and the deadline (500 ms)
// alike: 25 µs doubling to ~1.6 s.
var latencyBuckets = prometheus.ExponentialBuckets(25e-6, 2, 17)

// NewMetrics registers the admission series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quartermaster_webhook_requests_total",
			Help: "Admission requests by webhook operation (mutate, validate), object kind and result (allowed, patched, denied, errored).",
		}, []string{"operation", "kind", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "quartermaster_webhook_request_duration_seconds",
			Help:    "Time from reading the request to writing the response, by webhook operation and path (fast: no GPU requested; gpu: full decision).",
			Buckets: latencyBuckets,
		}, []string{"operation", "path"}),
		policy: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "quartermaster_webhook_policy_duration_seconds",
			Help:    "Policy evaluation time per GPU decision.",
			Buckets: latencyBuckets,
		}),
		placement: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "quartermaster_webhook_placement_duration_seconds",
			Help:    "Placement (cheapest feasible offer) time per GPU decision.",
			Buckets: latencyBuckets,
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quartermaster_webhook_decisions_total",
			Help: "Placements decided by mutation (dry runs excluded), by cloud, region and capacity type.",
		}, []string{"cloud", "region", "capacity_type"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quartermaster_webhook_panics_recovered_total",
			Help: "Panics recovered while handling a request; each one answered with an Errored response.",
		}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quartermaster_webhook_deadline_exceeded_total",
			Help: "Decisions that missed the internal deadline, by the configured outcome applied (allow, deny).",
		}, []string{"outcome"}),
		fastReject: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "quartermaster_webhook_bad_requests_total",
			Help: "Requests rejected before a decision: wrong method or content type, empty, oversized or malformed bodies.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.policy, m.placement, m.decisions, m.panics, m.timeouts, m.fastReject)
	return m
}

func (m *Metrics) request(op, kind, result string, path string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(op, kind, result).Inc()
	m.latency.WithLabelValues(op, path).Observe(d.Seconds())
}

func (m *Metrics) outcome(o *Outcome, dryRun bool, mode Mode) {
	if m == nil || o == nil {
		return
	}
	if o.PolicyDuration > 0 {
		m.policy.Observe(o.PolicyDuration.Seconds())
	}
	if o.PlacementDuration > 0 {
		m.placement.Observe(o.PlacementDuration.Seconds())
	}
	if d := o.Decision; d != nil && !o.Kept && !dryRun && mode == Mutate {
		m.decisions.WithLabelValues(d.Cloud, d.Region, string(d.CapacityType)).Inc()
	}
}

func (m *Metrics) panic() {
	if m != nil {
		m.panics.Inc()
	}
}

func (m *Metrics) timeout(outcome string) {
	if m != nil {
		m.timeouts.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) badRequest() {
	if m != nil {
		m.fastReject.Inc()
	}
}
