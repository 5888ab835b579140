package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// The bar charts' geometry, in SVG user units: the viewBox scales it to the
// figure's width, so these only fix the proportions.
const (
	chartWidth  = 640
	labelWidth  = 170 // the labels' column, right-aligned against the bars
	valueWidth  = 110 // room after the longest bar for its value
	barHeight   = 18
	barGap      = 8
	chartMargin = 8
	labelRunes  = 24 // a longer label is cut, with the whole of it in the bar's <title>
)

// barChart is a horizontal bar chart.
type barChart struct {
	ID, Title, Desc, Caption string
	Bars                     []bar
	Width, Height            int
	LabelWidth, BarHeight    int
}

// bar is one bar, laid out.
type bar struct {
	Label, Short, Value, Class string
	Y, TextY                   int
	W, ValueX                  float64
}

// datum is a value to draw before layout.
type datum struct {
	label string
	value float64
	class string
}

// bars lays out data as horizontal bars scaled to the largest value (all
// zero: every bar is empty, not a division by zero). Past maxBars, data
// must already be folded by fold.
func bars(id, title, desc, caption string, data []datum, format func(float64) string) barChart {
	c := barChart{ID: id, Title: title, Desc: desc, Caption: caption, Width: chartWidth, LabelWidth: labelWidth, BarHeight: barHeight}
	// The scale is the largest named bar's: the "others" bar of 185 teams
	// would otherwise dwarf the fifteen the chart is for. When it is
	// larger, it is cut at the chart's width and says so.
	largest := 0.0
	for _, d := range data {
		if d.class != "others" {
			largest = max(largest, d.value)
		}
	}
	area := float64(chartWidth - labelWidth - valueWidth)
	for i, d := range data {
		w := 0.0
		if largest > 0 && d.value > 0 {
			// A bar of a non-zero value is at least a hairline wide:
			// a team spending $3 beside one spending $300,000 exists.
			w = max(math.Round(min(d.value/largest, 1)*area*10)/10, 1)
		}
		if d.value > largest && d.class == "others" {
			d.class += " cut"
			c.Caption += " The last bar is cut to fit: it is larger than the largest drawn."
		}
		y := chartMargin + i*(barHeight+barGap)
		c.Bars = append(c.Bars, bar{Label: d.label, Short: shorten(d.label), Value: format(d.value), Class: d.class,
			Y: y, TextY: y + barHeight/2 + 4, W: w, ValueX: labelWidth + w})
	}
	c.Height = 2*chartMargin + len(data)*(barHeight+barGap) - barGap
	return c
}

func shorten(s string) string {
	if r := []rune(s); len(r) > labelRunes {
		return string(r[:labelRunes-1]) + "…"
	}
	return s
}

// fold orders data largest first (then by label, for a stable page) and
// folds everything past maxBars into one "others" bar, its label saying
// how many it holds.
func fold(data []datum, noun string) []datum {
	slices.SortStableFunc(data, func(a, b datum) int {
		if c := cmp.Compare(b.value, a.value); c != 0 {
			return c
		}
		return strings.Compare(a.label, b.label)
	})
	if len(data) <= maxBars {
		return data
	}
	others := datum{label: fmt.Sprintf("%d other %s", len(data)-maxBars, noun), class: "others"}
	for _, d := range data[maxBars:] {
		others.value += d.value
	}
	return append(data[:maxBars:maxBars], others)
}

func teamChart(r *Report) barChart {
	var data []datum
	for _, l := range r.Costs.ByTeam {
		data = append(data, datum{label: teamName(l.Key), value: l.Monthly, class: "spend"})
	}
	data = fold(data, "teams")
	caption := fmt.Sprintf("Monthly run rate of the GPUs allocated to each team's pods; %d teams, %s in all.",
		len(r.Costs.ByTeam), usd0(r.Costs.TotalMonthly))
	if len(r.Costs.ByTeam) > maxBars {
		caption += fmt.Sprintf(" The %d largest are drawn; the rest are one bar.", maxBars)
	}
	c := bars("chart-teams", "GPU spend by team", "Horizontal bars, one per team, largest first: "+describe(data, usd0), caption, data, usd0)
	if len(data) == 0 {
		c.Caption = "No GPU spend was allocated in this run: no running GPU pods, or none on a priced node."
	}
	return c
}

func wasteChart(r *Report) barChart {
	var data []datum
	for check, v := range r.Summary.WasteByCheck {
		data = append(data, datum{label: check, value: v, class: "waste"})
	}
	data = fold(data, "checks")
	c := bars("chart-waste", "Waste by check", "Horizontal bars, one per check, largest first: "+describe(data, usd0),
		fmt.Sprintf("Monthly cost of the waste findings, by the check that found them; %s in all.", usd0(r.Summary.WasteMonthly)), data, usd0)
	if len(data) == 0 {
		c.Caption = "No waste found in this run."
	}
	return c
}

// severityChart always draws every severity, zeros included, so that two
// runs' pages compare at a glance.
func severityChart(r *Report) barChart {
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	var data []datum
	for _, s := range policy.Severities {
		data = append(data, datum{label: s, value: float64(counts[s]), class: "sev-" + s})
	}
	count := func(v float64) string { return num(int(v)) }
	return bars("chart-severity", "Findings by severity", "Horizontal bars, most severe first: "+describe(data, count),
		fmt.Sprintf("%s findings in all.", num(len(r.Findings))), data, count)
}

// savingsChart sets the waste found beside the GPU spend. The waste also
// counts what is not a GPU (unattached disks, stopped instances' disks),
// so it can exceed the spend: the caption says so rather than a share.
func savingsChart(r *Report) barChart {
	spend, waste := r.Costs.TotalMonthly, r.Summary.WasteMonthly
	data := []datum{{label: "GPU spend", value: spend, class: "spend"}, {label: "waste found", value: waste, class: "waste"}}
	caption := fmt.Sprintf("Removing the waste found would save %s a month", usd0(waste))
	if spend > 0 {
		caption += fmt.Sprintf(", %s of the GPU spend", strconv.FormatFloat(waste/spend*100, 'f', 1, 64)+"%")
	}
	caption += ". Waste includes disks and stopped instances, which are not in the GPU spend."
	return bars("chart-savings", "Savings: waste against spend", "Two bars: "+describe(data, usd0), caption, data, usd0)
}

// describe is a chart's text alternative: every bar's label and value.
func describe(data []datum, format func(float64) string) string {
	parts := make([]string, len(data))
	for i, d := range data {
		parts[i] = d.label + " " + format(d.value)
	}
	return strings.Join(parts, "; ") + "."
}

// The trend chart's geometry.
const (
	trendWidth  = 900
	trendHeight = 280
	trendLeft   = 90 // room for the USD axis labels
	trendRight  = 20
	trendTop    = 12
	trendBottom = 30 // room for the dates
)

// lineChart is the spend trend: a line per series, a circle per run, and
// the forecast dashed from the last run to the month's end.
type lineChart struct {
	Width, Height, Left, Right, Top, Bottom int
	SpendPath, WastePath                    string
	Points                                  []linePoint
	YTicks                                  []tick
	XTicks                                  []xtick
	Forecast                                *segment
	Desc                                    string
}

type linePoint struct {
	X, Y  float64
	Title string
}

type tick struct {
	Y     float64
	Label string
}

type xtick struct {
	X             float64
	Label, Anchor string
}

type segment struct {
	X1, Y1, X2, Y2 float64
	Title          string
}

// trendChart draws t, or says why there is no trend yet.
func trendChart(t *Trend) (*lineChart, string) {
	switch {
	case t == nil || len(t.Points) == 0:
		return nil, "No trend yet: this is the first run with history kept. The chart appears from the second run on."
	case len(t.Points) == 1:
		return nil, "No trend yet: one run so far. The chart appears from the second run on, and the forecast from the third."
	}
	c := &lineChart{Width: trendWidth, Height: trendHeight, Left: trendLeft, Right: trendWidth - trendRight,
		Top: trendTop, Bottom: trendHeight - trendBottom}
	first, last := t.Points[0].Time, t.Points[len(t.Points)-1].Time
	end := last
	var monthEnd time.Time
	if t.ForecastMonthEnd > 0 {
		// The last day of the last run's month, at the end of that day.
		y, m, _ := last.UTC().Date()
		monthEnd = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Second)
		if monthEnd.After(end) {
			end = monthEnd
		}
	}
	top := t.ForecastMonthEnd
	for _, p := range t.Points {
		top = max(top, p.SpendMonthly, p.WasteMonthly)
	}
	top = niceCeil(top)
	span := end.Sub(first).Seconds()
	x := func(tm time.Time) float64 {
		if span <= 0 {
			return float64(c.Left+c.Right) / 2
		}
		return round1(float64(c.Left) + tm.Sub(first).Seconds()/span*float64(c.Right-c.Left))
	}
	y := func(v float64) float64 {
		if top <= 0 {
			return float64(c.Bottom)
		}
		return round1(float64(c.Bottom) - max(v, 0)/top*float64(c.Bottom-c.Top))
	}
	var spend, waste []string
	for _, p := range t.Points {
		px, sy, wy := x(p.Time), y(p.SpendMonthly), y(p.WasteMonthly)
		spend = append(spend, fmt.Sprintf("%g,%g", px, sy))
		waste = append(waste, fmt.Sprintf("%g,%g", px, wy))
		c.Points = append(c.Points, linePoint{X: px, Y: sy, Title: fmt.Sprintf("%s (%s): spend %s a month, waste %s, %s findings",
			p.Time.UTC().Format("2006-01-02"), p.RunID, usd0(p.SpendMonthly), usd0(p.WasteMonthly), num(p.Findings))})
	}
	c.SpendPath, c.WastePath = strings.Join(spend, " "), strings.Join(waste, " ")
	for i := range 5 {
		v := top * float64(i) / 4
		c.YTicks = append(c.YTicks, tick{Y: y(v), Label: usd0(v)})
	}
	c.XTicks = []xtick{{X: x(first), Label: first.UTC().Format("Jan 2")}, {X: x(last), Label: last.UTC().Format("Jan 2")}}
	lp := t.Points[len(t.Points)-1]
	c.Desc = fmt.Sprintf("GPU spend went from %s to %s a month over %d runs, %s to %s.",
		usd0(t.Points[0].SpendMonthly), usd0(lp.SpendMonthly), len(t.Points), first.UTC().Format("2006-01-02"), last.UTC().Format("2006-01-02"))
	if t.ForecastMonthEnd > 0 {
		c.Forecast = &segment{X1: x(last), Y1: y(lp.SpendMonthly), X2: x(monthEnd), Y2: y(t.ForecastMonthEnd),
			Title: fmt.Sprintf("Forecast: %s a month by %s", usd0(t.ForecastMonthEnd), monthEnd.Format("2006-01-02"))}
		// The month's end replaces the last run's date when the two
		// would overlap, or would say the same (a run on the month's
		// last day).
		if me := x(monthEnd); me-c.XTicks[1].X < 60 || monthEnd.Format("Jan 2") == c.XTicks[1].Label {
			c.XTicks[1] = xtick{X: me, Label: monthEnd.Format("Jan 2")}
		} else {
			c.XTicks = append(c.XTicks, xtick{X: me, Label: monthEnd.Format("Jan 2")})
		}
		c.Desc += fmt.Sprintf(" The forecast, dashed, reaches %s a month by %s.", usd0(t.ForecastMonthEnd), monthEnd.Format("2006-01-02"))
	}
	// The first date starts at its run and the last ends at its own, so
	// that neither is cut by the chart's edge.
	for i := range c.XTicks {
		c.XTicks[i].Anchor = "middle"
	}
	c.XTicks[0].Anchor, c.XTicks[len(c.XTicks)-1].Anchor = "start", "end"
	return c, ""
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so that the
// axis' ticks are round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
