package costing

import (
	"bytes"
	"os"
	"testing"
)

// FuzzReadCSV: any input parses into a valid catalog or fails with an error.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte(defaultCatalogCSV))
	f.Add([]byte(header + "aws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,55.04,27.5,efa\n"))
	f.Add([]byte("# as-of: x\n" + header + "\"a\nb\",,,,,,,,,,,\n"))
	f.Add([]byte("# as-of: 2026-11-01\n# region: aws/mars-1=xx\n" + header + "aws,mars-1,,i,H100,8,80,1,1,1,,\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ReadCSV(bytes.NewReader(in), nil, "fuzz")
		if err != nil {
			return
		}
		if a := c.Meta().AsOf; a != "" && ParseAsOf(a) != nil {
			t.Fatalf("accepted as-of %q", a)
		}
		for _, o := range c.Offers() {
			if err := o.validate(); err != nil {
				t.Fatalf("accepted an invalid offer %s: %v", o.Key(), err)
			}
			if o.Jurisdiction == "" {
				t.Fatalf("accepted offer %s without a jurisdiction", o.Key())
			}
		}
	})
}

// FuzzReadSkyPilot: the importer never panics and never keeps a spot price
// at or above on-demand.
func FuzzReadSkyPilot(f *testing.F) {
	for _, p := range []string{"testdata/skypilot-aws.csv", "testdata/skypilot-gcp.csv"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b, p == "testdata/skypilot-gcp.csv")
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, gcp bool) {
		cloud := AWS
		if gcp {
			cloud = GCP
		}
		c, _, err := ReadSkyPilot(bytes.NewReader(in), cloud, nil, "fuzz")
		if err != nil {
			return
		}
		for _, o := range c.Offers() {
			if o.HasSpot() && o.SpotPriceHourly >= o.PriceHourly {
				t.Fatalf("%s: spot %v ≥ on-demand %v", o.Key(), o.SpotPriceHourly, o.PriceHourly)
			}
			if err := o.validate(); err != nil {
				t.Fatalf("accepted an invalid offer %s: %v", o.Key(), err)
			}
		}
	})
}
