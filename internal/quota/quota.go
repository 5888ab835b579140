package quota

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// Key identifies a quota: GPUs of one model in one cloud region.
type Key struct {
	Cloud, Region, GPUModel string
}

// GPUCounts maps a cloud region and GPU model to a number of GPUs. It is the
// shape of both the quota file and the usage file (contract 4.4b).
type GPUCounts map[Key]int64

// quotaFile is the YAML shape of contract 4.4b. Usage files may say "usage:"
// instead of "quotas:".
type quotaFile struct {
	Quotas []quotaEntry `json:"quotas"`
	Usage  []quotaEntry `json:"usage"`
}

type quotaEntry struct {
	Cloud    string `json:"cloud"`
	Region   string `json:"region"`
	GPUModel string `json:"gpuModel"`
	// GPUs is a pointer so that a missing count is an error rather than 0:
	// a quota of 0 forbids the model in the region, which nobody should get
	// by forgetting a line.
	GPUs *float64 `json:"gpus"`
}

// maxGPUs bounds one entry's count: far above any real quota, far below
// where sums of counts could overflow.
const maxGPUs = 1e9

// MaxQuotaBytes bounds a quota or usage file.
const MaxQuotaBytes = 16 << 20

// ReadGPUCounts reads a quota or usage file (kind "quota" or "usage") and
// checks every entry against names: the region table and GPU models of the
// catalog the counts will be used with (nil: the embedded region table and
// the canonical models). Every reader of these files goes through here: the
// qm commands, the webhook's reloaded quota file and its standalone usage.
//
// Each mistake is an error naming the entry, its field, the value and what
// was expected, because a misspelt entry (cloud: Azure, region: EastUS) is
// a key no offer matches: the quota would silently never apply. Keys are
// decoded strictly and case-sensitively: an unknown or duplicated key, or
// Cloud: for cloud:, is an error too. Entries for the same key are an error
// in a quota file (which one wins?) and are added up in a usage file.
func ReadGPUCounts(r io.Reader, kind string, names *costing.Names) (GPUCounts, error) {
	if names == nil {
		names = costing.NewNames(nil, nil)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxQuotaBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s file: %w", kind, err)
	}
	if len(data) > MaxQuotaBytes {
		return nil, fmt.Errorf("%s file is larger than %d MiB", kind, MaxQuotaBytes>>20)
	}
	f, err := decodeQuotaFile(bytes.TrimSpace(data))
	if err != nil {
		return nil, fmt.Errorf("parsing %s file: %w (want quotas: [{cloud, region, gpuModel, gpus}])", kind, err)
	}
	if kind == "quota" && len(f.Usage) > 0 {
		return nil, errors.New("parsing quota file: it lists usage (the usage file's key); list quotas under the key quotas")
	}
	out := GPUCounts{}
	n := 0
	for _, list := range []struct {
		key     string
		entries []quotaEntry
	}{{"quotas", f.Quotas}, {"usage", f.Usage}} {
		for i, e := range list.entries {
			n++
			where := fmt.Sprintf("%s entry %d", kind, n)
			if len(f.Quotas) > 0 && len(f.Usage) > 0 {
				where += fmt.Sprintf(" (%s[%d])", list.key, i)
			}
			k, err := e.key(names)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if _, dup := out[k]; dup && kind == "quota" {
				return nil, fmt.Errorf("%s: %s/%s/%s is listed twice", where, k.Cloud, k.Region, k.GPUModel)
			}
			out[k] += int64(*e.GPUs)
		}
	}
	return out, nil
}

// key checks an entry and returns its canonical key.
func (e *quotaEntry) key(names *costing.Names) (Key, error) {
	switch {
	case e.Cloud == "" || e.Region == "" || e.GPUModel == "":
		return Key{}, fmt.Errorf("cloud, region and gpuModel are required (have cloud %q, region %q, gpuModel %q)", e.Cloud, e.Region, e.GPUModel)
	case e.GPUs == nil:
		return Key{}, fmt.Errorf("%s/%s/%s: gpus is required (gpus: 0 forbids the model in the region)", e.Cloud, e.Region, e.GPUModel)
	}
	if g := *e.GPUs; g < 0 || g != math.Trunc(g) || g > maxGPUs {
		return Key{}, fmt.Errorf("gpus %s: want a whole number from 0 to %d", strconv.FormatFloat(g, 'f', -1, 64), int64(maxGPUs))
	}
	if err := names.Region(e.Cloud, e.Region); err != nil {
		return Key{}, err
	}
	model, err := names.GPUModel(e.GPUModel)
	if err != nil {
		return Key{}, err
	}
	return Key{e.Cloud, e.Region, model}, nil
}

// decodeQuotaFile decodes strictly, as kubectl decodes manifests: duplicate
// keys (YAML), unknown fields and fields in another case are errors. The
// plain JSON decoder would match Cloud: to cloud: and keep the last of two.
func decodeQuotaFile(data []byte) (quotaFile, error) {
	var f quotaFile
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return f, oneLine(err)
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return f, nil
	}
	strict, err := sjson.UnmarshalStrict(js, &f)
	if err != nil {
		return f, typeError(err)
	}
	if len(strict) > 0 {
		return f, oneLine(strict[0])
	}
	return f, nil
}

// jsonTypeError matches the JSON decoder's report of a value of the wrong
// type, which names Go types rather than the file's fields.
var jsonTypeError = regexp.MustCompile(`^json: cannot unmarshal (.+?) into Go (?:struct field \w+\.(\S+)|value) of type (\S+)$`)

// typeError rewrites a JSON type error in the file's terms: the field (as
// a path such as quotas.gpus) and the kinds of value found and wanted.
func typeError(err error) error {
	m := jsonTypeError.FindStringSubmatch(err.Error())
	if m == nil {
		return oneLine(err)
	}
	want := map[string]string{"float64": "a number", "string": "a string", "[]quota.quotaEntry": "a list of entries",
		"quota.quotaEntry": "an entry {cloud, region, gpuModel, gpus}", "quota.quotaFile": "a mapping"}[m[3]]
	if want == "" {
		return oneLine(err)
	}
	field := m[2]
	if field == "" {
		field = "the file"
	}
	return fmt.Errorf("%s: got %s, want %s", field, m[1], want)
}

// oneLine folds a decoder's multi-line error into one line.
func oneLine(err error) error {
	return fmt.Errorf("%s", strings.Join(strings.Fields(err.Error()), " "))
}
