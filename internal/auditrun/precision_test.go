package auditrun

import (
	"context"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// exampleAnswers is the answer key of the example inventory (make demo):
// per check, the resources planted to fail it and the resources it looks
// at that must pass. Resources are "Kind id", as findings name them.
var exampleAnswers = map[string]struct{ planted, clean []string }{
	// compliance: the quartermaster.audit.* Rego library
	"audit-bucket-public": {
		planted: []string{"Bucket demo-assets-public", "Bucket " + azStorage + "nlpdatasets"},
		clean:   []string{"Bucket corpus-eu", "Bucket research-checkpoints", "Bucket ml-research-ckpt", "Bucket " + azStorage + "nlpcheckpoints"},
	},
	"audit-unencrypted": {
		planted: []string{"Disk vol-0aa00000000000005"},
		clean:   []string{"Disk vol-0aa00000000000001", "Disk vol-0aa00000000000006", "VolumeClaim research/llm-train-ckpt"},
	},
	"audit-confidential-provider-key": {
		planted: []string{"Snapshot snap-0bb0000000000001", "Bucket " + azStorage + "nlpdatasets"},
		clean:   []string{"Bucket corpus-eu", "Bucket " + azStorage + "nlpcheckpoints", "Disk vol-0aa00000000000002"},
	},
	"audit-outside-residency": {
		planted: []string{"Instance projects/ml-research-4821/zones/us-central1-a/instances/eu-only-finetune"},
		clean:   []string{"Bucket corpus-eu", "Instance i-0a1b2c3d4e5f60001"},
	},
	"audit-key-rotation-off": {
		planted: []string{"Key arn:aws:kms:us-east-1:111122223333:key/5e3c"},
		clean:   []string{"Key arn:aws:kms:eu-west-1:111122223333:key/9a1f"},
	},
	"audit-key-disabled": {
		planted: []string{"Key arn:aws:kms:eu-west-1:111122223333:key/0d4e"},
		clean:   []string{"Key arn:aws:kms:eu-west-1:111122223333:key/9a1f", "Key arn:aws:kms:us-east-1:111122223333:key/5e3c"},
	},
	"audit-gpu-unattributed": {
		planted: []string{"Instance i-0a1b2c3d4e5f60002"},
		clean:   []string{"Instance i-0a1b2c3d4e5f60001", "Instance " + azCompute + "virtualmachines/a100-spot-1"},
	},
	// compliance: the admission policies re-evaluated over running workloads
	"access-privileged":              {planted: []string{"Workload research/debug-shell"}, clean: cleanWorkloads},
	"access-host-pid":                {planted: []string{"Workload research/debug-shell"}, clean: cleanWorkloads},
	"access-registry":                {planted: []string{"Workload research/debug-shell"}, clean: cleanWorkloads},
	"access-default-service-account": {planted: []string{"Workload research/debug-shell"}, clean: cleanWorkloads},
	// waste
	"gpu-idle": {
		planted: []string{"GPUUsage ip-10-0-1-10/GPU-p4d-6/research/llm-train-worker-3", "GPUUsage ip-10-0-1-10/GPU-p4d-7/research/llm-train-worker-3"},
		clean:   []string{"GPUUsage ip-10-0-1-10/GPU-p4d-0/research/llm-train-worker-0", "GPUUsage gke-prod-us-l4-7f2c/GPU-l4-7f2c/search/rerank-5d8b-0"},
	},
	"gpu-unused": {
		planted: []string{"GPUUsage ip-10-0-1-13/GPU-l4-0/research/debug-shell"},
		clean:   []string{"GPUUsage ip-10-0-1-11/GPU-a10g-0/search/embed-api-7c9f-0"},
	},
	"disk-unattached": {
		planted: []string{"Disk vol-0aa00000000000005", "Disk vol-0aa00000000000006", "Disk " + azCompute + "disks/old-dataset-copy", "Disk projects/ml-research-4821/zones/europe-west4-a/disks/ckpt-scratch"},
		clean:   []string{"Disk vol-0aa00000000000001", "Disk " + azCompute + "disks/a100-spot-1-os"},
	},
	"instance-stopped-disks": {
		planted: []string{"Instance i-0a1b2c3d4e5f60003"},
		clean:   []string{"Instance i-0a1b2c3d4e5f60001", "Instance i-0a1b2c3d4e5f60002"},
	},
	// drift
	"placement-drift": {
		planted: []string{"Workload search/embed-api"},
		clean:   []string{"Workload research/llm-train", "Workload search/rerank"},
	},
	"price-drift": {
		planted: []string{"Workload research/llm-train", "Workload search/embed-api"},
		clean:   []string{"Workload search/rerank"},
	},
	// config drift against the night before (examples/inventory/history): the
	// bucket was private and the key enabled then.
	"config-drift": {
		planted: []string{"Bucket demo-assets-public", "Key arn:aws:kms:eu-west-1:111122223333:key/0d4e"},
		clean:   []string{"Bucket " + azStorage + "nlpdatasets", "Disk vol-0aa00000000000005"},
	},
	// backup
	"checkpoint-not-snapshotted": {
		planted: []string{"VolumeClaim research/llm-train-ckpt"},
		clean:   []string{"VolumeClaim search/rerank-ckpt"},
	},
	"checkpoint-bucket-unversioned": {
		planted: []string{"Bucket ml-research-ckpt", "Bucket research-checkpoints"},
		clean:   []string{"Bucket " + azStorage + "nlpcheckpoints"},
	},
}

const (
	azStorage = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourcegroups/ml/providers/microsoft.storage/storageaccounts/"
	azCompute = "/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourcegroups/ml/providers/microsoft.compute/"
)

var cleanWorkloads = []string{"Workload research/llm-train", "Workload search/embed-api", "Workload search/rerank"}

// TestExamplePrecisionRecall audits the example inventory against the night
// before and scores every check against the answer key: precision and
// recall must both be 100% per check, every clean resource must exist in
// the inventory (a typo would make "not flagged" vacuous), and every
// finding's check must be in the key (a new check needs its planted and
// clean resources).
func TestExamplePrecisionRecall(t *testing.T) {
	store := t.TempDir()
	src, err := filepath.Glob("../../examples/inventory/history/*")
	if err != nil || len(src) != 3 {
		t.Fatalf("history: %v %v", src, err)
	}
	for _, f := range src {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(store, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := NewConfig()
	cfg.Snapshot, cfg.Out, cfg.History = exampleSnapshot, t.TempDir(), "dir://"+store
	o, err := Run(context.Background(), cfg, Deps{Now: func() time.Time { return time.Date(2026, 11, 29, 2, 17, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}

	inInventory := exampleResources(t)
	found := map[string]map[string]bool{}
	for _, f := range o.Report.Findings {
		if found[f.Code] == nil {
			found[f.Code] = map[string]bool{}
		}
		found[f.Code][f.Resource] = true
		if _, ok := exampleAnswers[f.Code]; !ok {
			t.Errorf("check %s (on %s) is not in the answer key", f.Code, f.Resource)
		}
	}
	for _, code := range slices.Sorted(maps.Keys(exampleAnswers)) {
		key := exampleAnswers[code]
		tp, fn := 0, 0
		for _, r := range key.planted {
			if !inInventory[r] {
				t.Errorf("%s: planted %s is not in the example inventory", code, r)
			}
			if found[code][r] {
				tp++
			} else {
				fn++
				t.Errorf("%s: missed planted %s", code, r)
			}
		}
		for _, r := range key.clean {
			if !inInventory[r] {
				t.Errorf("%s: clean %s is not in the example inventory", code, r)
			}
			if found[code][r] {
				t.Errorf("%s: flagged clean %s", code, r)
			}
		}
		fp := 0
		for r := range found[code] {
			if !slices.Contains(key.planted, r) {
				fp++
				t.Errorf("%s: flagged %s, which is not planted", code, r)
			}
		}
		t.Logf("%-32s planted %d, clean %d: precision %3.0f%%, recall %3.0f%%", code, len(key.planted), len(key.clean),
			100*ratio(tp, tp+fp), 100*ratio(tp, tp+fn))
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// exampleResources names every resource of the example inventory as
// findings do.
func exampleResources(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(exampleSnapshot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := inventory.NewSnapshotReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for {
		r, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[string(r.Kind)+" "+r.ID] = true
	}
}
