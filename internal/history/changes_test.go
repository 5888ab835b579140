package history

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/report"
)

func finding(id, category, severity, code, msg string) audit.Finding {
	return audit.Finding{ID: id, Category: category, Severity: severity, Code: code, Resource: "Bucket ckpt-" + id,
		Account: "111", Cloud: "aws", Region: "eu-west-1", Team: "vision", Policy: "quartermaster.audit.x", Message: msg,
		Remediation: "fix " + id}
}

func TestCompareAndChanges(t *testing.T) {
	kept := finding("kept", audit.CategoryCompliance, "high", "audit-volume-unencrypted", "unencrypted")
	public := finding("public", audit.CategoryCompliance, "critical", "audit-bucket-public", "bucket is public")
	resolved := finding("gone", audit.CategoryWaste, "medium", "idle-gpu", "idle")
	newWaste := finding("idle2", audit.CategoryWaste, "medium", "idle-gpu", "idle")
	oldDrift := finding("d1", audit.CategoryDrift, "high", CodeConfigDrift, "changed since the last run (r0): x")
	prev := &report.Report{Run: report.Run{ID: "r1"}, Findings: []audit.Finding{kept, resolved, oldDrift}}
	cur := &report.Report{Run: report.Run{ID: "r2"}, Findings: []audit.Finding{public, kept, newWaste}}

	wantCmp := &report.Changes{Previous: "r1", New: []string{"public", "idle2"}, Resolved: []audit.Finding{resolved}}
	if d := cmp.Diff(wantCmp, Compare(prev, cur)); d != "" {
		t.Errorf("Compare (-want +got):\n%s", d)
	}

	got := Changes(prev, cur)
	if len(got) != 1 {
		t.Fatalf("Changes = %+v, want one drift finding for the bucket made public", got)
	}
	want := public
	want.ID = got[0].ID
	want.Category, want.Code, want.Policy = audit.CategoryDrift, CodeConfigDrift, "quartermaster.checks.drift"
	want.Message = "changed since the last run (r1): bucket is public"
	if d := cmp.Diff(want, got[0]); d != "" {
		t.Errorf("drift finding (-want +got):\n%s", d)
	}
	if len(got[0].ID) != 16 || got[0].ID == public.ID {
		t.Errorf("drift ID %q: want its own 16 hex digits", got[0].ID)
	}
	// Stable: the same change in another pair of runs has the same ID.
	again := Changes(&report.Report{Run: report.Run{ID: "r7"}}, &report.Report{Findings: []audit.Finding{public}})
	if len(again) != 1 || again[0].ID != got[0].ID {
		t.Errorf("drift ID not stable: %+v vs %q", again, got[0].ID)
	}
	// Once the drift finding is in cur, comparing the next run with it
	// does not report it as new or resolved.
	cur.Findings = append(cur.Findings, got...)
	next := &report.Report{Run: report.Run{ID: "r3"}, Findings: []audit.Finding{public, kept, newWaste}}
	if d := cmp.Diff(&report.Changes{Previous: "r2", New: []string{}, Resolved: []audit.Finding{}}, Compare(cur, next)); d != "" {
		t.Errorf("Compare with a drift finding (-want +got):\n%s", d)
	}
	if c := Changes(cur, next); len(c) != 0 {
		t.Errorf("Changes when nothing changed = %+v", c)
	}
}

func TestFirstRunHasNoChanges(t *testing.T) {
	cur := &report.Report{Findings: []audit.Finding{finding("p", audit.CategoryCompliance, "high", "c", "m")}}
	if c := Compare(nil, cur); c != nil {
		t.Errorf("Compare(nil, cur) = %+v", c)
	}
	if c := Changes(nil, cur); c != nil {
		t.Errorf("Changes(nil, cur) = %+v", c)
	}
}
