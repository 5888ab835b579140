package openreports

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/quartermaster-io/quartermaster/internal/audit"
)

var at = time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)

func finding(id, severity, resource string, cost float64) *audit.Finding {
	return &audit.Finding{ID: id, Category: "waste", Severity: severity, Code: "idle-gpu", Resource: resource,
		Account: "prod", Cloud: "aws", Namespace: "ml", Policy: "quartermaster.audit.waste", Message: "GPU idle", MonthlyCost: cost}
}

func TestResult(t *testing.T) {
	tests := map[string]struct {
		f      *audit.Finding
		legacy bool
		want   Result
	}{
		"pod with a cost": {finding("a1", "high", "Pod ml/trainer-0", 1234.5), false, Result{
			Policy: "quartermaster.audit.waste", Rule: "idle-gpu", Category: "waste", Severity: "high",
			Timestamp: Timestamp{Seconds: at.Unix()}, Result: "fail",
			Resources:  []ObjectRef{{APIVersion: "v1", Kind: "Pod", Namespace: "ml", Name: "trainer-0"}},
			Message:    "GPU idle",
			Properties: map[string]string{"findingId": "a1", "monthlyCost": "1234.50"}}},
		"info is a warning": {finding("a2", "info", "VolumeClaim ml/data", 0), false, Result{
			Policy: "quartermaster.audit.waste", Rule: "idle-gpu", Category: "waste", Severity: "info",
			Timestamp: Timestamp{Seconds: at.Unix()}, Result: "warn",
			Resources:  []ObjectRef{{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: "ml", Name: "data"}},
			Message:    "GPU idle",
			Properties: map[string]string{"findingId": "a2"}}},
		"workload: kind unknown, named in properties": {finding("a3", "critical", "Workload ml/train", 0), false, Result{
			Policy: "quartermaster.audit.waste", Rule: "idle-gpu", Category: "waste", Severity: "critical",
			Timestamp: Timestamp{Seconds: at.Unix()}, Result: "fail",
			Resources:  []ObjectRef{{Namespace: "ml", Name: "train"}},
			Message:    "GPU idle",
			Properties: map[string]string{"findingId": "a3", "resource": "Workload ml/train"}}},
		"node, legacy severities": {finding("a4", "critical", "Node gpu-1", 0), true, Result{
			Policy: "quartermaster.audit.waste", Rule: "idle-gpu", Category: "waste", Severity: "high",
			Timestamp: Timestamp{Seconds: at.Unix()}, Result: "fail",
			Resources:  []ObjectRef{{APIVersion: "v1", Kind: "Node", Name: "gpu-1"}},
			Message:    "GPU idle",
			Properties: map[string]string{"findingId": "a4"}}},
		"legacy info is low": {finding("a5", "info", "Pod ml/p", 0), true, Result{
			Policy: "quartermaster.audit.waste", Rule: "idle-gpu", Category: "waste", Severity: "low",
			Timestamp: Timestamp{Seconds: at.Unix()}, Result: "warn",
			Resources:  []ObjectRef{{APIVersion: "v1", Kind: "Pod", Namespace: "ml", Name: "p"}},
			Message:    "GPU idle",
			Properties: map[string]string{"findingId": "a5"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, result(tc.f, at, tc.legacy, nil)); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	got := truncate(long, maxMessageBytes)
	if len(got) > maxMessageBytes || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("truncate: %d bytes, %q...", len(got), got[:20])
	}
	if truncate("short", maxMessageBytes) != "short" {
		t.Error("a short message was changed")
	}
}

func TestBuild(t *testing.T) {
	many := func(n int) []*audit.Finding {
		var fs []*audit.Finding
		for i := range n {
			fs = append(fs, finding(fmt.Sprintf("f%04d", i), "medium", fmt.Sprintf("Pod ml/p-%04d", i), float64(i)))
		}
		return fs
	}
	tests := map[string]struct {
		fs                []*audit.Finding
		maxResults, bytes int
		warnings          bool
		wantResults       int
		wantSummary       Summary
		wantCut           bool
		wantFirst         string // findingId of the first result
	}{
		"severity first, then cost": {
			fs:         []*audit.Finding{finding("low", "low", "Pod ml/a", 9999), finding("cheap", "high", "Pod ml/b", 1), finding("dear", "high", "Pod ml/c", 50), finding("crit", "critical", "Pod ml/d", 0)},
			maxResults: 10, bytes: DefaultMaxBytes,
			wantResults: 4, wantSummary: Summary{Fail: 4}, wantFirst: "crit",
		},
		"failures only by default": {
			fs:         []*audit.Finding{finding("i", "info", "Pod ml/a", 0), finding("h", "high", "Pod ml/b", 0)},
			maxResults: 10, bytes: DefaultMaxBytes,
			wantResults: 1, wantSummary: Summary{Fail: 1}, wantFirst: "h",
		},
		"warnings when asked": {
			fs:         []*audit.Finding{finding("i", "info", "Pod ml/a", 0), finding("h", "high", "Pod ml/b", 0)},
			maxResults: 10, bytes: DefaultMaxBytes, warnings: true,
			wantResults: 2, wantSummary: Summary{Fail: 1, Warn: 1}, wantFirst: "h",
		},
		"cut at max results, summary counts all": {
			fs: many(1500), maxResults: 1000, bytes: 10 << 20,
			wantResults: 1000, wantSummary: Summary{Fail: 1500}, wantCut: true, wantFirst: "f1499",
		},
		"cut at max bytes": {
			fs: many(1500), maxResults: 1000, bytes: DefaultMaxBytes,
			wantSummary: Summary{Fail: 1500}, wantCut: true, wantFirst: "f1499",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			b, cut := build(tc.fs, nil, at, tc.maxResults, tc.bytes, tc.warnings, false, nil)
			raw, _ := json.Marshal(b)
			if tc.wantResults != 0 && len(b.Results) != tc.wantResults {
				t.Errorf("%d results, want %d", len(b.Results), tc.wantResults)
			}
			if len(raw)+bodyOverhead/2 > tc.bytes {
				t.Errorf("body is %d bytes, over the bound %d", len(raw), tc.bytes)
			}
			if b.Summary != tc.wantSummary || cut != tc.wantCut {
				t.Errorf("summary %+v cut %v, want %+v %v", b.Summary, cut, tc.wantSummary, tc.wantCut)
			}
			if len(b.Results) == 0 || b.Results[0].Properties["findingId"] != tc.wantFirst {
				t.Errorf("first result %v, want %s", b.Results, tc.wantFirst)
			}
			for i := 1; i < len(b.Results); i++ {
				if b.Results[i].Severity == b.Results[i-1].Severity && b.Results[i].Properties["monthlyCost"] > b.Results[i-1].Properties["monthlyCost"] && len(b.Results[i].Properties["monthlyCost"]) == len(b.Results[i-1].Properties["monthlyCost"]) {
					t.Fatalf("result %d costs more than the one before it", i)
				}
			}
			t.Logf("%d results in %d bytes (%.0f bytes per result)", len(b.Results), len(raw), float64(len(raw))/float64(max(1, len(b.Results))))
		})
	}
}

func TestNewWriterConfig(t *testing.T) {
	if _, err := NewWriter(Config{}); err == nil {
		t.Error("a writer without a client was made")
	}
}

// TestSharedRemediations: a rule's remediation is kept once, on the run's
// cluster report, when every finding of the rule has the same one and the
// rule makes an annotation key; its results then leave it out, while a
// rule whose remediation varies, or is missing on some findings, keeps it
// on each result.
func TestSharedRemediations(t *testing.T) {
	with := func(id, code, rem string) *audit.Finding {
		f := finding(id, "high", "Pod ml/"+id, 0)
		f.Code, f.Remediation = code, rem
		return f
	}
	fs := []*audit.Finding{
		with("a", "idle-gpu", "release the GPU"), with("b", "idle-gpu", "release the GPU"),
		with("c", "per-resource", "fix c"), with("d", "per-resource", "fix d"),
		with("e", "sometimes", "do this"), with("f", "sometimes", ""),
		with("g", "Not A Key!", "anything"),
		with("h", "none", ""),
	}
	shared := sharedRemediations(fs)
	if diff := cmp.Diff(map[string]string{"idle-gpu": "release the GPU"}, shared); diff != "" {
		t.Errorf("shared (-want +got):\n%s", diff)
	}
	for _, f := range fs {
		r := result(f, at, false, shared)
		_, has := r.Properties["remediation"]
		if want := f.Remediation != "" && f.Code != "idle-gpu"; has != want {
			t.Errorf("finding %s (%s): remediation on its result %v, want %v", f.ID, f.Code, has, want)
		}
	}
}
