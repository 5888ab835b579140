package report

import (
	"fmt"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

var runStart = time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)

// sample is a report option, in the style of the project's test builders.
type sample func(*Report)

// sampleReport is a run over two accounts (one failed) with findings of
// every severity and category, three teams (one spending nothing), waste
// from two checks and no trend, changed by the options.
func sampleReport(opts ...sample) *Report {
	r := &Report{
		Version: Version,
		Run: Run{
			ID: "run-20261129-0200", Start: runStart, End: runStart.Add(4*time.Minute + 30*time.Second),
			Sources: []string{"accounts.yaml", "aws", "kubernetes"},
			Accounts: []inventory.AccountResult{
				{Account: inventory.Account{Cloud: inventory.CloudAWS, ID: "111122223333", Name: "research"},
					Status: inventory.StatusScanned, Resources: 1234, Duration: 3 * time.Minute},
				{Account: inventory.Account{Cloud: inventory.CloudAWS, ID: "444455556666"},
					Status: inventory.StatusFailed, Error: "assuming role: AccessDenied"},
				{Account: inventory.Account{Cloud: inventory.CloudKube, ID: "prod-gpu"},
					Status: inventory.StatusResumed, Resources: 88, Duration: time.Minute},
			},
			Resources:      map[inventory.Kind]int{inventory.KindInstance: 40, inventory.KindDisk: 120, inventory.KindPod: 300},
			Errors:         []string{"Bucket logs: evaluating: timeout"},
			PolicyRevision: "sha256:abc", CatalogRevision: "catalog-2026-11-28", CatalogAsOf: "2026-11-28",
		},
		Findings: []audit.Finding{
			{ID: "f1", Category: audit.CategoryCompliance, Severity: policy.SeverityCritical, Code: "audit-bucket-public",
				Resource: "Bucket corpus-eu", Account: "111122223333", Cloud: "aws", Region: "eu-west-1", Team: "research",
				Policy: "quartermaster.audit.bucket", Message: "bucket is public", Remediation: "turn on the public access block"},
			{ID: "f2", Category: audit.CategoryWaste, Severity: policy.SeverityHigh, Code: "idle-gpu",
				Resource: "Node gpu-node-1", Account: "prod-gpu", Cloud: "kubernetes", Team: "search",
				Policy: "waste.idle", Message: "8 GPUs idle for 7 days", MonthlyCost: 23456.78},
			{ID: "f3", Category: audit.CategoryWaste, Severity: policy.SeverityMedium, Code: "unattached-disk",
				Resource: "Disk vol-0abc", Account: "111122223333", Cloud: "aws", Region: "us-east-1",
				Policy: "waste.disk", Message: "unattached for 40 days", MonthlyCost: 80},
			{ID: "f4", Category: audit.CategoryDrift, Severity: policy.SeverityLow, Code: "placement-drift",
				Resource: "Workload research/llm", Account: "prod-gpu", Cloud: "kubernetes", Namespace: "research",
				Policy: "drift.placement", Message: "runs in us-west-2, decided us-east-1"},
			{ID: "f5", Category: audit.CategoryBackup, Severity: policy.SeverityInfo, Code: "checkpoint-unprotected",
				Resource: "VolumeClaim research/ckpt", Account: "prod-gpu", Cloud: "kubernetes", Namespace: "research",
				Policy: "backup.checkpoint", Message: "no snapshot"},
		},
		Costs: audit.Costs{
			ByTeam: []audit.CostLine{
				{Key: "research", GPUs: 16, Monthly: 70000, IdleMonthly: 0},
				{Key: "search", GPUs: 8, Monthly: 23456.78, IdleMonthly: 23456.78, IdleFraction: 1},
				{Key: "interns", GPUs: 0, Monthly: 0},
			},
			ByNamespace:  []audit.CostLine{{Key: "prod-gpu/research", GPUs: 16, Monthly: 70000}, {Key: "prod-gpu/search", GPUs: 8, Monthly: 23456.78}},
			ByWorkload:   []audit.CostLine{{Key: "prod-gpu/research/PyTorchJob/llm", GPUs: 16, Monthly: 70000}},
			TotalMonthly: 93456.78, IdleMonthly: 23456.78,
		},
	}
	r.Summary = summaryOf(r)
	for _, o := range opts {
		o(r)
	}
	return r
}

// summaryOf totals r's findings as the auditor does.
func summaryOf(r *Report) audit.Summary {
	s := audit.Summary{Findings: len(r.Findings), BySeverity: map[string]int{}, ByCategory: map[string]int{},
		WasteByCheck: map[string]float64{}, SpendMonthly: r.Costs.TotalMonthly}
	for _, f := range r.Findings {
		s.BySeverity[f.Severity]++
		s.ByCategory[f.Category]++
		if f.Category == audit.CategoryWaste {
			s.WasteMonthly += f.MonthlyCost
			s.WasteByCheck[f.Code] += f.MonthlyCost
		}
	}
	return s
}

// withTrend gives the report n daily points of rising spend and a forecast.
func withTrend(n int) sample {
	return func(r *Report) {
		t := &Trend{SlopePerDay: 500}
		for i := range n {
			t.Points = append(t.Points, TrendPoint{RunID: fmt.Sprintf("run-%d", i), Time: runStart.AddDate(0, 0, i-n+1),
				SpendMonthly: 80000 + 500*float64(i), WasteMonthly: 20000 + 100*float64(i), Findings: 100 + i})
		}
		if n >= 3 {
			t.ForecastMonthEnd = 80000 + 500*float64(n)
		}
		t.Anomalies = []Anomaly{{Team: "search", Previous: 10000, Current: 23456.78, ZScore: 4.2}}
		r.Trend = t
	}
}

// withTeams replaces the cost by team with n teams, the i-th spending
// (n-i)*1000 a month.
func withTeams(n int) sample {
	return func(r *Report) {
		r.Costs.ByTeam, r.Costs.TotalMonthly = nil, 0
		for i := range n {
			r.Costs.ByTeam = append(r.Costs.ByTeam, audit.CostLine{Key: fmt.Sprintf("team-%03d", i), GPUs: int64(n - i), Monthly: float64(n-i) * 1000})
			r.Costs.TotalMonthly += float64(n-i) * 1000
		}
		r.Summary.SpendMonthly = r.Costs.TotalMonthly
	}
}

// withFindings replaces the findings with n generated ones cycling through
// severities, categories and costs (not sorted: the writers must order).
func withFindings(n int) sample {
	cats := []string{audit.CategoryCompliance, audit.CategoryWaste, audit.CategoryDrift, audit.CategoryBackup, audit.CategoryCost}
	return func(r *Report) {
		r.Findings = make([]audit.Finding, n)
		for i := range r.Findings {
			sev := policy.Severities[(i*7)%len(policy.Severities)]
			r.Findings[i] = audit.Finding{ID: fmt.Sprintf("g%06d", i), Category: cats[i%len(cats)], Severity: sev,
				Code: fmt.Sprintf("check-%d", i%23), Resource: fmt.Sprintf("Disk vol-%08x", i), Account: "111122223333", Cloud: "aws",
				Region: "us-east-1", Team: fmt.Sprintf("team-%d", i%40), Policy: "quartermaster.audit.generated",
				Message:     fmt.Sprintf("generated finding %d with a message of a realistic length, naming the resource and what to do", i),
				MonthlyCost: float64(i%1000) * 1.5}
		}
		r.Summary = summaryOf(r)
	}
}

// fmtSscan reads a number from a table cell.
func fmtSscan(s string, v *float64) (int, error) { return fmt.Sscan(s, v) }
