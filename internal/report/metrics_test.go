package report

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/quartermaster-io/quartermaster/internal/audit"
)

// series indexes parsed metric families by name and label values, e.g.
// `quartermaster_audit_findings{category="waste",severity="high"}`.
func series(t *testing.T, mfs map[string]*dto.MetricFamily) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for name, mf := range mfs {
		if mf.GetType() != dto.MetricType_GAUGE {
			t.Errorf("%s is a %s, want a gauge", name, mf.GetType())
		}
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"=\""+l.GetValue()+"\"")
			}
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func parseText(t *testing.T, r io.Reader) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("the metrics do not parse as the text format: %v", err)
	}
	return series(t, mfs)
}

// The text written is the exposition format, with the run's figures and a
// zero for every category × severity and account status not seen.
func TestWriteMetrics(t *testing.T) {
	r := sampleReport(func(r *Report) {
		r.Costs.ByTeam = append(r.Costs.ByTeam, audit.CostLine{Key: "", GPUs: 2, Monthly: 1500})
	})
	var b bytes.Buffer
	if err := WriteMetrics(&b, r); err != nil {
		t.Fatal(err)
	}
	got := parseText(t, bytes.NewReader(b.Bytes()))
	want := map[string]float64{
		`quartermaster_audit_findings{category="compliance",severity="critical"}`: 1,
		`quartermaster_audit_findings{category="waste",severity="high"}`:          1,
		`quartermaster_audit_findings{category="cost",severity="info"}`:           0,
		`quartermaster_audit_findings{category="compliance",severity="info"}`:     0,
		`quartermaster_audit_waste_monthly_usd{check="idle-gpu"}`:                 23456.78,
		`quartermaster_audit_waste_monthly_usd{check="unattached-disk"}`:          80,
		`quartermaster_audit_spend_monthly_usd{team="research"}`:                  70000,
		`quartermaster_audit_spend_monthly_usd{team="interns"}`:                   0,
		`quartermaster_audit_spend_monthly_usd{team="unassigned"}`:                1500,
		`quartermaster_audit_idle_monthly_usd`:                                    23456.78,
		`quartermaster_audit_run_duration_seconds`:                                270,
		`quartermaster_audit_accounts{status="scanned"}`:                          1,
		`quartermaster_audit_accounts{status="resumed"}`:                          1,
		`quartermaster_audit_accounts{status="failed"}`:                           1,
		`quartermaster_audit_resources{kind="Disk"}`:                              120,
		`quartermaster_audit_run_errors`:                                          1,
		`quartermaster_audit_last_run_timestamp_seconds`:                          float64(r.Run.End.Unix()),
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	n := 0
	for k := range got {
		if strings.HasPrefix(k, metricFindings+"{") {
			n++
		}
	}
	if n != 25 {
		t.Errorf("%d findings series, want 25 (5 categories × 5 severities)", n)
	}
	if !strings.Contains(b.String(), "# HELP quartermaster_audit_findings ") || !strings.Contains(b.String(), "# TYPE quartermaster_audit_findings gauge") {
		t.Error("no HELP and TYPE lines")
	}
}

// The textfile collector's file holds the same metrics, and no temporary
// file is left beside it.
func TestWriteMetricsFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "quartermaster.prom")
	r := sampleReport()
	if err := WriteMetricsFile(path, r); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	if err := WriteMetrics(&b, r); err != nil {
		t.Fatal(err)
	}
	if got, want := parseText(t, f), parseText(t, &b); len(got) != len(want) {
		t.Errorf("file has %d series, WriteMetrics %d", len(got), len(want))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d files, want the .prom alone", len(entries))
	}
	if err := WriteMetricsFile(filepath.Join(dir, "missing", "x.prom"), r); err == nil || !strings.Contains(err.Error(), "writing the run's metrics to") {
		t.Errorf("error %v, want one naming the file", err)
	}
}

// PushMetrics PUTs the run's metrics to the Pushgateway's group of the job
// (of the shard, for a shard), in a body expfmt decodes.
func TestPushMetrics(t *testing.T) {
	tests := map[string]struct {
		shard    string
		status   int
		wantPath string
		wantErr  string
	}{
		"whole run":   {wantPath: "/metrics/job/quartermaster-audit", status: http.StatusOK},
		"shard":       {shard: "2/4", wantPath: "/metrics/job/quartermaster-audit/shard/2", status: http.StatusOK},
		"merged":      {shard: "merged from 4", wantPath: "/metrics/job/quartermaster-audit", status: http.StatusOK},
		"gateway 500": {wantPath: "/metrics/job/quartermaster-audit", status: http.StatusInternalServerError, wantErr: "pushing the run's metrics to"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got map[string]float64
			var method, path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				method, path = req.Method, req.URL.Path
				dec := expfmt.NewDecoder(req.Body, expfmt.ResponseFormat(req.Header))
				mfs := map[string]*dto.MetricFamily{}
				for {
					var mf dto.MetricFamily
					err := dec.Decode(&mf)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						t.Errorf("pushed body does not decode (%s): %v", req.Header.Get("Content-Type"), err)
						break
					}
					mfs[mf.GetName()] = &mf
				}
				got = series(t, mfs)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			r := sampleReport(func(r *Report) { r.Run.Shard = tc.shard })
			err := PushMetrics(context.Background(), srv.URL, "quartermaster-audit", r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if method != http.MethodPut || path != tc.wantPath {
				t.Errorf("%s %s, want PUT %s", method, path, tc.wantPath)
			}
			if v := got[`quartermaster_audit_waste_monthly_usd{check="idle-gpu"}`]; v != 23456.78 {
				t.Errorf("pushed idle-gpu waste %v, want 23456.78 (series: %d)", v, len(got))
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := PushMetrics(ctx, "http://127.0.0.1:1", "j", sampleReport()); err == nil {
			t.Error("a cancelled push succeeded")
		}
	})
}

// With history, the run's anomalies and forecast are gauges the chart's
// PrometheusRule alerts on; without it, neither series exists.
func TestTrendMetrics(t *testing.T) {
	r := sampleReport(func(r *Report) {
		r.Trend = &Trend{ForecastMonthEnd: 123456.5, Anomalies: []Anomaly{{Team: "research", Previous: 10000, Current: 40000, ZScore: 7.5}, {Team: "", ZScore: -4}}}
	})
	var b bytes.Buffer
	if err := WriteMetrics(&b, r); err != nil {
		t.Fatal(err)
	}
	got := parseText(t, bytes.NewReader(b.Bytes()))
	for k, v := range map[string]float64{
		`quartermaster_audit_spend_anomaly_zscore{team="research"}`:   7.5,
		`quartermaster_audit_spend_anomaly_zscore{team="unassigned"}`: -4,
		`quartermaster_audit_spend_forecast_month_end_usd`:            123456.5,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	b.Reset()
	if err := WriteMetrics(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "quartermaster_audit_spend_forecast") || strings.Contains(b.String(), "quartermaster_audit_spend_anomaly_zscore{") {
		t.Errorf("trend metrics without a trend:\n%s", b.String())
	}
}
