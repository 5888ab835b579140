package reload

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Source label values of the reload series.
const (
	SourceCatalog = "catalog"
	SourceQuota   = "quota"
)

// Metrics are the reload series of the catalog and the quotas. A nil
// *Metrics records nothing, so that tests and offline tools need none.
type Metrics struct {
	failures *prometheus.CounterVec
	reloads  *prometheus.CounterVec
	failing  *prometheus.GaugeVec
	asOf     prometheus.Gauge
	offers   prometheus.Gauge
	catalog  *prometheus.GaugeVec
	quota    *prometheus.GaugeVec
	// asOfBits holds the as-of time in seconds (math.Float64bits) for the
	// age gauge; NaN when the catalog names no as-of date.
	asOfBits atomic.Uint64
}

// NewMetrics registers, with reg:
//
//	quartermaster_webhook_reloads_total{source}       versions put in service after the first
//	quartermaster_webhook_reload_failing{source}      1 while the newest file is rejected
//	quartermaster_catalog_as_of_timestamp_seconds     the catalog's as-of date (0: none)
//	quartermaster_catalog_age_seconds                 now − as-of, at scrape time (NaN: no as-of)
//	quartermaster_catalog_offers                      offers in the catalog in service
//	quartermaster_catalog_info{revision,source}       1 for the catalog in service
//	quartermaster_quota_info{revision}                1 for the quota file in service
//
// Rejections are counted in failures, labelled by source: the webhook
// passes its quartermaster_webhook_reload_failures_total, which the
// certificate shares, so that one alert covers every reloaded input. now
// is the clock of the age gauge (nil: time.Now).
func NewMetrics(reg prometheus.Registerer, failures *prometheus.CounterVec, now func() time.Time) (*Metrics, error) {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{
		failures: failures,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quartermaster_webhook_reloads_total",
			Help: "New versions of a watched input put in service without a restart, by source (catalog, quota).",
		}, []string{"source"}),
		failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quartermaster_webhook_reload_failing",
			Help: "1 while the newest version of a watched input on disk is rejected (the previous one serves), by source.",
		}, []string{"source"}),
		asOf: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "quartermaster_catalog_as_of_timestamp_seconds",
			Help: "The as-of date of the prices in the catalog in service, as a Unix time; 0 when the catalog names none.",
		}),
		offers: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "quartermaster_catalog_offers",
			Help: "Offers in the catalog in service.",
		}),
		catalog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quartermaster_catalog_info",
			Help: "1 for the revision (content hash) and source of the catalog in service; the decision log records the same revision.",
		}, []string{"revision", "source"}),
		quota: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "quartermaster_quota_info",
			Help: "1 for the revision (content hash) of the quota file in service ('none' without --quota).",
		}, []string{"revision"}),
	}
	m.asOfBits.Store(math.Float64bits(math.NaN()))
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "quartermaster_catalog_age_seconds",
		Help: "Seconds since the as-of date of the catalog in service, at scrape time; NaN when the catalog names none.",
	}, func() float64 {
		return float64(now().UnixNano())/1e9 - math.Float64frombits(m.asOfBits.Load())
	})
	collectors := []prometheus.Collector{m.reloads, m.failing, m.asOf, m.offers, m.catalog, m.quota, age}
	if failures == nil {
		m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "quartermaster_webhook_reload_failures_total",
			Help: "Failed reloads of a watched input, by source; the previous version stays in use.",
		}, []string{"source"})
		collectors = append(collectors, m.failures)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Both sources appear from the start, at zero, so that rate() and
	// absent() alerts work before the first reload.
	for _, s := range []string{SourceCatalog, SourceQuota} {
		m.reloads.WithLabelValues(s)
		m.failures.WithLabelValues(s)
		m.failing.WithLabelValues(s).Set(0)
	}
	return m, nil
}

// reloaded records a new version of source in service.
func (m *Metrics) reloaded(source string) {
	if m == nil {
		return
	}
	m.reloads.WithLabelValues(source).Inc()
	m.failing.WithLabelValues(source).Set(0)
}

// rejected records a rejected version of source.
func (m *Metrics) rejected(source string) {
	if m == nil {
		return
	}
	m.failures.WithLabelValues(source).Inc()
	m.failing.WithLabelValues(source).Set(1)
}

// settled records that the file on disk is the one in service again.
func (m *Metrics) settled(source string) {
	if m == nil {
		return
	}
	m.failing.WithLabelValues(source).Set(0)
}

// serving describes the catalog and quota file in service.
func (m *Metrics) serving(c *Version[*costing.Catalog], quotaRevision string) {
	if m == nil {
		return
	}
	meta := c.Value.Meta()
	asOf := math.NaN()
	if t, err := time.Parse(time.DateOnly, meta.AsOf); err == nil {
		asOf = float64(t.Unix())
		m.asOf.Set(asOf)
	} else {
		m.asOf.Set(0)
	}
	m.asOfBits.Store(math.Float64bits(asOf))
	m.offers.Set(float64(c.Value.Len()))
	m.catalog.Reset()
	m.catalog.WithLabelValues(c.Revision, meta.Source).Set(1)
	m.quota.Reset()
	m.quota.WithLabelValues(quotaRevision).Set(1)
}
