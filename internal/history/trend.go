package history

import (
	"cmp"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// TrendOptions tune BuildTrend. The zero value means the defaults.
type TrendOptions struct {
	// Window is how far back from the newest run the regression reads
	// (default 30 days): long enough to smooth nightly noise, short
	// enough that last quarter's growth does not steer this month.
	Window time.Duration
	// Threshold is the |z| above which a team's last change is an anomaly
	// (default 3: under a normal distribution of changes, about 1 in 370
	// runs of a steady team would be flagged by chance).
	Threshold float64
	// MinStdDev is the smallest standard deviation of a team's earlier
	// changes, in USD of monthly run rate per day (default 1), so that a
	// perfectly flat history does not divide by zero: a team whose rate
	// never moved is flagged when it moves by more than Threshold dollars
	// a day.
	MinStdDev float64
}

// Defaults of TrendOptions, and how many stored runs the auditor reads for
// the trend (DefaultTrendRuns: three months of nightly runs).
const (
	DefaultWindow    = 30 * 24 * time.Hour
	DefaultThreshold = 3.0
	DefaultMinStdDev = 1.0
	DefaultTrendRuns = 90
)

func (o TrendOptions) withDefaults() TrendOptions {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Threshold <= 0 {
		o.Threshold = DefaultThreshold
	}
	if o.MinStdDev <= 0 {
		o.MinStdDev = DefaultMinStdDev
	}
	return o
}

// minRegression is the fewest points the regression and forecast need.
const minRegression = 3

// day is the unit of the regression's x axis and of anomaly changes.
const day = 24 * time.Hour

// BuildTrend builds the trend of cur and the earlier runs (in any order;
// a run with cur's ID is replaced by cur; nil entries are ignored).
//
// Points are one per run, oldest first: Run.Start, Summary.SpendMonthly,
// Summary.WasteMonthly and Summary.Findings. T is the newest point's time.
//
// Regression: over the points no older than T − Window, x = days relative
// to T and y = the monthly spend run rate r; stat.LinearRegression gives
// r̂(x) = α + β·x by ordinary least squares. SlopePerDay = β. It needs at
// least 3 points at two or more distinct times; otherwise SlopePerDay and
// ForecastMonthEnd are zero.
//
// Month-end forecast, for the calendar month (UTC) holding T, from its
// first instant S to the first instant E of the next month. A monthly run
// rate r costs r × 24 / 730 USD a day (costing.HoursPerMonth = 730).
//
//	SpendMonthToDate = ∫_S^T r(t) dt / 730 h, with r(t) the rate of the
//	                   newest point at or before t (the oldest point's rate
//	                   before the first point): each run's rate held until
//	                   the next run.
//	ForecastMonthEnd = SpendMonthToDate + ∫_0^{(E−T)/day} max(0, α + β·x) dx × 24/730
//
// Anomalies, per team (Costs.ByTeam). A team's series starts at the first
// run that lists it; a later run that does not list it counts as zero.
// Each change is per day: Δᵢ = (rᵢ − rᵢ₋₁) / max(tᵢ − tᵢ₋₁, 1h) in days.
// The last change Δ_last (into the newest run) is scored against the
// team's earlier changes with stat.MeanStdDev (sample standard deviation):
//
//	z = (Δ_last − mean) / max(sd, MinStdDev)
//
// and the team is an anomaly when |z| > Threshold (a jump or a collapse).
// A team with fewer than 3 runs before the newest is never flagged.
// Anomalies are sorted by |z|, largest first.
func BuildTrend(cur *report.Report, earlier []*report.Report, o TrendOptions) *report.Trend {
	o = o.withDefaults()
	runs := collect(cur, earlier)
	t := &report.Trend{Points: make([]report.TrendPoint, 0, len(runs))}
	for _, r := range runs {
		t.Points = append(t.Points, report.TrendPoint{
			RunID: r.Run.ID, Time: r.Run.Start, SpendMonthly: r.Summary.SpendMonthly,
			WasteMonthly: r.Summary.WasteMonthly, Findings: r.Summary.Findings,
		})
	}
	if len(runs) == 0 {
		return t
	}
	last := t.Points[len(t.Points)-1].Time
	start := time.Date(last.UTC().Year(), last.UTC().Month(), 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	mtd := monthToDate(t.Points, start, last)
	t.SpendMonthToDate = round2(mtd)

	if alpha, beta, ok := regress(t.Points, last, o.Window); ok {
		t.SlopePerDay = round2(beta)
		remaining := end.Sub(last).Hours() / 24
		projected := positiveIntegral(alpha, beta, 0, remaining) * 24 / costing.HoursPerMonth
		t.ForecastMonthEnd = round2(mtd + projected)
	}
	t.Anomalies = anomalies(runs, o)
	return t
}

// collect orders the runs oldest first, cur replacing a stored run with
// its ID.
func collect(cur *report.Report, earlier []*report.Report) []*report.Report {
	var runs []*report.Report
	for _, r := range earlier {
		if r != nil && (cur == nil || r.Run.ID != cur.Run.ID) {
			runs = append(runs, r)
		}
	}
	if cur != nil {
		runs = append(runs, cur)
	}
	slices.SortStableFunc(runs, func(a, b *report.Report) int {
		if c := a.Run.Start.Compare(b.Run.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.Run.ID, b.Run.ID)
	})
	return runs
}

// monthToDate integrates the step function of the points' run rates from
// start to end, in USD.
func monthToDate(ps []report.TrendPoint, start, end time.Time) float64 {
	rate := ps[0].SpendMonthly
	for _, p := range ps {
		if p.Time.After(start) {
			break
		}
		rate = p.SpendMonthly
	}
	var sum float64
	prev := start
	for _, p := range ps {
		if !p.Time.After(start) || p.Time.After(end) {
			continue
		}
		sum += rate * p.Time.Sub(prev).Hours()
		prev, rate = p.Time, p.SpendMonthly
	}
	sum += rate * end.Sub(prev).Hours()
	return sum / costing.HoursPerMonth
}

// regress fits the run rate over the window against days relative to
// last.
func regress(ps []report.TrendPoint, last time.Time, window time.Duration) (alpha, beta float64, ok bool) {
	var xs, ys []float64
	for _, p := range ps {
		if last.Sub(p.Time) > window {
			continue
		}
		xs = append(xs, p.Time.Sub(last).Hours()/24)
		ys = append(ys, p.SpendMonthly)
	}
	if len(xs) < minRegression || slices.Min(xs) == slices.Max(xs) {
		return 0, 0, false
	}
	alpha, beta = stat.LinearRegression(xs, ys, nil, false)
	return alpha, beta, true
}

// positiveIntegral is ∫_a^b max(0, α + β·x) dx.
func positiveIntegral(alpha, beta, a, b float64) float64 {
	f := func(x float64) float64 { return alpha*x + beta*x*x/2 } // antiderivative
	if beta == 0 {
		return max(alpha, 0) * (b - a)
	}
	root := -alpha / beta
	if root > a && root < b {
		if beta > 0 { // negative before the root
			a = root
		} else {
			b = root
		}
	} else if alpha+beta*(a+b)/2 < 0 {
		return 0 // negative over the whole interval
	}
	return f(b) - f(a)
}

// anomalies scores each team's last change against its earlier ones.
func anomalies(runs []*report.Report, o TrendOptions) []report.Anomaly {
	n := len(runs)
	if n < 2 {
		return nil
	}
	rates := make([]map[string]float64, n)
	first := map[string]int{}
	for i, r := range runs {
		rates[i] = map[string]float64{}
		for _, l := range r.Costs.ByTeam {
			rates[i][l.Key] += l.Monthly
			if _, ok := first[l.Key]; !ok {
				first[l.Key] = i
			}
		}
	}
	var out []report.Anomaly
	for team, f := range first {
		if n-1-f < 3 {
			continue // fewer than 3 runs before the newest
		}
		changes := make([]float64, 0, n-1-f)
		for i := f + 1; i < n; i++ {
			dt := max(runs[i].Run.Start.Sub(runs[i-1].Run.Start), time.Hour)
			changes = append(changes, (rates[i][team]-rates[i-1][team])/(float64(dt)/float64(day)))
		}
		lastChange, earlier := changes[len(changes)-1], changes[:len(changes)-1]
		mean, sd := stat.MeanStdDev(earlier, nil)
		z := (lastChange - mean) / max(sd, o.MinStdDev)
		if math.Abs(z) <= o.Threshold {
			continue
		}
		out = append(out, report.Anomaly{Team: team, Previous: rates[n-2][team], Current: rates[n-1][team], ZScore: round2(z)})
	}
	slices.SortFunc(out, func(a, b report.Anomaly) int {
		if c := cmp.Compare(math.Abs(b.ZScore), math.Abs(a.ZScore)); c != 0 {
			return c
		}
		return cmp.Compare(a.Team, b.Team)
	})
	return out
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
