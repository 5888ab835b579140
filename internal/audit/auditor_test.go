package audit

import (
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

var now = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

// cluster is a small inventory of one AWS account and one cluster whose
// nodes run in it. Prices come from the embedded catalog: p4d.24xlarge in
// us-east-1 is 21.96 USD/h on demand (8 A100), g5.xlarge 1.006 (1 A10G).
func cluster() []*inventory.Resource {
	const acct, ctx = "111111111111", "prod-us"
	obs := now
	kube := func(kind inventory.Kind, id, ns string) *inventory.Resource {
		return &inventory.Resource{Kind: kind, ID: id, Account: ctx, Cloud: inventory.CloudKube, Namespace: ns, Observed: obs}
	}
	rs := []*inventory.Resource{}
	ns := kube(inventory.KindNamespace, "ml", "")
	ns.Labels = map[string]string{"quartermaster.io/team": "research"}
	rs = append(rs, ns)
	for _, n := range []struct{ name, itype string }{{"gpu-a", "p4d.24xlarge"}, {"gpu-b", "g5.xlarge"}} {
		r := kube(inventory.KindNode, n.name, "")
		r.Region = "us-east-1"
		r.Node = &inventory.Node{InstanceType: n.itype, CapacityType: "on-demand", ProviderID: "aws:///us-east-1a/i-" + n.name,
			GPUs: map[string]int64{"nvidia.com/gpu": 8}, Ready: true}
		rs = append(rs, r)
	}
	pod := func(name, node, owner string, gpus int64) *inventory.Resource {
		r := kube(inventory.KindPod, "ml/"+name, "ml")
		r.Name = name
		r.Pod = &inventory.Pod{NodeName: node, Phase: "Running", GPUs: map[string]int64{"nvidia.com/gpu": gpus}, Owner: owner, Team: "research",
			StartTime: now.Add(-48 * time.Hour)}
		return r
	}
	rs = append(rs, pod("train-0", "gpu-a", "Job/train", 4), pod("train-1", "gpu-a", "Job/train", 4), pod("serve-x", "gpu-b", "Deployment/serve", 1))
	usage := func(gpu, p string, mean, peak float64) *inventory.Resource {
		r := kube(inventory.KindGPUUsage, "gpu-a/"+gpu+"/ml/"+p, "")
		r.GPUUsage = &inventory.GPUUsage{Node: "gpu-a", GPU: gpu, Pod: p, PodNamespace: "ml", Metric: "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
			MeanUtilisation: mean, MaxUtilisation: peak, Window: 24 * time.Hour}
		return r
	}
	rs = append(rs,
		usage("GPU-1", "train-0", 0.62, 0.9),  // busy
		usage("GPU-2", "train-1", 0.01, 0.05), // idle
		usage("GPU-3", "train-1", 0, 0),       // never used
		usage("GPU-4", "train-1", 0.04, 0.35), // a burst: not idle
	)
	// The Deployment's decision put it on g6.xlarge; it runs on g5.xlarge.
	wl := kube(inventory.KindWorkload, "ml/serve", "ml")
	wl.Workload = &inventory.Workload{APIVersion: "apps/v1", Object: map[string]any{"kind": "Deployment", "metadata": map[string]any{"name": "serve", "namespace": "ml"}},
		Decision: `{"id":"d-1","cloud":"aws","region":"us-east-1","instanceType":"g6.xlarge","capacityType":"on-demand"}`}
	wlOK := kube(inventory.KindWorkload, "ml/train", "ml")
	wlOK.Workload = &inventory.Workload{APIVersion: "batch/v1", Object: map[string]any{"kind": "Job"},
		Decision: `{"id":"d-2","cloud":"aws","region":"us-east-1","instanceType":"p4d.24xlarge","capacityType":"on-demand"}`}
	rs = append(rs, wl, wlOK)
	// Checkpoints: one claim snapshotted an hour ago, one two days ago, one
	// never; a checkpoint bucket without versioning.
	claim := func(name string) *inventory.Resource {
		r := kube(inventory.KindVolumeClaim, "ml/"+name, "ml")
		r.Name = name
		r.Claim = &inventory.Claim{SizeGiB: 500, Encryption: inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}}
		return r
	}
	snap := func(claim string, age time.Duration) *inventory.Resource {
		r := kube(inventory.KindVolumeSnapshot, "ml/"+claim+"-snap", "ml")
		r.VolumeSnapshot = &inventory.VolumeSnapshot{SourceClaim: claim, ReadyToUse: true, Taken: now.Add(-age)}
		return r
	}
	rs = append(rs, claim("ckpt-fresh"), claim("ckpt-stale"), claim("checkpoints-none"), claim("scratch"),
		snap("ckpt-fresh", time.Hour), snap("ckpt-stale", 48*time.Hour))
	cloud := func(kind inventory.Kind, id string) *inventory.Resource {
		return &inventory.Resource{Kind: kind, ID: id, Account: acct, Cloud: inventory.CloudAWS, Region: "us-east-1", Observed: obs}
	}
	b := cloud(inventory.KindBucket, "ml-checkpoints")
	b.Bucket = &inventory.Bucket{Location: "us-east-1", PublicAccessBlocked: true, Versioning: false, Encryption: inventory.Encryption{Encrypted: true}}
	d1 := cloud(inventory.KindDisk, "vol-orphan")
	d1.Disk = &inventory.Disk{SizeGiB: 2000, Type: "gp3", Encryption: inventory.Encryption{Encrypted: false}}
	d2 := cloud(inventory.KindDisk, "vol-stopped")
	d2.Disk = &inventory.Disk{SizeGiB: 1000, Type: "io2", AttachedTo: "i-stopped", Encryption: inventory.Encryption{Encrypted: true}}
	i := cloud(inventory.KindInstance, "i-stopped")
	i.Instance = &inventory.Instance{InstanceType: "p4d.24xlarge", State: "stopped", CapacityType: "on-demand", GPUModel: "A100", GPUCount: 8, Disks: []string{"vol-stopped"}}
	return append(rs, b, d1, d2, i)
}

func stream(rs []*inventory.Resource) func() (*inventory.Resource, error) {
	i := 0
	return func() (*inventory.Resource, error) {
		if i == len(rs) {
			return nil, io.EOF
		}
		i++
		return rs[i-1], nil
	}
}

func auditor(t *testing.T) *Auditor {
	t.Helper()
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return &Auditor{Catalog: cat, Now: func() time.Time { return now }}
}

func byCode(fs []Finding) map[string][]Finding {
	m := map[string][]Finding{}
	for _, f := range fs {
		m[f.Code] = append(m[f.Code], f)
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.006 }

func TestAuditorJoinedChecks(t *testing.T) {
	res, err := auditor(t).Run(context.Background(), stream(cluster()))
	if err != nil {
		t.Fatal(err)
	}
	got := byCode(res.Findings)
	perA100 := 21.96 / 8 * 730 // one p4d GPU a month
	tests := map[string]struct {
		code     string
		n        int
		resource string
		monthly  float64
		severity string
		msg      string
	}{
		"idle gpu":            {CodeGPUIdle, 1, "GPUUsage gpu-a/GPU-2/ml/train-1", perA100, "high", "mean 1.0%, peak 5.0%"},
		"unused gpu":          {CodeGPUUnused, 1, "GPUUsage gpu-a/GPU-3/ml/train-1", perA100, "high", "never used"},
		"orphan disk":         {CodeDiskUnattached, 1, "Disk vol-orphan", 2000 * 0.08, "medium", "2000 GiB gp3 disk attached to nothing"},
		"stopped instance":    {CodeStoppedInstanceDisk, 1, "Instance i-stopped", 1000 * 0.125, "medium", "stopped p4d.24xlarge still pays for 1000 GiB"},
		"drift":               {CodePlacementDrift, 1, "Workload ml/serve", 0, "medium", "decision d-1 placed it on aws/us-east-1 g6.xlarge, but 1 pod(s) run elsewhere: serve-x on gpu-b"},
		"no snapshot":         {CodeCheckpointNoSnapshot, 2, "", 0, "medium", ""},
		"unversioned buckets": {CodeCheckpointUnversioned, 1, "Bucket ml-checkpoints", 0, "medium", "keeps no object versions"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fs := got[tc.code]
			if len(fs) != tc.n {
				t.Fatalf("%d %s findings, want %d: %+v", len(fs), tc.code, tc.n, fs)
			}
			f := fs[0]
			if tc.resource != "" && f.Resource != tc.resource || !near(f.MonthlyCost, tc.monthly) || f.Severity != tc.severity ||
				!strings.Contains(f.Message, tc.msg) || f.ID == "" || f.Remediation == "" && tc.code != CodePlacementDrift {
				t.Errorf("finding %+v\nwant resource %q, monthly %.2f, severity %s, message containing %q", f, tc.resource, tc.monthly, tc.severity, tc.msg)
			}
		})
	}
	for _, f := range got[CodeCheckpointNoSnapshot] {
		if strings.Contains(f.Resource, "ckpt-fresh") || strings.Contains(f.Resource, "scratch") {
			t.Errorf("reported %s: fresh or not a checkpoint", f.Resource)
		}
	}
	// Costs: 8 A100 on the p4d (research, Job/train) and 1 A10G (serve).
	c := res.Costs
	wantTotal := 8*21.96/8*730 + 1.006*730
	if !near(c.TotalMonthly, wantTotal) || !near(c.IdleMonthly, 2*perA100) || c.UnpricedGPUs != 0 {
		t.Errorf("costs total %.2f idle %.2f unpriced %d, want %.2f, %.2f, 0", c.TotalMonthly, c.IdleMonthly, c.UnpricedGPUs, wantTotal, 2*perA100)
	}
	if len(c.ByTeam) != 1 || c.ByTeam[0].Key != "research" || c.ByTeam[0].GPUs != 9 {
		t.Errorf("by team %+v", c.ByTeam)
	}
	if len(c.ByWorkload) != 2 || c.ByWorkload[0].Key != "prod-us/ml/Job/train" || !near(c.ByWorkload[0].IdleFraction, 0.25) {
		t.Errorf("by workload %+v", c.ByWorkload)
	}
	s := res.Summary
	wantWaste := 2*perA100 + 160 + 125
	if !near(s.WasteMonthly, wantWaste) || s.ByCategory[CategoryWaste] != 4 || s.Findings != len(res.Findings) {
		t.Errorf("summary %+v, want waste %.2f over 4 findings", s, wantWaste)
	}
	// Sorted: severity first, then cost.
	for i := 1; i < len(res.Findings); i++ {
		a, b := res.Findings[i-1], res.Findings[i]
		if severityRank(a.Severity) > severityRank(b.Severity) ||
			a.Severity == b.Severity && a.MonthlyCost < b.MonthlyCost {
			t.Errorf("findings out of order at %d: %s %.2f before %s %.2f", i, a.Severity, a.MonthlyCost, b.Severity, b.MonthlyCost)
		}
	}
	if res.Resources[inventory.KindPod] != 3 || res.Resources[inventory.KindGPUUsage] != 4 {
		t.Errorf("resources %v", res.Resources)
	}
}

// A finding's ID is the same in every run for the same problem on the same
// resource, and differs between problems and resources.
func TestFindingIDsAreStable(t *testing.T) {
	a, err := auditor(t).Run(context.Background(), stream(cluster()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := auditor(t).Run(context.Background(), stream(cluster()))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, f := range a.Findings {
		if b.Findings[i].ID != f.ID {
			t.Errorf("%s: ID %s then %s", f.Resource, f.ID, b.Findings[i].ID)
		}
		if seen[f.ID] {
			t.Errorf("ID %s used twice", f.ID)
		}
		seen[f.ID] = true
	}
}

type fakeRules struct{ err map[string]bool }

func (f fakeRules) Audit(_ context.Context, r any) ([]policy.AuditFinding, error) {
	res := r.(*inventory.Resource)
	if f.err[res.ID] {
		return nil, &policy.EvalError{Revision: "r", Err: errors.New("conflicting values")}
	}
	if res.Kind == inventory.KindBucket {
		return []policy.AuditFinding{{Code: "audit-x", Msg: "m " + res.ID, Policy: "quartermaster.audit.t", Severity: "critical", Remediation: "fix"}}, nil
	}
	return nil, nil
}

type fakeJudge struct{}

func (fakeJudge) JudgeObject(_ context.Context, obj map[string]any, ns map[string]string) ([]Denial, error) {
	if obj["kind"] == "Deployment" && ns["quartermaster.io/team"] == "research" {
		return []Denial{{Code: "access-team-model", Msg: "team research may not use A10G", Policy: "quartermaster.access"}}, nil
	}
	return nil, nil
}

func TestAuditorCompliance(t *testing.T) {
	a := auditor(t)
	a.Rules = fakeRules{err: map[string]bool{"vol-orphan": true}}
	a.Admission = fakeJudge{}
	res, err := a.Run(context.Background(), stream(cluster()))
	if err != nil {
		t.Fatal(err)
	}
	got := byCode(res.Findings)
	if f := got["audit-x"]; len(f) != 1 || f[0].Category != CategoryCompliance || f[0].Severity != "critical" || f[0].Remediation != "fix" || f[0].Account != "111111111111" {
		t.Errorf("rule findings %+v", f)
	}
	// The admission re-evaluation saw the namespace's labels, which came
	// earlier in the stream.
	if f := got["access-team-model"]; len(f) != 1 || !strings.Contains(f[0].Message, "admission would deny it today: team research") || f[0].Resource != "Workload ml/serve" {
		t.Errorf("admission findings %+v", f)
	}
	// A resource the rules cannot judge is reported, and the run goes on.
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "Disk vol-orphan") || got[CodeDiskUnattached] == nil {
		t.Errorf("errors %v; the orphan disk still priced: %v", res.Errors, got[CodeDiskUnattached] != nil)
	}
}

func TestAuditorStopsOnAReadError(t *testing.T) {
	_, err := auditor(t).Run(context.Background(), func() (*inventory.Resource, error) { return nil, errors.New("snapshot cut short") })
	if err == nil || !strings.Contains(err.Error(), "reading the inventory: snapshot cut short") {
		t.Errorf("err = %v", err)
	}
	if _, err := (&Auditor{}).Run(context.Background(), stream(nil)); err == nil {
		t.Error("an auditor without a catalog ran")
	}
}

type fakeReplanner struct {
	got []Running
	err error
}

func (f *fakeReplanner) Replan(_ context.Context, running []Running) ([]Move, error) {
	f.got = running
	var moves []Move
	for _, r := range running {
		// Today the train job is half the price, the server 10% less.
		price := map[string]float64{"prod-us/ml/train": 21.96 / 2, "prod-us/ml/serve": 0}[r.Key]
		if price > 0 {
			moves = append(moves, Move{Key: r.Key, Cloud: "gcp", Region: "us-central1", InstanceType: "a2-highgpu-8g", GPUModel: "A100", CapacityType: "spot", Nodes: 1, PricePerHour: price})
		}
	}
	return moves, f.err
}

// Price drift reports a running workload that today's placement would put
// at least 20% cheaper, with the saving per month, and nothing else.
func TestPriceDrift(t *testing.T) {
	rs := cluster()
	for _, r := range rs {
		if r.Kind == inventory.KindWorkload {
			r.Workload.Decision = strings.Replace(r.Workload.Decision, `"capacityType":"on-demand"`, `"capacityType":"on-demand","pricePerHour":21.96`, 1)
		}
	}
	a := auditor(t)
	rp := &fakeReplanner{}
	a.Replanner = rp
	res, err := a.Run(context.Background(), stream(rs))
	if err != nil {
		t.Fatal(err)
	}
	fs := byCode(res.Findings)[CodePriceDrift]
	if len(rp.got) != 2 || len(fs) != 1 || fs[0].Resource != "Workload ml/train" || !near(fs[0].MonthlyCost, 21.96/2*730) ||
		!strings.Contains(fs[0].Message, "50% cheaper") || fs[0].Category != CategoryDrift {
		t.Fatalf("replanned %d, findings %+v", len(rp.got), fs)
	}
	rp.err = errors.New("solver timed out")
	res, err = a.Run(context.Background(), stream(rs))
	if err != nil || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "price drift not checked: solver timed out") {
		t.Errorf("a failed replan: err %v, run errors %v", err, res.Errors)
	}
}

// A checkpoint's snapshot age is taken as of when its claim was observed:
// auditing the same inventory three days later finds the same backups
// missing, not every one of them; a claim without an observed time is
// judged as of the run.
func TestBackupAgeAsObserved(t *testing.T) {
	a := auditor(t)
	a.Now = func() time.Time { return now.Add(72 * time.Hour) }
	res, err := a.Run(context.Background(), stream(cluster()))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range byCode(res.Findings)[CodeCheckpointNoSnapshot] {
		got = append(got, f.Resource)
	}
	slices.Sort(got)
	if want := []string{"VolumeClaim ml/checkpoints-none", "VolumeClaim ml/ckpt-stale"}; !slices.Equal(got, want) {
		t.Errorf("three days later: %v, want %v", got, want)
	}

	unobserved := cluster()
	for _, r := range unobserved {
		if r.Kind == inventory.KindVolumeClaim {
			r.Observed = time.Time{}
		}
	}
	res, err = a.Run(context.Background(), stream(unobserved))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(byCode(res.Findings)[CodeCheckpointNoSnapshot]); n != 3 {
		t.Errorf("claims without an observed time, judged three days later: %d findings, want 3", n)
	}
}
