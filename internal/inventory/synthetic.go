package inventory

import (
	"fmt"
	"strconv"
	"time"
)

// Synthetic returns the i-th resource of a synthetic inventory spread over
// accounts: disks, instances, pods and GPU usage in turn, the mix an audit
// of GPU clusters reads, with problems planted at fixed rates (one disk in
// seven unencrypted, GPUs at every utilisation). It is deterministic, so
// benchmark runs compare; make bench reads 100k and 1M of them.
func Synthetic(i, accounts int) *Resource {
	acct := fmt.Sprintf("%012d", 100000000000+i%accounts)
	obs := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	switch i % 4 {
	case 0:
		return &Resource{Kind: KindDisk, ID: fmt.Sprintf("vol-%08x", i), Account: acct, Cloud: CloudAWS, Region: "us-east-1", Observed: obs,
			Labels: map[string]string{"team": "vision"},
			Disk:   &Disk{SizeGiB: int64(100 + i%900), Type: "gp3", Encryption: Encryption{Encrypted: i%7 != 0, KeyKind: KeyProviderManaged}, AttachedTo: fmt.Sprintf("i-%08x", i+1)}}
	case 1:
		return &Resource{Kind: KindInstance, ID: fmt.Sprintf("i-%08x", i), Account: acct, Cloud: CloudAWS, Region: "us-east-1", Observed: obs,
			Labels:   map[string]string{"team": "vision", "Name": "worker"},
			Instance: &Instance{InstanceType: "p4d.24xlarge", State: "running", CapacityType: "on-demand", GPUModel: "A100", GPUCount: 8, Disks: []string{fmt.Sprintf("vol-%08x", i-1)}}}
	case 2:
		return &Resource{Kind: KindPod, ID: fmt.Sprintf("ml/train-%d", i), Name: fmt.Sprintf("train-%d", i), Namespace: "ml", Account: acct, Cloud: CloudKube, Observed: obs,
			Pod: &Pod{NodeName: "node-" + strconv.Itoa(i%500), Phase: "Running", GPUs: map[string]int64{"nvidia.com/gpu": 1}, Owner: "Job/train", Team: "vision", StartTime: obs}}
	default:
		return &Resource{Kind: KindGPUUsage, ID: fmt.Sprintf("node-%d/GPU-%d/ml/train-%d", i%500, i, i-1), Account: acct, Cloud: CloudKube, Observed: obs,
			GPUUsage: &GPUUsage{Node: "node-" + strconv.Itoa(i%500), GPU: "GPU-" + strconv.Itoa(i), Pod: fmt.Sprintf("train-%d", i-1), PodNamespace: "ml",
				Metric: "DCGM_FI_PROF_GR_ENGINE_ACTIVE", MeanUtilisation: float64(i%100) / 100, MaxUtilisation: 0.9, MemoryUsedMiB: 4096, Window: 24 * time.Hour}}
	}
}
