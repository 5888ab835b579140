package placement

import (
	"bytes"
	"fmt"
	"io"
	"math"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// QuotaKey identifies a quota: GPUs of one model in one cloud region.
type QuotaKey struct {
	Cloud, Region, GPUModel string
}

// GPUCounts maps a cloud region and GPU model to a number of GPUs. It is the
// shape of both the quota file and the usage file (contract 4.4b).
type GPUCounts map[QuotaKey]int64

// quotaFile is the YAML shape of contract 4.4b. Usage files may say "usage:"
// instead of "quotas:".
type quotaFile struct {
	Quotas []quotaEntry `json:"quotas"`
	Usage  []quotaEntry `json:"usage"`
}

type quotaEntry struct {
	Cloud    string  `json:"cloud"`
	Region   string  `json:"region"`
	GPUModel string  `json:"gpuModel"`
	GPUs     float64 `json:"gpus"`
}

// MaxQuotaBytes bounds a quota or usage file.
const MaxQuotaBytes = 16 << 20

// ReadGPUCounts reads a quota or usage file. Entries for the same key are an
// error in a quota file (which one wins?) and are added up in a usage file.
func ReadGPUCounts(r io.Reader, kind string) (GPUCounts, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxQuotaBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s file: %w", kind, err)
	}
	if len(data) > MaxQuotaBytes {
		return nil, fmt.Errorf("%s file is larger than %d MiB", kind, MaxQuotaBytes>>20)
	}
	var f quotaFile
	if err := yaml.UnmarshalStrict(bytes.TrimSpace(data), &f); err != nil {
		return nil, fmt.Errorf("parsing %s file: %w (want quotas: [{cloud, region, gpuModel, gpus}])", kind, err)
	}
	out := GPUCounts{}
	entries := append(f.Quotas, f.Usage...)
	for i, e := range entries {
		where := fmt.Sprintf("%s entry %d", kind, i+1)
		switch {
		case e.Cloud == "" || e.Region == "" || e.GPUModel == "":
			return nil, fmt.Errorf("%s: cloud, region and gpuModel are required", where)
		case e.GPUs < 0 || e.GPUs != math.Trunc(e.GPUs) || e.GPUs > 1e9:
			return nil, fmt.Errorf("%s (%s/%s/%s): gpus %v: want a non-negative whole number", where, e.Cloud, e.Region, e.GPUModel, e.GPUs)
		}
		k := QuotaKey{e.Cloud, e.Region, costing.CanonicalGPUModel(e.GPUModel)}
		if _, dup := out[k]; dup && kind == "quota" {
			return nil, fmt.Errorf("%s: %s/%s/%s is listed twice", where, k.Cloud, k.Region, k.GPUModel)
		}
		out[k] += int64(e.GPUs)
	}
	return out, nil
}
