package audit

import (
	"fmt"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Waste check codes.
const (
	CodeDiskUnattached      = "disk-unattached"
	CodeStoppedInstanceDisk = "instance-stopped-disks"
	CodeGPUIdle             = "gpu-idle"
	CodeGPUUnused           = "gpu-unused"
)

// wastePolicy names the Go checks in findings, as a Rego package names its
// rules.
const wastePolicy = "quartermaster.checks.waste"

// wasteSeverity ranks waste by what it costs a month: it is money, not a
// breach, so only large sums are high.
func wasteSeverity(monthly float64) string {
	switch {
	case monthly >= 1000:
		return "high"
	case monthly >= 100:
		return "medium"
	}
	return "low"
}

// unattachedDisk reports a disk nothing uses, priced per month.
func (s *state) unattachedDisk(r *inventory.Resource) {
	monthly, known := costing.DiskMonthly(string(r.Cloud), r.Disk.Type, r.Disk.SizeGiB)
	note := ""
	if !known {
		note = fmt.Sprintf(" (volume type %q priced as the cloud's general-purpose SSD)", r.Disk.Type)
	}
	f := newFinding(r, CategoryWaste, wasteSeverity(monthly), CodeDiskUnattached, wastePolicy,
		fmt.Sprintf("%d GiB %s disk attached to nothing: %.2f USD a month%s", r.Disk.SizeGiB, r.Disk.Type, monthly, note))
	f.MonthlyCost, f.Remediation = round2(monthly), "snapshot it if its data matters, then delete it"
	s.add(f)
}

// waste runs the checks that join resources: stopped instances with their
// disks, and GPUs held by pods that do not use them.
func (s *state) waste() {
	for _, r := range s.stopped {
		var monthly float64
		var gib int64
		for _, id := range r.Instance.Disks {
			if d := s.disks[r.Account+"/"+id]; d != nil {
				m, _ := costing.DiskMonthly(d.cloud, d.volumeType, d.sizeGiB)
				monthly, gib = monthly+m, gib+d.sizeGiB
			}
		}
		if monthly == 0 {
			continue
		}
		f := newFinding(r, CategoryWaste, wasteSeverity(monthly), CodeStoppedInstanceDisk, wastePolicy,
			fmt.Sprintf("stopped %s still pays for %d GiB of disks: %.2f USD a month", r.Instance.InstanceType, gib, monthly))
		f.MonthlyCost, f.Remediation = round2(monthly), "terminate it (keeping a snapshot) if it is not coming back"
		s.add(f)
	}
	teams := map[string]string{}
	for _, p := range s.pods {
		teams[p.account+"/"+p.namespace+"/"+p.name] = p.team
	}
	for _, r := range s.usage {
		u := r.GPUUsage
		if u.Pod == "" || u.MeanUtilisation >= s.thresholds.IdleMean || u.MaxUtilisation >= s.thresholds.IdlePeak {
			continue
		}
		code, what := CodeGPUIdle, fmt.Sprintf("mean %.1f%%, peak %.1f%%", 100*u.MeanUtilisation, 100*u.MaxUtilisation)
		if u.MaxUtilisation == 0 {
			code, what = CodeGPUUnused, "never used"
		}
		f := newFinding(r, CategoryWaste, "low", code, wastePolicy, "")
		f.Namespace, f.Team = u.PodNamespace, teams[r.Account+"/"+u.PodNamespace+"/"+u.Pod]
		f.Remediation = "release the GPU (scale the workload down, or size it to a smaller or shared GPU: MIG, time-slicing)"
		price := ""
		if n := s.nodes[r.Account+"/"+u.Node]; n != nil {
			f.Region = n.region
			if hourly, gpus, ok := s.prices.hourly(n.cloud, n.region, n.instanceType, n.capacityType); ok && gpus > 0 {
				f.MonthlyCost = round2(hourly / float64(gpus) * costing.HoursPerMonth)
				f.Severity = wasteSeverity(f.MonthlyCost)
				price = fmt.Sprintf(": %.2f USD a month (%s %s, %s)", f.MonthlyCost, n.instanceType, n.capacityType, n.region)
			}
		}
		f.Message = fmt.Sprintf("GPU %s on %s held by pod %s/%s is idle over %v (%s by %s)%s",
			u.GPU, u.Node, u.PodNamespace, u.Pod, u.Window, what, u.Metric, price)
		s.add(f)
	}
}
