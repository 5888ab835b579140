package costing

import (
	"fmt"
	"net/url"
	"strings"
)

// EgressPrices are one cloud's data transfer prices out of a region, in USD
// per GiB, for the first pricing tier (the tier a single dataset copy
// falls in; volume discounts are ignored, which overestimates large copies).
type EgressPrices struct {
	// InterRegion is to another region of the same cloud.
	InterRegion float64
	// Internet is to anywhere else, including another cloud.
	Internet float64
}

// EgressTable holds the egress prices per source cloud. Data is charged by
// the cloud it leaves, so the source's prices apply.
type EgressTable struct {
	AsOf   string
	Clouds map[string]EgressPrices
}

// DefaultEgress is the clouds' public list prices as of AsOf: AWS "Data
// Transfer" (inter-region $0.02/GB, internet first 10 TB $0.09/GB), Azure
// "Bandwidth" (inter-region within a continent $0.02/GB, internet first
// 10 TB $0.087/GB), GCP "Network pricing" (inter-region within a continent
// from $0.02/GB, premium tier internet first 1 TB $0.12/GB). Regional
// exceptions (e.g. South America, intercontinental) are higher; the table is
// a documented approximation, not a bill.
func DefaultEgress() *EgressTable {
	return &EgressTable{
		AsOf: "2026-11-01",
		Clouds: map[string]EgressPrices{
			AWS:   {InterRegion: 0.02, Internet: 0.09},
			Azure: {InterRegion: 0.02, Internet: 0.087},
			GCP:   {InterRegion: 0.02, Internet: 0.12},
		},
	}
}

// Location is where data lives. Region may be empty when only the cloud is
// known.
type Location struct {
	Cloud, Region string
}

// PerGiB is the price of moving one GiB from src to (cloud, region). An
// unknown source region is treated as another region of the same cloud: a
// cost estimate should not assume data is local without evidence.
func (t *EgressTable) PerGiB(src Location, cloud, region string) float64 {
	p, ok := t.Clouds[src.Cloud]
	switch {
	case !ok:
		return 0
	case src.Cloud != cloud:
		return p.Internet
	case src.Region != "" && src.Region == region:
		return 0
	}
	return p.InterRegion
}

// DatasetCloud infers the cloud a dataset URL lives in from its scheme:
// s3:// is AWS, gs:// is GCP, az://, abfss:// and Azure Blob/Data Lake
// https:// URLs are Azure.
func DatasetCloud(dataset string) (string, error) {
	u, err := url.Parse(dataset)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("dataset %q: want a URL such as s3://bucket/path", dataset)
	}
	switch u.Scheme {
	case "s3":
		return AWS, nil
	case "gs":
		return GCP, nil
	case "az", "abfss":
		return Azure, nil
	case "https":
		if strings.HasSuffix(u.Host, ".blob.core.windows.net") || strings.HasSuffix(u.Host, ".dfs.core.windows.net") {
			return Azure, nil
		}
	}
	return "", fmt.Errorf("dataset %q: unknown storage scheme %q (want s3, gs, az, abfss or Azure https)", dataset, u.Scheme)
}
