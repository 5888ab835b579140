package history_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/history"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

// The auditor's use of the history, once per run: read the recent runs,
// compare with the previous one, build the trend, store the new run and
// prune. The forecast: 242 USD so far (2 h at 1 USD/h before the first
// run, then 24 + 48 + 72 + 96), plus the line 3650 + 730x integrated over
// the 25 days and 22 hours left, × 24/730 = 11170.08.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "history")
	defer os.RemoveAll(dir)
	store, err := history.Open(ctx, "dir://"+dir, history.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	day := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC)
	public := audit.Finding{ID: "3f2a", Category: audit.CategoryCompliance, Severity: "critical",
		Code: "audit-bucket-public", Resource: "Bucket ckpt", Message: "bucket ckpt is public"}
	for i := range 5 {
		cur := &report.Report{Run: report.Run{ID: fmt.Sprintf("nightly-%d", i), Start: day.AddDate(0, 0, i)}}
		cur.Summary.SpendMonthly = 730 * float64(i+1)
		if i == 4 {
			cur.Findings = []audit.Finding{public}
		}

		earlier, err := history.Recent(ctx, store, history.DefaultTrendRuns)
		if err != nil {
			cur.Run.Errors = append(cur.Run.Errors, err.Error()) // corrupt runs: reported, not fatal
		}
		if len(earlier) > 0 {
			cur.Changes = history.Compare(earlier[0], cur)
			cur.Findings = append(cur.Findings, history.Changes(earlier[0], cur)...)
		}
		cur.Trend = history.BuildTrend(cur, earlier, history.TrendOptions{})

		if err := store.Put(ctx, cur); err != nil {
			fmt.Println(err)
			return
		}
		if err := store.Prune(ctx, history.DefaultRetention); err != nil {
			fmt.Println(err)
		}
		if i == 4 {
			fmt.Println("new findings:", len(cur.Changes.New), "drift:", cur.Findings[1].Code, cur.Findings[1].Message)
			fmt.Printf("points %d, month to date %.2f, slope %.2f/day, month-end forecast %.2f\n",
				len(cur.Trend.Points), cur.Trend.SpendMonthToDate, cur.Trend.SlopePerDay, cur.Trend.ForecastMonthEnd)
		}
	}
	refs, _ := store.List(ctx)
	fmt.Println("stored:", len(refs), "newest:", refs[0].ID)
	// Output:
	// new findings: 1 drift: config-drift changed since the last run (nightly-3): bucket ckpt is public
	// points 5, month to date 242.00, slope 730.00/day, month-end forecast 11412.08
	// stored: 5 newest: nightly-4
}
