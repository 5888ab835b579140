package report

import (
	"cmp"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// DefaultMaxFindings bounds the findings table of index.html: a browser
// stays responsive with a thousand rows and the file stays under a
// megabyte, while report.json keeps every finding.
const DefaultMaxFindings = 1000

// maxBars is how many bars a chart draws before it folds the rest into
// one "others" bar: past fifteen, labels are unreadable and the smallest
// bars are a pixel wide.
const maxBars = 15

// maxListed bounds the accounts, errors and cost tables of index.html.
const (
	maxAccounts  = 200
	maxErrors    = 100
	maxCostLines = 15
)

//go:embed templates/index.html.tmpl templates/report.css templates/report.js
var assets embed.FS

// The page's own style and script, and a Content-Security-Policy that lets
// exactly these two run and nothing else load: a finding message that got
// past the escaping could neither run a script nor fetch anything, and the
// page makes no request of any kind (DESIGN §2: a self-contained file an
// auditor can mail or archive).
var (
	pageTemplate = template.Must(template.New("index.html.tmpl").Funcs(funcs).ParseFS(assets, "templates/index.html.tmpl"))
	pageStyle    = mustAsset("templates/report.css")
	pageScript   = mustAsset("templates/report.js")
	pageCSP      = "default-src 'none'; style-src '" + sha(pageStyle) + "'; script-src '" + sha(pageScript) +
		"'; img-src data:; base-uri 'none'; form-action 'none'"
)

func mustAsset(name string) string {
	b, err := assets.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// HTML writes index.html. Its zero value uses the defaults.
type HTML struct {
	// MaxFindings bounds the findings table (DefaultMaxFindings when 0);
	// the page says how many more report.json holds.
	MaxFindings int
}

// WriteHTML writes r as index.html with the default settings.
func WriteHTML(w io.Writer, r *Report) error { return HTML{}.Write(w, r) }

// Write writes r as one self-contained HTML file: inline style, a small
// inline script that only sorts the findings table, and charts drawn here
// as inline SVG (cost by team, waste by check, findings by severity, waste
// against spend, and the spend trend with its forecast). Everything that
// comes from the inventory (names, messages) is escaped by html/template.
func (h HTML) Write(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("writing index.html: no report")
	}
	limit := h.MaxFindings
	if limit <= 0 {
		limit = DefaultMaxFindings
	}
	p := newPage(r, limit)
	if err := pageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("writing index.html: %w", err)
	}
	return nil
}

// page is what the template renders.
type page struct {
	R              *Report
	CSP            string
	Style          template.CSS
	Script         template.JS
	Duration       string
	Kinds          []kindCount
	FailedAccounts int
	Tiles          []tile
	Charts         []barChart
	Trend          *lineChart
	NoTrend        string
	Rows           []row
	Shown, Total   int
	CostTables     []costTable
	Accounts       []inventory.AccountResult
	AccountsMore   int
	Errors         []string
	ErrorsMore     int
}

type kindCount struct {
	Kind inventory.Kind
	N    int
}

type tile struct{ Label, Value string }

type row struct {
	F    *audit.Finding
	Rank int
}

type costTable struct {
	Title, Key string
	Lines      []audit.CostLine
	More       int
}

func newPage(r *Report, maxRows int) *page {
	p := &page{R: r, CSP: pageCSP, Style: template.CSS(pageStyle), Script: template.JS(pageScript),
		Duration: duration(r.Run.End.Sub(r.Run.Start)), Total: len(r.Findings)}
	for _, k := range slices.Sorted(maps.Keys(r.Run.Resources)) {
		p.Kinds = append(p.Kinds, kindCount{k, r.Run.Resources[k]})
	}
	for _, a := range r.Run.Accounts {
		if a.Status == inventory.StatusFailed {
			p.FailedAccounts++
		}
	}
	waste := r.Summary.WasteMonthly
	p.Tiles = []tile{
		{"findings", num(len(r.Findings))},
		{"critical and high", num(r.Summary.BySeverity[policy.SeverityCritical] + r.Summary.BySeverity[policy.SeverityHigh])},
		{"GPU spend a month", usd0(r.Costs.TotalMonthly)},
		{"spent on idle GPUs a month", usd0(r.Costs.IdleMonthly)},
		{"waste found a month", usd0(waste)},
		{fmt.Sprintf("accounts scanned (%s failed)", num(p.FailedAccounts)), num(len(r.Run.Accounts)-p.FailedAccounts) + " of " + num(len(r.Run.Accounts))},
	}
	p.Charts = []barChart{teamChart(r), wasteChart(r), severityChart(r), savingsChart(r)}
	p.Trend, p.NoTrend = trendChart(r.Trend)
	p.Rows = topFindings(r.Findings, maxRows)
	p.Shown = len(p.Rows)
	for _, t := range []struct {
		title, key string
		lines      []audit.CostLine
	}{{"By team", "Team", r.Costs.ByTeam}, {"By namespace", "Cluster/namespace", r.Costs.ByNamespace}, {"By workload", "Cluster/namespace/workload", r.Costs.ByWorkload}} {
		ct := costTable{Title: t.title, Key: t.key, Lines: t.lines}
		if len(ct.Lines) > maxCostLines {
			ct.Lines, ct.More = ct.Lines[:maxCostLines], len(ct.Lines)-maxCostLines
		}
		p.CostTables = append(p.CostTables, ct)
	}
	// Failed accounts first: with thousands of accounts, they are the
	// lines someone has to act on.
	accounts := slices.Clone(r.Run.Accounts)
	slices.SortStableFunc(accounts, func(a, b inventory.AccountResult) int {
		return cmp.Compare(boolRank(a.Status != inventory.StatusFailed), boolRank(b.Status != inventory.StatusFailed))
	})
	if len(accounts) > maxAccounts {
		accounts, p.AccountsMore = accounts[:maxAccounts], len(accounts)-maxAccounts
	}
	p.Accounts = accounts
	p.Errors = r.Run.Errors
	if len(p.Errors) > maxErrors {
		p.Errors, p.ErrorsMore = p.Errors[:maxErrors], len(p.Errors)-maxErrors
	}
	return p
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// topFindings picks the n most severe, then most costly, findings. The
// auditor already sorts them so, but a merged or hand-edited report need
// not be: the order is the page's promise, so it is made here. It sorts
// indexes, not the findings, and leaves r alone.
func topFindings(fs []audit.Finding, n int) []row {
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		fa, fb := &fs[a], &fs[b]
		if d := cmp.Compare(rank(fa.Severity), rank(fb.Severity)); d != 0 {
			return d
		}
		return cmp.Compare(fb.MonthlyCost, fa.MonthlyCost)
	})
	rows := make([]row, 0, min(n, len(idx)))
	for _, i := range idx[:min(n, len(idx))] {
		rows = append(rows, row{F: &fs[i], Rank: rank(fs[i].Severity)})
	}
	return rows
}

func rank(severity string) int {
	if i := slices.Index(policy.Severities, severity); i >= 0 {
		return i
	}
	return len(policy.Severities)
}

// funcs format numbers for people: thousands separators, USD, dates in UTC.
var funcs = template.FuncMap{
	"num":  func(v any) string { return num(v) },
	"usd":  usd,
	"usd0": usd0,
	"pct":  func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"dur":  duration,
	"team": teamName,
	"add":  func(a, b int) int { return a + b },
	"sub":  func(a, b int) int { return a - b },
}

// num formats an integer with thousands separators: 100,000.
func num(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	default:
		return fmt.Sprint(v)
	}
	return group(strconv.FormatInt(n, 10))
}

// usd formats dollars and cents: $1,234.56.
func usd(v float64) string { return money(v, 2) }

// usd0 formats whole dollars, for charts and tiles: $93,457.
func usd0(v float64) string { return money(v, 0) }

func money(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	out := "$" + group(whole)
	if frac != "" {
		out += "." + frac
	}
	if v < 0 && strings.Trim(s, "0.") != "" {
		out = "-" + out
	}
	return out
}

// group puts a comma between every three digits of an integer's digits
// (with an optional leading minus).
func group(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

// duration formats a run or scan time to the second: 4m30s, 2h5m0s.
func duration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	return d.Round(time.Second).String()
}
