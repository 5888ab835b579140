package awsprice

import (
	"bytes"
	"testing"
)

// FuzzDecodeOffers: any input decodes or fails with an error, and what is
// kept is a whole GPU count, a positive price and a known instance type.
func FuzzDecodeOffers(f *testing.F) {
	f.Add([]byte(offerFileJSON("us-east-1", "20261101000000", "55.0400000000")))
	f.Add([]byte(`{"terms":{},"products":{}}`))
	f.Add([]byte(`{"products":{"A":{"productFamily":"Compute Instance","attributes":{"instanceType":"p5.48xlarge","gpu":"8","operatingSystem":"Linux","tenancy":"Shared","preInstalledSw":"NA","capacitystatus":"Used"}}},` +
		`"terms":{"OnDemand":{"A":{"A.T":{"priceDimensions":{"A.T.R":{"unit":"Hrs","pricePerUnit":{"USD":"1e3"}}}}}}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := DecodeOffers(bytes.NewReader(in), "us-east-1")
		if err != nil {
			return
		}
		for _, r := range out.Rows {
			if r.InstanceType == "" || r.GPUCount <= 0 || !(r.PriceHourly > 0) {
				t.Fatalf("kept an invalid row %+v", r)
			}
		}
	})
}
