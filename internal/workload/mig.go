package workload

import (
	"fmt"
	"strconv"
	"strings"
)

// MIGProfile is a Multi-Instance GPU slice such as 1g.10gb.
type MIGProfile struct {
	// Name is the profile, e.g. "3g.40gb".
	Name string `json:"name"`
	// ComputeSlices is the g in Ng: sevenths of the GPU's compute.
	ComputeSlices int `json:"computeSlices"`
	// MemoryGB is the slice's memory.
	MemoryGB int `json:"memoryGB"`
	// PerGPU is how many instances of this profile fit on one GPU.
	PerGPU int `json:"perGPU"`
	// Models are the canonical GPU models that offer this profile.
	Models []string `json:"models"`
}

// Fraction is the share of one GPU an instance of the profile takes.
func (m *MIGProfile) Fraction() float64 { return 1 / float64(m.PerGPU) }

// migModels lists, per profile, the models that offer it (NVIDIA's MIG user
// guide, "Supported MIG profiles"), and how many fit on one GPU.
var migProfiles = map[string]struct {
	models []string
	perGPU int
}{
	"1g.5gb":   {[]string{"A100"}, 7},
	"2g.10gb":  {[]string{"A100"}, 3},
	"3g.20gb":  {[]string{"A100"}, 2},
	"4g.20gb":  {[]string{"A100"}, 1},
	"7g.40gb":  {[]string{"A100"}, 1},
	"1g.10gb":  {[]string{"A100-80GB", "H100"}, 7},
	"1g.20gb":  {[]string{"A100-80GB", "H100"}, 4},
	"2g.20gb":  {[]string{"A100-80GB", "H100"}, 3},
	"3g.40gb":  {[]string{"A100-80GB", "H100"}, 2},
	"4g.40gb":  {[]string{"A100-80GB", "H100"}, 1},
	"7g.80gb":  {[]string{"A100-80GB", "H100"}, 1},
	"1g.18gb":  {[]string{"H200"}, 7},
	"1g.35gb":  {[]string{"H200"}, 4},
	"2g.35gb":  {[]string{"H200"}, 3},
	"3g.71gb":  {[]string{"H200"}, 2},
	"4g.71gb":  {[]string{"H200"}, 1},
	"7g.141gb": {[]string{"H200"}, 1},
	"1g.6gb":   {[]string{"A30"}, 4},
	"2g.12gb":  {[]string{"A30"}, 2},
	"4g.24gb":  {[]string{"A30"}, 1},
}

// ParseMIGProfile parses the profile part of a resource name such as
// nvidia.com/mig-1g.10gb.
func ParseMIGProfile(name string) (*MIGProfile, error) {
	p, ok := migProfiles[name]
	if !ok {
		return nil, fmt.Errorf("MIG profile %q: not a profile of A100, A100-80GB, H100, H200 or A30 (e.g. 1g.10gb, 3g.40gb)", name)
	}
	g, mem, _ := strings.Cut(name, ".")
	slices, _ := strconv.Atoi(strings.TrimSuffix(g, "g"))
	gb, _ := strconv.Atoi(strings.TrimSuffix(mem, "gb"))
	return &MIGProfile{Name: name, ComputeSlices: slices, MemoryGB: gb, PerGPU: p.perGPU, Models: p.models}, nil
}
