package quota

import (
	"os"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

func TestReadGPUCounts(t *testing.T) {
	got, err := ReadGPUCounts(strings.NewReader(`quotas:
  - {cloud: aws, region: us-east-1, gpuModel: NVIDIA H100, gpus: 64}
  - {cloud: gcp, region: us-central1, gpuModel: l4, gpus: 0}
`), "quota", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[Key{"aws", "us-east-1", "H100"}] != 64 || len(got) != 2 {
		t.Errorf("quotas = %v", got)
	}
	if q, ok := got[Key{"gcp", "us-central1", "L4"}]; !ok || q != 0 {
		t.Errorf("gpus: 0 must be a limit of zero, not dropped: %v", got)
	}
	usage, err := ReadGPUCounts(strings.NewReader("usage:\n- {cloud: aws, region: us-east-1, gpuModel: T4, gpus: 2}\n- {cloud: aws, region: us-east-1, gpuModel: T4, gpus: 3}\n"), "usage", nil)
	if err != nil || usage[Key{"aws", "us-east-1", "T4"}] != 5 {
		t.Errorf("usage entries must add up: %v %v", usage, err)
	}
	for _, in := range []string{"", "quotas: []", "# nothing\n"} {
		if c, err := ReadGPUCounts(strings.NewReader(in), "quota", nil); err != nil || len(c) != 0 {
			t.Errorf("%q: %v %v, want no limits", in, c, err)
		}
	}
}

// TestReadGPUCountsErrors is issue 17 item 2 (misspelt entries are errors
// naming the entry, field, value and what was expected; case is refused, not
// normalised) and item 3 (duplicate keys).
func TestReadGPUCountsErrors(t *testing.T) {
	const ok = "{cloud: aws, region: us-east-1, gpuModel: H100, gpus: 8}"
	tests := map[string]struct {
		in, kind, want string
	}{
		"cloud in upper case": {"quotas:\n- " + ok + "\n- {cloud: Azure, region: eastus, gpuModel: H100, gpus: 8}\n", "quota",
			`quota entry 2: cloud "Azure": want one of aws, azure, gcp; did you mean "azure"?`},
		"unknown cloud": {"quotas:\n- {cloud: oracle, region: us-ashburn-1, gpuModel: H100, gpus: 8}\n", "quota",
			`quota entry 1: cloud "oracle": want one of aws, azure, gcp`},
		"region in camel case": {"quotas:\n- {cloud: azure, region: EastUS, gpuModel: H100, gpus: 8}\n", "quota",
			`quota entry 1: region "EastUS": not a region of azure in the region table; did you mean "eastus"?`},
		"region with a space": {"quotas:\n- {cloud: azure, region: East US, gpuModel: H100, gpus: 8}\n", "quota",
			`region "East US": not a region of azure in the region table; did you mean "eastus"?`},
		"region of another cloud": {"quotas:\n- {cloud: gcp, region: us-east-1, gpuModel: H100, gpus: 8}\n", "quota",
			`quota entry 1: region "us-east-1": not a region of gcp in the region table; did you mean "us-east1"?`},
		"region nowhere near": {"quotas:\n- {cloud: gcp, region: mars-1, gpuModel: H100, gpus: 8}\n", "quota",
			`quota entry 1: region "mars-1": not a region of gcp in the region table (known: us-central1,`},
		"unknown model": {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: H1000, gpus: 8}\n", "quota",
			`quota entry 1: gpuModel "H1000": not a known GPU model (want one of H200, H100,`},
		"usage unknown region": {"usage:\n- {cloud: aws, region: mars-1, gpuModel: H100, gpus: 8}\n", "usage",
			`usage entry 1: region "mars-1": not a region of aws in the region table`},
		"gpus missing": {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: H100}\n", "quota",
			`quota entry 1: aws/us-east-1/H100: gpus is required (gpus: 0 forbids the model in the region)`},
		"gpus null": {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: H100, gpus: null}\n", "quota", "gpus is required"},
		"missing field": {"quotas:\n- {cloud: aws, gpuModel: T4, gpus: 2}\n", "quota",
			`quota entry 1: cloud, region and gpuModel are required (have cloud "aws", region "", gpuModel "T4")`},
		"negative": {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: T4, gpus: -2}\n", "quota", "quota entry 1: gpus -2: want a whole number from 0 to 1000000000"},
		"huge":     {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: T4, gpus: 1e30}\n", "quota", "quota entry 1: gpus 1000000000000000000000000000000: want a whole number"},
		"gpus a string": {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: T4, gpus: \"8\"}\n", "quota",
			"parsing quota file: quotas.gpus: got string, want a number"},
		"entry not a mapping": {"quotas: [1]\n", "quota", "parsing quota file: quotas: got number, want an entry"},
		"file a list":         {"[1, 2]\n", "quota", "parsing quota file: the file: got array, want a mapping"},
		"fraction":            {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: T4, gpus: 1.5}\n", "quota", "gpus 1.5"},
		"not a count":         {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: T4, gpus: many}\n", "quota", "parsing quota file"},
		"duplicate quota": {"quotas:\n- " + ok + "\n- {cloud: aws, region: us-east-1, gpuModel: nvidia-h100, gpus: 3}\n", "quota",
			"quota entry 2: aws/us-east-1/H100 is listed twice"},
		"unknown key":       {"quotas:\n- {cloud: aws, region: us-east-1, model: T4, gpus: 1}\n", "quota", `parsing quota file: unknown field "quotas[0].model"`},
		"key in upper case": {"quotas:\n- {Cloud: aws, region: us-east-1, gpuModel: T4, gpus: 1}\n", "quota", `unknown field "quotas[0].Cloud"`},
		"duplicate key": {"quotas:\n- {cloud: aws, region: us-east-1, gpuModel: H100, gpus: 8, gpus: 80}\n", "quota",
			`parsing quota file: yaml: unmarshal errors: line 2: key "gpus" already set in map`},
		"usage in a quota file": {"usage:\n- " + ok + "\n", "quota", "it lists usage (the usage file's key)"},
		"not yaml":              {"quotas: [", "quota", "parsing quota file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadGPUCounts(strings.NewReader(tc.in), tc.kind, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// TestReadGPUCountsCatalogNames: a catalog's own regions (declared) and
// models are known to quotas read beside it, and only there.
func TestReadGPUCountsCatalogNames(t *testing.T) {
	cat, err := costing.ReadCSV(strings.NewReader("# region: aws/mars-1=xx\n"+costing.CSVHeader+"\n"+
		"aws,mars-1,,p9.48xlarge,B300,8,288,192,2048,99,,\n"), nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	const in = "quotas:\n- {cloud: aws, region: mars-1, gpuModel: B300, gpus: 16}\n"
	got, err := ReadGPUCounts(strings.NewReader(in), "quota", cat.Names())
	if err != nil || got[Key{"aws", "mars-1", "B300"}] != 16 {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ReadGPUCounts(strings.NewReader(in), "quota", nil); err == nil {
		t.Error("without that catalog, mars-1 must be unknown")
	}
}

// TestExampleQuotasAreValid: the files make demo reads pass the checks.
func TestExampleQuotasAreValid(t *testing.T) {
	for file, kind := range map[string]string{"../../examples/quotas.yaml": "quota", "../../examples/usage.yaml": "usage",
		"../../examples/optimizer/quotas.yaml": "quota"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ReadGPUCounts(f, kind, nil)
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

func FuzzReadGPUCounts(f *testing.F) {
	f.Add([]byte("quotas:\n- {cloud: aws, region: us-east-1, gpuModel: H100, gpus: 64}\n"))
	f.Add([]byte("usage: []\n"))
	f.Add([]byte("quotas:\n- {cloud: Azure, region: EastUS, gpuModel: h100, gpus: 0}\n"))
	names := costing.NewNames(nil, nil)
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ReadGPUCounts(strings.NewReader(string(in)), "quota", nil)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on more than one line: %q", err)
			}
			return
		}
		for k, v := range c {
			if v < 0 || names.Region(k.Cloud, k.Region) != nil {
				t.Fatalf("accepted %v = %d", k, v)
			}
			if m, err := names.GPUModel(k.GPUModel); err != nil || m != k.GPUModel {
				t.Fatalf("accepted model %q (%v)", k.GPUModel, err)
			}
		}
	})
}
