package awsprice

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// SpotAPI is the part of a regional EC2 client the spot prices need.
type SpotAPI interface {
	// DescribeSpotPriceHistory returns one page of price changes.
	DescribeSpotPriceHistory(ctx context.Context, in *ec2.DescribeSpotPriceHistoryInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSpotPriceHistoryOutput, error)
}

// spotMedians are the median spot prices of a region's instance types: per
// availability zone and over all zones.
type spotMedians struct {
	region map[string]float64
	zone   map[string]map[string]float64 // instance type -> zone -> price
}

// productDescription is the spot product of Linux instances in a VPC, the
// only kind the catalog prices.
const productDescription = "Linux/UNIX"

// fetchSpot reads the spot price history of instance types over window,
// every page, and takes medians. The history holds price changes, not
// samples at a fixed rate, so the median is over the changes in the window
// (and the price in force at its start, which EC2 includes): a price that
// stayed put for days counts once, as it should for a typical price.
func fetchSpot(ctx context.Context, api SpotAPI, instanceTypes []string, window time.Duration, now time.Time) (spotMedians, error) {
	in := &ec2.DescribeSpotPriceHistoryInput{
		StartTime:           aws.Time(now.Add(-window)),
		EndTime:             aws.Time(now),
		ProductDescriptions: []string{productDescription},
		MaxResults:          aws.Int32(1000),
	}
	for _, t := range instanceTypes {
		in.InstanceTypes = append(in.InstanceTypes, types.InstanceType(t))
	}
	byRegion := map[string][]float64{}
	byZone := map[string]map[string][]float64{}
	p := ec2.NewDescribeSpotPriceHistoryPaginator(api, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return spotMedians{}, fmt.Errorf("describing spot price history: %w", err)
		}
		for _, sp := range page.SpotPriceHistory {
			price, err := strconv.ParseFloat(aws.ToString(sp.SpotPrice), 64)
			if err != nil || !(price > 0) {
				continue
			}
			it, az := string(sp.InstanceType), aws.ToString(sp.AvailabilityZone)
			byRegion[it] = append(byRegion[it], price)
			if byZone[it] == nil {
				byZone[it] = map[string][]float64{}
			}
			byZone[it][az] = append(byZone[it][az], price)
		}
	}
	out := spotMedians{region: map[string]float64{}, zone: map[string]map[string]float64{}}
	for it, ps := range byRegion {
		out.region[it] = median(ps)
		out.zone[it] = map[string]float64{}
		for az, zs := range byZone[it] {
			out.zone[it][az] = median(zs)
		}
	}
	return out, nil
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
