package costing

import "strings"

// HoursPerMonth is the month the clouds bill by: 730 hours (365 × 24 / 12).
const HoursPerMonth = 730

// StorageAsOf is the date the storage list prices below were read.
const StorageAsOf = "2026-11-01"

// diskPrices are list prices in USD per GiB-month of block storage, by cloud
// and volume type, in the cheapest region of each cloud's main market (us
// regions): what an unattached disk or a stopped instance's disk costs.
// Provisioned IOPS and throughput beyond a type's baseline are not counted,
// so a finding's cost is a floor. Written from the clouds' public price
// pages; `qm catalog refresh` does not refresh them.
var diskPrices = map[string]map[string]float64{
	"aws": {
		"gp3": 0.08, "gp2": 0.10, "io1": 0.125, "io2": 0.125, "st1": 0.045, "sc1": 0.015, "standard": 0.05,
	},
	"azure": {
		// Managed disks are billed per size tier; per GiB of the tier
		// they land on: P30 (1 TiB) Premium SSD is 135.17 USD.
		"premium_lrs": 0.132, "premium_zrs": 0.198, "premiumv2_lrs": 0.08, "standardssd_lrs": 0.075,
		"standardssd_zrs": 0.094, "standard_lrs": 0.045, "ultrassd_lrs": 0.12,
	},
	"gcp": {
		"pd-standard": 0.04, "pd-balanced": 0.10, "pd-ssd": 0.17, "pd-extreme": 0.125,
		"hyperdisk-balanced": 0.08, "hyperdisk-throughput": 0.045, "hyperdisk-extreme": 0.125,
	},
}

// defaultDiskPrice is each cloud's general-purpose SSD, for a volume type
// the table does not know.
var defaultDiskPrice = map[string]float64{"aws": 0.08, "azure": 0.075, "gcp": 0.10}

// snapshotPrices are USD per GiB-month of snapshot storage (standard tier).
var snapshotPrices = map[string]float64{"aws": 0.05, "azure": 0.05, "gcp": 0.026}

// DiskMonthly is what sizeGiB of a volume type costs per month in cloud,
// and whether the type was known (false: the cloud's general-purpose SSD
// price was used).
func DiskMonthly(cloud, volumeType string, sizeGiB int64) (float64, bool) {
	p, ok := diskPrices[cloud][strings.ToLower(volumeType)]
	if !ok {
		p = defaultDiskPrice[cloud]
	}
	return p * float64(sizeGiB), ok
}

// SnapshotMonthly is what sizeGiB of snapshot costs per month in cloud. The
// size is the snapshot's full size: incremental snapshots cost less, so the
// figure is an upper bound.
func SnapshotMonthly(cloud string, sizeGiB int64) float64 {
	return snapshotPrices[cloud] * float64(sizeGiB)
}
