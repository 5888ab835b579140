package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func render(t testing.TB, h HTML, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := h.Write(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// section returns the part of page from the element with id to the end of
// the tag that closes it (the first </end> after it).
func section(t *testing.T, page, id, end string) string {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element with id %s", id)
	}
	j := strings.Index(page[i:], "</"+end+">")
	if j < 0 {
		t.Fatalf("element %s not closed by </%s>", id, end)
	}
	return page[i : i+j]
}

// Names and messages come from the clouds and the clusters: they are text,
// never markup, wherever the page shows them (table, chart labels, titles).
func TestHTMLEscapes(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	r := sampleReport(func(r *Report) {
		r.Findings[0].Message = evil
		r.Findings[1].Resource = `Node "><img src=x onerror=alert(2)>`
		r.Findings[2].Remediation = `<a href="javascript:alert(3)">fix</a>`
		r.Costs.ByTeam[0].Key = `team<svg onload=alert(4)>`
		r.Run.ID = `</title><script>alert(5)</script>`
		r.Run.Errors = []string{`<iframe src="https://example.com">`}
		r.Summary.WasteByCheck[`<b>bold</b>`] = 1
	})
	page := render(t, HTML{}, r)
	for _, raw := range []string{evil, `<img src=x`, `<a href="javascript`, `<svg onload`, `</title><script>`, `<iframe`, `<b>bold`} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains %q unescaped", raw)
		}
	}
	for _, escaped := range []string{`&lt;script&gt;alert(1)&lt;/script&gt;`, `&lt;img src=x onerror=alert(2)&gt;`, `team&lt;svg onload=alert(4)&gt;`} {
		if !strings.Contains(page, escaped) {
			t.Errorf("page lacks the escaped text %q", escaped)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d script elements, want the page's own alone", n)
	}
}

// The page is one file: nothing it holds makes the browser fetch anything.
// (The Chromium test proves it by watching the requests; this one reads
// the markup, so that a change fails fast without a browser.)
func TestHTMLSelfContained(t *testing.T) {
	page := render(t, HTML{}, sampleReport(withTrend(5)))
	refs := regexp.MustCompile(`(?i)\b(src|href|action|xlink:href|srcset|poster|data)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(page, -1)
	for _, m := range refs {
		if v := m[2]; !strings.HasPrefix(v, "#") && v != "data:," {
			t.Errorf("%s=%q would load something", m[1], v)
		}
	}
	// The SVG namespace is a name, not a request; any other URL is suspect.
	if urls := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`).FindAllString(strings.ReplaceAll(page, `xmlns="http://www.w3.org/2000/svg"`, ""), -1); len(urls) > 0 {
		t.Errorf("page names URLs: %v", urls)
	}
	for _, banned := range []string{"@import", "url(", "<link rel=\"stylesheet", "<iframe", "<img", "fetch(", "XMLHttpRequest"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
	if !strings.Contains(page, `content="default-src &#39;none&#39;; style-src &#39;sha256-`) {
		t.Error("no Content-Security-Policy forbidding every load")
	}
}

// The bar charts scale to the data: a team spending nothing has an empty
// bar, one team fills the width, 200 teams fold into the top 15 and one
// "others" bar.
func TestHTMLTeamChart(t *testing.T) {
	tests := map[string]struct {
		r        *Report
		bars     int
		contains []string
	}{
		"three, one at zero": {r: sampleReport(), bars: 3, contains: []string{`width="0"`, ">$0<", ">$70,000<"}},
		"one team":           {r: sampleReport(withTeams(1)), bars: 1, contains: []string{`width="360"`, ">$1,000<"}},
		"200 teams":          {r: sampleReport(withTeams(200)), bars: 16, contains: []string{">185 other teams<", `class="bar others cut"`, ">$200,000<", ">$17,205,000<", "cut to fit"}},
		"no spend":           {r: sampleReport(withTeams(0)), bars: 0, contains: []string{"No GPU spend was allocated"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			chart := section(t, render(t, HTML{}, tc.r), "chart-teams", "figure")
			if n := strings.Count(chart, `<rect class="bar`); n != tc.bars {
				t.Errorf("%d bars, want %d", n, tc.bars)
			}
			for _, s := range tc.contains {
				if !strings.Contains(chart, s) {
					t.Errorf("chart lacks %q:\n%s", s, chart)
				}
			}
		})
	}
}

// 200 teams sum to the same total with folding: the "others" bar is the
// sum of the teams it replaces.
func TestFold(t *testing.T) {
	var data []datum
	total := 0.0
	for i := range 40 {
		data = append(data, datum{label: fmt.Sprint(i), value: float64(i)})
		total += float64(i)
	}
	got := fold(data, "teams")
	sum := 0.0
	for _, d := range got {
		sum += d.value
	}
	if len(got) != maxBars+1 || sum != total || got[0].value != 39 || got[maxBars].label != "25 other teams" {
		t.Errorf("fold: %d bars summing to %v (want %d, %v), first %v, last %q", len(got), sum, maxBars+1, total, got[0].value, got[maxBars].label)
	}
}

func TestHTMLOtherCharts(t *testing.T) {
	page := render(t, HTML{}, sampleReport())
	sev := section(t, page, "chart-severity", "figure")
	if n := strings.Count(sev, `<rect class="bar sev-`); n != 5 {
		t.Errorf("severity chart: %d bars, want 5", n)
	}
	waste := section(t, page, "chart-waste", "figure")
	if n := strings.Count(waste, `<rect class="bar waste"`); n != 2 || !strings.Contains(waste, ">$23,457<") {
		t.Errorf("waste chart: %d bars, want 2 with idle-gpu at $23,457:\n%s", n, waste)
	}
	sav := section(t, page, "chart-savings", "figure")
	if !strings.Contains(sav, ">$93,457<") || !strings.Contains(sav, "25.2% of the GPU spend") {
		t.Errorf("savings chart lacks the spend or the share:\n%s", sav)
	}
	for _, id := range []string{"chart-teams", "chart-waste", "chart-severity", "chart-savings"} {
		c := section(t, page, id, "figure")
		if !strings.Contains(c, `<title id="`+id+`-title">`) || !strings.Contains(c, `aria-labelledby="`+id+`-title `+id+`-desc"`) {
			t.Errorf("%s has no labelled <title>", id)
		}
	}
}

// The trend is drawn from two runs on, the forecast dashed from three;
// before that, a sentence says why there is none.
func TestHTMLTrend(t *testing.T) {
	tests := map[string]struct {
		points   int
		line     bool
		forecast bool
		says     string
	}{
		"no history": {points: -1, says: "No trend yet: this is the first run"},
		"one run":    {points: 1, says: "No trend yet: one run so far"},
		"two runs":   {points: 2, line: true, says: "no forecast yet: it needs three runs"},
		"five runs":  {points: 5, line: true, forecast: true, says: "Forecast: $82,500 a month by 2026-11-30"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := sampleReport()
			if tc.points >= 0 {
				r = sampleReport(withTrend(tc.points))
			}
			page := render(t, HTML{}, r)
			if got := strings.Contains(page, `<polyline class="spend"`); got != tc.line {
				t.Errorf("spend line drawn: %v, want %v", got, tc.line)
			}
			if got := strings.Contains(page, `<line class="forecast"`); got != tc.forecast {
				t.Errorf("forecast drawn: %v, want %v", got, tc.forecast)
			}
			if !strings.Contains(page, tc.says) {
				t.Errorf("page does not say %q", tc.says)
			}
			if tc.line && strings.Count(page, `<circle class="point"`) != tc.points {
				t.Errorf("want a point per run (%d)", tc.points)
			}
		})
	}
}

// The findings table holds the most severe, then costly, findings up to
// its bound, whatever order the report has, and says how many more
// report.json holds.
func TestHTMLFindingsTable(t *testing.T) {
	r := sampleReport(withFindings(5000))
	page := render(t, HTML{MaxFindings: 100}, r)
	table := section(t, page, "findings", "table")
	rows := regexp.MustCompile(`<tr><td data-sort="(\d)"><span class="sev sev-\w+">\w+</span></td>(?:<td>[^<]*</td>){6}<td class="num" data-sort="([0-9.e+]+)">`).FindAllStringSubmatch(table, -1)
	if len(rows) != 100 {
		t.Fatalf("%d rows, want 100", len(rows))
	}
	prev := 0.0
	for i, m := range rows {
		if m[1] != "0" {
			t.Fatalf("row %d has severity rank %s: the table must hold the critical findings first", i, m[1])
		}
		cost, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && cost > prev {
			t.Errorf("row %d costs %v, more than the row before (%v)", i, cost, prev)
		}
		prev = cost
	}
	if !strings.Contains(page, "The 100 most severe and costly of 5,000 findings; the other 4,900 are in report.json.") {
		t.Error("page does not say how many findings are left out")
	}
	all := render(t, HTML{}, sampleReport())
	if !strings.Contains(all, "All 5 findings") || strings.Count(section(t, all, "findings", "table"), "<tr><td data-sort") != 5 {
		t.Error("a small report's table is not whole")
	}
	none := render(t, HTML{}, sampleReport(func(r *Report) { r.Findings = nil; r.Summary = summaryOf(r) }))
	if !strings.Contains(none, "No findings.") || strings.Contains(none, `id="findings"`) {
		t.Error("an empty run shows a table")
	}
}

func TestFormat(t *testing.T) {
	tests := map[string]struct{ got, want string }{
		"usd":          {usd(1234567.891), "$1,234,567.89"},
		"usd small":    {usd(0.5), "$0.50"},
		"usd zero":     {usd(0), "$0.00"},
		"usd negative": {usd(-1234.5), "-$1,234.50"},
		"usd0":         {usd0(93456.78), "$93,457"},
		"usd0 999":     {usd0(999.4), "$999"},
		"usd0 -0.2":    {usd0(-0.2), "$0"},
		"num":          {num(100000), "100,000"},
		"num int64":    {num(int64(-1234567)), "-1,234,567"},
		"num small":    {num(12), "12"},
		"duration":     {duration(4*time.Minute + 30*time.Second + 400*time.Millisecond), "4m30s"},
	}
	for name, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", name, tc.got, tc.want)
		}
	}
}

// At 100,000 findings the page stays bounded (the table holds 1,000) and
// quick to write; the figures are logged for the issue notes.
func TestHTMLAtScale(t *testing.T) {
	r := sampleReport(withFindings(100_000), withTeams(200), withTrend(30))
	start := time.Now()
	page := render(t, HTML{}, r)
	took := time.Since(start)
	t.Logf("100,000 findings: index.html is %d bytes (%.0f KiB), written in %v (race detector on: %v)", len(page), float64(len(page))/1024, took, raceEnabled)
	if len(page) > 1<<20 {
		t.Errorf("index.html is %d bytes, want under 1 MiB", len(page))
	}
	if !strings.Contains(page, "The 1,000 most severe and costly of 100,000 findings; the other 99,000 are in report.json.") {
		t.Error("page does not bound the table at 1,000")
	}
	if dir := os.Getenv("QM_REPORT_OUT"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "index-100k.html"), []byte(page), 0o644)
	}
}

func BenchmarkWriteHTML100k(b *testing.B) {
	r := sampleReport(withFindings(100_000), withTeams(200), withTrend(30))
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteHTML(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/page")
}

// The trend's dates: the first run, the last, and the month's end where
// the forecast reaches, never the same date twice.
func TestTrendChartDates(t *testing.T) {
	trend := func(days ...int) *Trend {
		tr := &Trend{ForecastMonthEnd: 1000}
		for i, d := range days {
			tr.Points = append(tr.Points, TrendPoint{RunID: fmt.Sprint(i), Time: time.Date(2026, 11, d, 2, 17, 0, 0, time.UTC), SpendMonthly: 900})
		}
		return tr
	}
	tests := map[string]struct {
		trend *Trend
		want  []string
	}{
		"mid-month":                {trend(1, 8, 15), []string{"Nov 1", "Nov 15", "Nov 30"}},
		"two days apart":           {trend(26, 27, 29), []string{"Nov 26", "Nov 29", "Nov 30"}},
		"too close to tell apart":  {trend(1, 15, 29), []string{"Nov 1", "Nov 30"}},
		"last run on the last day": {trend(27, 28, 30), []string{"Nov 27", "Nov 30"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, _ := trendChart(tc.trend)
			var got []string
			for _, x := range c.XTicks {
				got = append(got, x.Label)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("dates %v, want %v", got, tc.want)
			}
		})
	}
}
