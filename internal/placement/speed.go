package placement

import "slices"

// ReferenceModel is the GPU model whose relative speed is exactly 1.
const ReferenceModel = "A100-80GB"

// RelativeSpeed is each GPU model's serving speed relative to the A100-80GB,
// taken as the ratio of HBM/GDDR memory bandwidth from the vendors' data
// sheets (A100-80GB SXM 2,039 GB/s; H100 SXM 3,350; H200 4,800; A100-40GB
// 1,555; L40S 864; L4 300; A10G 600; A10 600; T4 320; V100 900; MI300X
// 5,300). Token generation in LLM serving is bound by memory bandwidth, so
// this is the first-order scaling of service time; it ignores batching,
// compute-bound prefill and interconnect. Measure your model on the target
// GPU and annotate service-time@MODEL to remove the approximation.
var RelativeSpeed = map[string]float64{
	"A100-80GB": 1.0,
	"H100":      3350.0 / 2039,
	"H200":      4800.0 / 2039,
	"A100":      1555.0 / 2039,
	"L40S":      864.0 / 2039,
	"L4":        300.0 / 2039,
	"A10G":      600.0 / 2039,
	"A10":       600.0 / 2039,
	"T4":        320.0 / 2039,
	"V100":      900.0 / 2039,
	"MI300X":    5300.0 / 2039,
}

// serviceRate is μ on model, the service time measured on ref
// (ReferenceModel when empty) scaled by the relative speeds; false when
// either model has no known speed.
func serviceRate(serviceTime float64, ref, model string) (float64, bool) {
	if ref == "" {
		ref = ReferenceModel
	}
	sRef, ok1 := RelativeSpeed[ref]
	sM, ok2 := RelativeSpeed[model]
	if !ok1 || !ok2 {
		return 0, false
	}
	t := serviceTime * sRef / sM
	return 1 / t, true
}

// speedModels lists the models with a known speed, for error messages.
func speedModels() []string {
	var out []string
	for m := range RelativeSpeed {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}
