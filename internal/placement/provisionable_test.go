package placement

import (
	"errors"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// provisionerFunc adapts a function to Provisioner.
type provisionerFunc func(o *costing.Offer, ct costing.CapacityType) bool

func (f provisionerFunc) Provisionable(o *costing.Offer, ct costing.CapacityType) bool {
	return f(o, ct)
}

var _ Provisioner = provisionerFunc(nil)

// onlyInstances provisions the listed instance types, any capacity type.
func onlyInstances(its ...string) Provisioner {
	return provisionerFunc(func(o *costing.Offer, _ costing.CapacityType) bool {
		for _, it := range its {
			if o.InstanceType == it {
				return true
			}
		}
		return false
	})
}

func TestProvisionableFilter(t *testing.T) {
	tests := map[string]struct {
		prov        Provisioner
		want        string // cloud/region/instance/capacity
		wantSkipped string // "" for none
		wantStage   string // for no placement
	}{
		"no filter takes the cheapest": {
			prov: nil, want: "aws/us-east-1/p5.48xlarge/on-demand",
		},
		"filter passing everything skips nothing": {
			prov: provisionerFunc(func(*costing.Offer, costing.CapacityType) bool { return true }), want: "aws/us-east-1/p5.48xlarge/on-demand",
		},
		"cheaper offer without node or pool is skipped, with the reason kept": {
			prov: onlyInstances("a3-highgpu-8g"), want: "gcp/europe-west4/a3-highgpu-8g/on-demand",
			wantSkipped: "aws/us-east-1/p5.48xlarge/on-demand",
		},
		"a costlier non-provisionable offer is not reported": {
			prov: onlyInstances("p5.48xlarge"), want: "aws/us-east-1/p5.48xlarge/on-demand",
		},
		"nothing provisionable names the filter": {
			prov: onlyInstances("g6.xlarge"), wantStage: StageProvisionable,
		},
	}
	p := New(testCatalog(t), nil)
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := p.Place(&Request{Workload: gang(2, 8, models("H100")), Provisioner: tc.prov})
			if tc.wantStage != "" {
				var nf *NoFeasibleError
				if !errors.As(err, &nf) || nf.Stage != tc.wantStage || !strings.Contains(nf.Detail, "provisionable filter") {
					t.Fatalf("err = %v, want stage %s", err, tc.wantStage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(&res.Best); got != tc.want {
				t.Errorf("best = %s, want %s", got, tc.want)
			}
			gotSkipped := ""
			if res.Skipped != nil {
				s := res.Skipped
				gotSkipped = s.Offer.Cloud + "/" + s.Offer.Region + "/" + s.Offer.InstanceType + "/" + string(s.CapacityType)
				if s.PricePerHour >= res.Best.PricePerHour {
					t.Errorf("skipped price %v is not below the best's %v", s.PricePerHour, res.Best.PricePerHour)
				}
			}
			if gotSkipped != tc.wantSkipped {
				t.Errorf("skipped = %q, want %q", gotSkipped, tc.wantSkipped)
			}
			for _, a := range res.Alternatives {
				if tc.prov != nil && !tc.prov.Provisionable(a.Offer, a.CapacityType) {
					t.Errorf("alternative %s is not provisionable", describe(&a))
				}
			}
		})
	}
}

func describe(pl *Placement) string {
	return pl.Offer.Cloud + "/" + pl.Offer.Region + "/" + pl.Offer.InstanceType + "/" + string(pl.CapacityType)
}
