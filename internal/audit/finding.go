package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// Finding categories (DESIGN 4.6, with backup and cost besides compliance,
// waste and drift).
const (
	CategoryCompliance = "compliance"
	CategoryWaste      = "waste"
	CategoryDrift      = "drift"
	CategoryBackup     = "backup"
	CategoryCost       = "cost"
)

// Finding is one thing the audit found wrong (contract 4.6: report.json's
// findings). Its ID is stable across runs for the same problem on the same
// resource, so that history can tell a new finding from an old one.
type Finding struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	Severity string `json:"severity"`
	// Code names the check or rule, e.g. audit-bucket-public, idle-gpu.
	Code string `json:"code"`
	// Resource is "Kind id".
	Resource  string `json:"resource"`
	Account   string `json:"account"`
	Cloud     string `json:"cloud"`
	Region    string `json:"region,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// Team is who pays, when the resource says.
	Team string `json:"team,omitempty"`
	// Policy is the Rego package or Go check that found it.
	Policy  string `json:"policy"`
	Message string `json:"message"`
	// MonthlyCost is what the finding costs per month in USD (waste, price
	// drift), zero when it has no price.
	MonthlyCost float64 `json:"monthlyCost,omitempty"`
	Remediation string  `json:"remediation,omitempty"`
}

// newFinding fills the resource's identity into a finding and gives it its
// stable ID: a hash of the code and the resource.
func newFinding(r *inventory.Resource, category, severity, code, policyName, msg string) Finding {
	sum := sha256.Sum256([]byte(code + "\x00" + string(r.Cloud) + "\x00" + r.Account + "\x00" + string(r.Kind) + "\x00" + r.ID))
	return Finding{
		ID: hex.EncodeToString(sum[:8]), Category: category, Severity: severity, Code: code,
		Resource: string(r.Kind) + " " + r.ID, Account: r.Account, Cloud: string(r.Cloud), Region: r.Region,
		Namespace: r.Namespace, Team: teamOf(r), Policy: policyName, Message: msg,
	}
}

// teamOf reads who pays from a resource's labels or tags.
func teamOf(r *inventory.Resource) string {
	for _, k := range []string{"quartermaster.io/team", "team"} {
		if t := r.Labels[k]; t != "" {
			return t
		}
	}
	if r.Pod != nil {
		return r.Pod.Team
	}
	return ""
}

// severityRank orders severities, most severe first.
func severityRank(s string) int {
	if i := slices.Index(policy.Severities, s); i >= 0 {
		return i
	}
	return len(policy.Severities)
}

// SortFindings orders findings by severity, then cost (largest first), then
// category, resource and code: the report's reading order, and stable.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		if d := severityRank(a.Severity) - severityRank(b.Severity); d != 0 {
			return d
		}
		if a.MonthlyCost != b.MonthlyCost {
			if a.MonthlyCost > b.MonthlyCost {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Category+"\x00"+a.Resource+"\x00"+a.Code, b.Category+"\x00"+b.Resource+"\x00"+b.Code)
	})
}
