package policy

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the policy engine's Prometheus metrics. A nil *Metrics
// records nothing, so that tests and the CLI need none.
type Metrics struct {
	reloads  *prometheus.CounterVec
	failing  prometheus.Gauge
	revision *prometheus.GaugeVec
}

// NewMetrics registers the metrics with reg:
//
//	quartermaster_policy_reloads_total{result="success|failure"}
//	quartermaster_policy_reload_failing   1 while the newest bundle is rejected
//	quartermaster_policy_bundle_info{revision}  1 for the bundle in service
//	quartermaster_policy_compilations_total     queries prepared by this process
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quartermaster_policy_reloads_total",
			Help: "Policy bundle loads by result; a failure leaves the previous bundle in service.",
		}, []string{"result"}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "quartermaster_policy_reload_failing",
			Help: "1 while the newest policy bundle on disk is rejected (the previous one serves).",
		}),
		revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quartermaster_policy_bundle_info",
			Help: "1 for the revision of the policy bundle in service.",
		}, []string{"revision"}),
	}
	compiles := prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "quartermaster_policy_compilations_total",
		Help: "Policy queries prepared by this process; it grows with reloads, never with requests.",
	}, func() float64 { return float64(Compilations()) })
	for _, c := range []prometheus.Collector{m.reloads, m.failing, m.revision, compiles} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) reloaded(ok bool, serving string) {
	if m == nil {
		return
	}
	if !ok {
		m.reloads.WithLabelValues("failure").Inc()
		m.failing.Set(1)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.failing.Set(0)
	m.revision.Reset()
	m.revision.WithLabelValues(serving).Set(1)
}
