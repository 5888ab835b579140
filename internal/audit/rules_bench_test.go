package audit

import (
	"context"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
	"github.com/quartermaster-io/quartermaster/policies"
)

// BenchmarkRules is one evaluation of the default audit library on each
// kind of the synthetic inventory, the per-resource cost of the rules
// (which dominate an audit's CPU time), and the MayAudit check that spares
// it on the kinds no rule judges (Pod, GPUUsage).
func BenchmarkRules(b *testing.B) {
	bundle, err := policy.Load(context.Background(), policies.FS(), policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i, name := range []string{"Disk", "Instance", "Pod", "GPUUsage"} {
		r := inventory.Synthetic(i+4, 10)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := bundle.Audit(context.Background(), r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/MayAudit", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				bundle.MayAudit(string(r.Kind), r.Labels)
			}
		})
	}
}
