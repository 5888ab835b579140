package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// SARIF 2.1.0 (OASIS), the subset a code-scanning consumer reads (GitHub
// code scanning, DefectDojo, the SARIF viewers). Findings are about cloud
// resources, not files, so every result's location is logical: the
// resource, inside its account and region.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool         `json:"tool"`
	AutomationDetails sarifAutomation   `json:"automationDetails"`
	Invocations       []sarifInvocation `json:"invocations"`
	Results           []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	ShortDescription     sarifText      `json:"shortDescription"`
	Help                 *sarifText     `json:"help,omitempty"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	StartTimeUTC        string              `json:"startTimeUtc,omitempty"`
	EndTimeUTC          string              `json:"endTimeUtc,omitempty"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	LogicalLocations []sarifLogical `json:"logicalLocations"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifLevel maps a severity to SARIF's three levels: what must be fixed
// is an error, what should be is a warning, the rest a note.
func sarifLevel(severity string) string {
	switch severity {
	case policy.SeverityCritical, policy.SeverityHigh:
		return "error"
	case policy.SeverityMedium:
		return "warning"
	}
	return "note"
}

// securitySeverity is GitHub code scanning's score for a rule (its
// "security-severity" property: 9.0+ critical, 7.0+ high, 4.0+ medium,
// above 0 low), so that its alerts show our severity, not only the level.
var securitySeverity = map[string]string{
	policy.SeverityCritical: "9.5", policy.SeverityHigh: "8.0", policy.SeverityMedium: "5.5",
	policy.SeverityLow: "3.0", policy.SeverityInfo: "0.0",
}

// SARIF writes a SARIF 2.1.0 log. Its zero value writes every finding.
type SARIF struct {
	// MaxResults, when above zero, keeps the most severe, then most
	// costly, findings up to it, and says in a notification how many more
	// report.json holds. GitHub code scanning rejects a run of more than
	// 25,000 results and shows 5,000.
	MaxResults int
}

// WriteSARIF writes every finding of r as a SARIF 2.1.0 log (SARIF.Write).
func WriteSARIF(w io.Writer, r *Report) error { return SARIF{}.Write(w, r) }

// Write writes r as a SARIF 2.1.0 log: one run; a rule per finding code,
// at the level of its most severe finding; a result per finding, with the
// resource as its logical location, the finding's stable ID as its
// fingerprint (a consumer then tracks it across runs), and the cost, team
// and remediation as properties. Failed accounts make the invocation
// unsuccessful and are listed as notifications, as are the run's errors.
func (s SARIF) Write(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("writing SARIF: no report")
	}
	findings := r.Findings
	if s.MaxResults > 0 && len(findings) > s.MaxResults {
		findings = make([]audit.Finding, 0, s.MaxResults)
		for _, row := range topFindings(r.Findings, s.MaxResults) {
			findings = append(findings, *row.F)
		}
	}
	run := sarifRun{
		Tool:              sarifTool{Driver: sarifDriver{Name: "Quartermaster", InformationURI: "https://quartermaster.io/docs/auditor", Rules: []sarifRule{}}},
		AutomationDetails: sarifAutomation{ID: "quartermaster-audit/" + r.Run.ID},
		Results:           make([]sarifResult, 0, len(findings)),
	}
	inv := sarifInvocation{ExecutionSuccessful: true, StartTimeUTC: sarifTime(r.Run.Start), EndTimeUTC: sarifTime(r.Run.End)}
	for _, a := range r.Run.Accounts {
		if a.Status == inventory.StatusFailed {
			inv.ExecutionSuccessful = false
			inv.Notifications = append(inv.Notifications, sarifNotification{Level: "error",
				Message: sarifText{Text: fmt.Sprintf("account %s failed, its findings are missing: %s", a.Account.Key(), a.Error)}})
		}
	}
	for _, e := range r.Run.Errors {
		inv.Notifications = append(inv.Notifications, sarifNotification{Level: "warning", Message: sarifText{Text: e}})
	}
	if n := len(r.Findings) - len(findings); n > 0 {
		inv.Notifications = append(inv.Notifications, sarifNotification{Level: "note",
			Message: sarifText{Text: fmt.Sprintf("the %d most severe and costly of %d findings; the other %d are in report.json", len(findings), len(r.Findings), n)}})
	}
	run.Invocations = []sarifInvocation{inv}

	// Rules in the order of their codes, so that the log is deterministic.
	codes := map[string]int{}
	var rules []sarifRule
	for _, f := range findings {
		if _, ok := codes[f.Code]; !ok {
			codes[f.Code] = -1
			rules = append(rules, newRule(f))
		}
	}
	slices.SortFunc(rules, func(a, b sarifRule) int { return strings.Compare(a.ID, b.ID) })
	for i := range rules {
		codes[rules[i].ID] = i
	}
	for i := range findings {
		f := &findings[i]
		rule := &rules[codes[f.Code]]
		// The rule's level is its most severe finding's.
		if rank(f.Severity) < rank(rule.Properties["severity"].(string)) {
			rule.Properties["severity"] = f.Severity
			rule.DefaultConfiguration.Level = sarifLevel(f.Severity)
			rule.Properties["security-severity"] = securitySeverity[f.Severity]
		}
		run.Results = append(run.Results, newResult(f, codes[f.Code]))
	}
	run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rules...)
	log := sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("writing SARIF: %w", err)
	}
	return nil
}

func newRule(f audit.Finding) sarifRule {
	rule := sarifRule{
		ID:                   f.Code,
		ShortDescription:     sarifText{Text: fmt.Sprintf("%s (%s, %s)", f.Code, f.Category, f.Policy)},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(f.Severity)},
		Properties: map[string]any{"category": f.Category, "severity": f.Severity, "security-severity": securitySeverity[f.Severity],
			"tags": []string{"quartermaster", f.Category}},
	}
	if f.Remediation != "" {
		rule.Help = &sarifText{Text: f.Remediation}
	}
	return rule
}

func newResult(f *audit.Finding, ruleIndex int) sarifResult {
	name := f.Resource
	if _, id, ok := strings.Cut(f.Resource, " "); ok {
		name = id
	}
	fqn := strings.Join(slices.DeleteFunc([]string{f.Cloud, f.Account, f.Region, f.Namespace, f.Resource}, func(s string) bool { return s == "" }), "/")
	props := map[string]any{"severity": f.Severity, "category": f.Category, "cloud": f.Cloud, "account": f.Account, "policy": f.Policy}
	for k, v := range map[string]string{"region": f.Region, "namespace": f.Namespace, "team": f.Team, "remediation": f.Remediation} {
		if v != "" {
			props[k] = v
		}
	}
	if f.MonthlyCost != 0 {
		props["monthlyCostUSD"] = f.MonthlyCost
	}
	msg := f.Message
	if msg == "" {
		msg = f.Code // SARIF wants a message on every result
	}
	return sarifResult{
		RuleID: f.Code, RuleIndex: ruleIndex, Level: sarifLevel(f.Severity), Message: sarifText{Text: msg},
		Locations:           []sarifLocation{{LogicalLocations: []sarifLogical{{Name: name, FullyQualifiedName: fqn, Kind: "resource"}}}},
		PartialFingerprints: map[string]string{"quartermasterFindingId/v1": f.ID},
		Properties:          props,
	}
}

func sarifTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
