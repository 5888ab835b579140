package report

import (
	"time"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Version is report.json's format version (docs/auditor.md). It changes
// when a field changes meaning or goes away; new fields may appear without
// a change, so readers should ignore fields they do not know.
const Version = 1

// Report is report.json (contract 4.6): one audit run, what it read, what it
// found, what the GPUs cost, and the trend over earlier runs.
type Report struct {
	Version int `json:"version"`
	Run     Run `json:"run"`
	// Findings are sorted most severe first, then by monthly cost.
	Findings []audit.Finding `json:"findings" doc:"Sorted most severe first, then by monthly cost."`
	Costs    audit.Costs     `json:"costs"`
	Summary  audit.Summary   `json:"summary"`
	// Trend is the spend and waste of earlier runs with this one, oldest
	// first, and the forecast drawn from them; empty without history.
	Trend *Trend `json:"trend,omitempty" doc:"Spend and waste of earlier runs with this one, oldest first, and the forecast; absent without history."`
	// Changes compares the findings with the previous stored run's; nil
	// without history.
	Changes *Changes `json:"changes,omitempty"`
}

// Changes is what changed in the findings since the previous run, by
// stable finding ID (docs/history.md).
type Changes struct {
	// Previous is the previous run's ID.
	Previous string `json:"previous"`
	// New are the IDs of this run's findings the previous run did not
	// have.
	New []string `json:"new"`
	// Resolved are the previous run's findings this run no longer has.
	Resolved []audit.Finding `json:"resolved"`
}

// Run describes the run itself.
type Run struct {
	ID    string    `json:"id"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Shard is "i/N" when the run was one shard of a sharded audit, or
	// "merged from N" for the merged report; empty for a whole run.
	Shard string `json:"shard,omitempty" doc:"i/N for one shard of a sharded run, 'merged from N' for the merged report; absent for a whole run."`
	// Sources name what the inventory came from (a snapshot file, the
	// accounts file, the clouds scanned).
	Sources []string `json:"sources" doc:"What the inventory came from: a snapshot file, the accounts file, the clouds scanned."`
	// Accounts are the accounts scanned, each with its outcome: a failed
	// account is listed with its error, never left out.
	Accounts []inventory.AccountResult `json:"accounts" doc:"Every account scanned with its outcome; a failed account is listed with its error, never left out."`
	// Resources counts what was read, by kind.
	Resources map[inventory.Kind]int `json:"resources"`
	// Errors are what could not be read or judged.
	Errors []string `json:"errors,omitempty" doc:"What could not be read or judged."`
	// PolicyRevision and CatalogRevision identify the rules and prices
	// the run used.
	PolicyRevision  string `json:"policyRevision"`
	CatalogRevision string `json:"catalogRevision"`
	CatalogAsOf     string `json:"catalogAsOf"`
}

// Trend is the spend history and its forecast.
type Trend struct {
	Points []TrendPoint `json:"points"`
	// ForecastMonthEnd is the month's spend projected to its last day
	// from the regression over the points; zero with fewer than three.
	ForecastMonthEnd float64 `json:"forecastMonthEnd" doc:"The monthly run rate projected to the month's last day; 0 with fewer than three points."`
	// SpendMonthToDate is the spend of the current calendar month so far:
	// each run's monthly run rate held until the next run (docs/history.md).
	SpendMonthToDate float64 `json:"spendMonthToDate" doc:"The current calendar month's spend so far: each run's monthly run rate held until the next run, USD."`
	// SlopePerDay is the regression's change in monthly run rate per day.
	SlopePerDay float64 `json:"slopePerDay" doc:"The regression's change in monthly run rate per day, USD."`
	// Anomalies are the teams whose last change is far outside their own
	// history (z-score of the last day against the earlier days).
	Anomalies []Anomaly `json:"anomalies,omitempty"`
}

// TrendPoint is one run's totals.
type TrendPoint struct {
	RunID        string    `json:"runId"`
	Time         time.Time `json:"time"`
	SpendMonthly float64   `json:"spendMonthly"`
	WasteMonthly float64   `json:"wasteMonthly"`
	Findings     int       `json:"findings"`
}

// Anomaly is one team whose spend jumped.
type Anomaly struct {
	Team string `json:"team"`
	// Previous and Current are the team's monthly run rate in the run
	// before and in this one.
	Previous float64 `json:"previous"`
	Current  float64 `json:"current"`
	ZScore   float64 `json:"zScore" doc:"How far the last change is outside the team's own history, in standard deviations."`
}
