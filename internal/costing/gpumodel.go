package costing

import (
	"slices"
	"strings"
)

// Canonical GPU model names (contract 4.4). Everything the clouds call their
// GPUs is mapped onto these by CanonicalGPUModel.
const (
	H200     = "H200"
	H100     = "H100"
	A100_80G = "A100-80GB"
	A100     = "A100"
	L40S     = "L40S"
	L4       = "L4"
	A10G     = "A10G"
	A10      = "A10"
	T4       = "T4"
	V100     = "V100"
	MI300X   = "MI300X"
)

// canonicalModels lists the canonical names, newest first.
var canonicalModels = []string{H200, H100, A100_80G, A100, L40S, L4, A10G, A10, T4, V100, MI300X}

// gpuAliases maps a normalised spelling (upper case, vendor prefix and
// separators removed) to the canonical name.
var gpuAliases = map[string]string{
	"H200": H200, "H200141GB": H200, "H200SXM": H200,
	"H100": H100, "H10080GB": H100, "H100SXM": H100, "H100SXM580GB": H100, "H100MEGA": H100, "H100MEGA80GB": H100, "H10080GBMEGA": H100,
	"H100NVL": H100, "H100PCIE": H100,
	"A10080GB": A100_80G, "A100SXM480GB": A100_80G, "A100PCIE80GB": A100_80G,
	"A100": A100, "TESLAA100": A100, "A10040GB": A100, "A100SXM440GB": A100, "A100PCIE40GB": A100,
	"L40S": L40S, "L4": L4, "A10G": A10G, "A10": A10,
	"T4": T4, "TESLAT4": T4,
	"V100": V100, "V10016GB": V100, "V10032GB": V100, "V100SXM216GB": V100, "V100SXM232GB": V100, "TESLAV100": V100,
	"MI300X": MI300X, "INSTINCTMI300X": MI300X,
}

// gpuKeyReplacer is built once: building a Replacer costs more than using
// it, and this runs on every admission.
var gpuKeyReplacer = strings.NewReplacer("-", "", "_", "", " ", "", ".", "")

// CanonicalGPUModel maps a cloud's or a user's GPU name onto the canonical
// model name. Unknown names are returned upper-cased and trimmed so that
// catalogs with models this table does not know still work, just unaliased.
func CanonicalGPUModel(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	for _, p := range []string{"NVIDIA ", "NVIDIA-", "AMD ", "AMD-"} {
		n = strings.TrimPrefix(n, p)
	}
	key := gpuKeyReplacer.Replace(n)
	if c, ok := gpuAliases[key]; ok {
		return c
	}
	return n
}

// KnownGPUModel maps a cloud's GPU name onto its canonical model and reports
// whether the alias table knows it. Price refreshers use it to report the
// names they cannot map rather than guess: CanonicalGPUModel alone returns
// unknown names upper-cased, which would slip a new GPU into a catalog under
// a name no workload asks for.
func KnownGPUModel(name string) (string, bool) {
	c := CanonicalGPUModel(name)
	return c, slices.Contains(canonicalModels, c)
}

// gpuMemoryGiB is each canonical model's memory, used when an imported
// catalog does not say.
var gpuMemoryGiB = map[string]float64{
	H200: 141, H100: 80, A100_80G: 80, A100: 40, L40S: 48, L4: 24, A10G: 24, A10: 24, T4: 16, V100: 16, MI300X: 192,
}

// GPUMemoryGiB returns the memory of a canonical GPU model, or 0 if unknown.
func GPUMemoryGiB(model string) float64 { return gpuMemoryGiB[model] }
