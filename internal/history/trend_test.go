package history

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// nov is the start of November 2026 (30 days; December starts 30 days on).
var nov = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// costRun is a run at day d of November whose spend is the sum of its
// teams' run rates.
func costRun(id string, d float64, teams map[string]float64) *report.Report {
	r := &report.Report{Run: report.Run{ID: id, Start: nov.Add(time.Duration(d * float64(24*time.Hour)))}}
	for team, m := range teams {
		r.Costs.ByTeam = append(r.Costs.ByTeam, audit.CostLine{Key: team, Monthly: m})
		r.Summary.SpendMonthly += m
	}
	r.Summary.Findings = int(d)
	return r
}

// series builds runs at the given days with one team per value list.
func series(days []float64, teams map[string][]float64) []*report.Report {
	var rs []*report.Report
	for i, d := range days {
		m := map[string]float64{}
		for team, vs := range teams {
			if !math.IsNaN(vs[i]) {
				m[team] = vs[i]
			}
		}
		rs = append(rs, costRun("r"+string(rune('0'+i)), d, m))
	}
	return rs
}

var nan = math.NaN()

func TestBuildTrend(t *testing.T) {
	// The straight line: 730 USD/month more each day, i.e. one more dollar
	// an hour, from Nov 1 to Nov 5 (T).
	//   month to date: 24 × (1+2+3+4) = 240 (each day at the run's rate)
	//   regression:    α = 3650 (at T), β = 730 per day
	//   projection:    ∫_0^26 (3650 + 730x) dx × 24/730 = (94900 + 246740) × 24/730 = 11232
	line := series([]float64{0, 1, 2, 3, 4}, map[string][]float64{"a": {730, 1460, 2190, 2920, 3650}})
	for name, tc := range map[string]struct {
		runs []*report.Report // the last is the current run
		opts TrendOptions
		// shuffle passes the earlier runs in this order of indexes.
		shuffle []int
		// anomaliesOnly compares only the anomalies.
		anomaliesOnly bool
		want          report.Trend
	}{
		"straight line": {
			runs: line,
			want: report.Trend{SpendMonthToDate: 240, SlopePerDay: 730, ForecastMonthEnd: 11472},
		},
		"runs out of order": {
			runs: line, shuffle: []int{2, 0, 3, 1},
			want: report.Trend{SpendMonthToDate: 240, SlopePerDay: 730, ForecastMonthEnd: 11472},
		},
		"a run older than the window is a point but not in the regression": {
			runs: append([]*report.Report{costRun("old", -61, map[string]float64{"a": 100000})}, line...),
			want: report.Trend{SpendMonthToDate: 240, SlopePerDay: 730, ForecastMonthEnd: 11472},
		},
		"single run": {
			// Nov 5 at 730 a month, assumed since Nov 1: 96 h × 1 USD.
			runs: []*report.Report{costRun("only", 4, map[string]float64{"a": 730})},
			want: report.Trend{SpendMonthToDate: 96},
		},
		"two runs: no forecast": {
			runs: series([]float64{3, 4}, map[string][]float64{"a": {730, 1460}}),
			want: report.Trend{SpendMonthToDate: 96},
		},
		"step jump for one team": {
			// vision's changes were 0, 0, 0 (sd floored at 1), then +800/day.
			// Spend 1100, 1100, 1100, 1100, 1900: MTD = 4 × 24 × 1100/730.
			// Regression: x̄ = −2, ȳ = 1260, y − ȳ = −160 ×4, 640;
			// Sxy = 320 + 160 − 160 + 1280 = 1600, Sxx = 10: β = 160,
			// α = 1260 + 2 × 160 = 1580.
			// Projection ∫_0^26 (1580 + 160x) dx × 24/730 = (41080 + 54080) × 24/730.
			runs: series([]float64{0, 1, 2, 3, 4}, map[string][]float64{
				"steady": {1000, 1000, 1000, 1000, 1000}, "vision": {100, 100, 100, 100, 900}}),
			want: report.Trend{
				SpendMonthToDate: round2(96 * 1100.0 / 730), SlopePerDay: 160,
				ForecastMonthEnd: round2(96*1100.0/730 + (41080+54080)*24.0/730),
				Anomalies:        []report.Anomaly{{Team: "vision", Previous: 100, Current: 900, ZScore: 800}},
			},
		},
		"step jump under a higher threshold": {
			// As above less 1000: ȳ = 260, β = 160, α = 580.
			runs: series([]float64{0, 1, 2, 3, 4}, map[string][]float64{"vision": {100, 100, 100, 100, 900}}),
			opts: TrendOptions{Threshold: 1000},
			want: report.Trend{SpendMonthToDate: round2(96 * 100.0 / 730), SlopePerDay: 160,
				ForecastMonthEnd: round2(96*100.0/730 + (580*26+80*676)*24.0/730)},
		},
		"noise": {
			// b and c alternate ±10: earlier changes 10, −10, 10, −10, mean 0,
			// sd √(400/3) = 11.547. b's last change +100: z = 8.66; c's +10:
			// z = 0.87. "new" jumps too but has only 2 runs before the last.
			runs: series([]float64{0, 1, 2, 3, 4, 5}, map[string][]float64{
				"b": {100, 110, 100, 110, 100, 200}, "c": {100, 110, 100, 110, 100, 110},
				"new": {nan, nan, nan, 10, 10, 1000}}),
			anomaliesOnly: true,
			want: report.Trend{
				Anomalies: []report.Anomaly{{Team: "b", Previous: 100, Current: 200, ZScore: 8.66}},
			},
		},
		"changes are per day": {
			// 10 a day throughout, with a two-day gap before the last run.
			runs: series([]float64{0, 1, 2, 3, 5}, map[string][]float64{"x": {100, 110, 120, 130, 150}}),
			want: report.Trend{SpendMonthToDate: round2((100 + 110 + 120 + 2*130) * 24 / 730.0), SlopePerDay: 10,
				ForecastMonthEnd: round2((100+110+120+2*130)*24/730.0 + (150*25+5*625)*24/730.0)},
		},
		"a team that stopped spending collapses": {
			runs: series([]float64{0, 1, 2, 3, 4}, map[string][]float64{
				"gone": {500, 500, 500, 500, nan}, "stay": {10, 10, 10, 10, 10}}),
			want: report.Trend{
				SpendMonthToDate: round2(96 * 510.0 / 730), SlopePerDay: -100,
				// Regression y 510 ×4, 10: ȳ = 410, Sxy = −200 − 100 + 100 − 800
				// = −1000, β = −100, α = 410 − 200 = 210: the line reaches zero
				// at x = 2.1, ∫_0^2.1 (210 − 100x) dx = 441 − 220.5 = 220.5,
				// and nothing after.
				ForecastMonthEnd: round2((96*510.0 + 220.5*24) / 730),
				Anomalies:        []report.Anomaly{{Team: "gone", Previous: 500, Current: 0, ZScore: -500}},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			cur, earlier := tc.runs[len(tc.runs)-1], tc.runs[:len(tc.runs)-1]
			if tc.shuffle != nil {
				var e []*report.Report
				for _, i := range tc.shuffle {
					e = append(e, earlier[i])
				}
				// A stale copy of the current run is replaced by it.
				stale := *cur
				stale.Summary.SpendMonthly = 1e9
				earlier = append(e, &stale, nil)
			}
			got := BuildTrend(cur, earlier, tc.opts)
			if tc.anomaliesOnly {
				if d := cmp.Diff(tc.want.Anomalies, got.Anomalies, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("anomalies (-want +got):\n%s", d)
				}
				return
			}
			var want []report.TrendPoint
			for _, r := range tc.runs {
				want = append(want, report.TrendPoint{RunID: r.Run.ID, Time: r.Run.Start, SpendMonthly: r.Summary.SpendMonthly, Findings: r.Summary.Findings})
			}
			tc.want.Points = want
			if d := cmp.Diff(&tc.want, got, cmpopts.EquateApprox(0, 0.006), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("BuildTrend (-want +got):\n%s", d)
			}
		})
	}
}

func TestBuildTrendEmpty(t *testing.T) {
	got := BuildTrend(nil, nil, TrendOptions{})
	if got == nil || len(got.Points) != 0 || got.ForecastMonthEnd != 0 || got.Anomalies != nil {
		t.Errorf("BuildTrend(nothing) = %+v", got)
	}
}

func TestPositiveIntegral(t *testing.T) {
	for name, tc := range map[string]struct{ alpha, beta, a, b, want float64 }{
		"flat":                     {3, 0, 0, 2, 6},
		"flat negative":            {-3, 0, 0, 2, 0},
		"rising":                   {1, 2, 0, 3, 12},
		"falling through zero":     {10, -1, 0, 26, 50},
		"rising through zero":      {-5, 1, 0, 10, 12.5},
		"negative throughout":      {-1, -1, 0, 10, 0},
		"zero at the left end":     {0, -1, 0, 10, 0},
		"crossing after the range": {10, -1, 0, 4, 32},
	} {
		if got := positiveIntegral(tc.alpha, tc.beta, tc.a, tc.b); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: ∫ = %v, want %v", name, got, tc.want)
		}
	}
}
