package main

import (
	"strings"
	"testing"
)

// TestEvalRefusesBadInputs: the input files and flags of qm eval and qm
// optimize are checked by the one validation layer, and each mistake exits 1
// naming the file, the entry, the field, the value and what was expected
// (issue 17 items 2, 3 and 15).
func TestEvalRefusesBadInputs(t *testing.T) {
	quota := func(entry string) string { return writeFile(t, "quotas.yaml", "quotas:\n- "+entry+"\n") }
	usage := func(entry string) string { return writeFile(t, "usage.yaml", "usage:\n- "+entry+"\n") }
	catalog := func(head, row string) string {
		return writeFile(t, "catalog.csv", head+"cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\n"+row+"\n")
	}
	dupAnnotation := strings.Replace(gpuPod, "quartermaster.io/team: research}",
		"quartermaster.io/team: research, quartermaster.io/interruptible: \"false\", quartermaster.io/interruptible: \"true\"}", 1)
	tests := map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		// Item 2: quota, usage and --restrict.
		"quota cloud Azure": {gpuPod, []string{"--quota", quota("{cloud: Azure, region: eastus, gpuModel: H100, gpus: 8}")},
			`quotas.yaml: quota entry 1: cloud "Azure": want one of aws, azure, gcp; did you mean "azure"?`},
		"quota region EastUS": {gpuPod, []string{"--quota", quota("{cloud: azure, region: EastUS, gpuModel: H100, gpus: 8}")},
			`quotas.yaml: quota entry 1: region "EastUS": not a region of azure in the region table; did you mean "eastus"?`},
		"quota without gpus": {gpuPod, []string{"--quota", quota("{cloud: azure, region: eastus, gpuModel: H100}")},
			`quotas.yaml: quota entry 1: azure/eastus/H100: gpus is required`},
		"quota unknown model": {gpuPod, []string{"--quota", quota("{cloud: aws, region: us-east-1, gpuModel: H1000, gpus: 8}")},
			`quota entry 1: gpuModel "H1000": not a known GPU model`},
		"usage unknown region": {gpuPod, []string{"--usage", usage("{cloud: gcp, region: us-central-1, gpuModel: L4, gpus: 8}")},
			`usage.yaml: usage entry 1: region "us-central-1": not a region of gcp in the region table; did you mean "us-central1"?`},
		"restrict cloud AWS":     {gpuPod, []string{"--restrict", "cloud=AWS"}, `--restrict cloud=AWS: cloud "AWS": want one of aws, azure, gcp; did you mean "aws"?`},
		"restrict region":        {gpuPod, []string{"--restrict", "region=EastUS"}, `--restrict region=EastUS: region "EastUS": not a region of any cloud in the region table; did you mean "eastus"?`},
		"restrict jurisdiction":  {gpuPod, []string{"--restrict", "jurisdiction=EU"}, `--restrict jurisdiction=EU: jurisdiction "EU": want one of`},
		"restrict unknown model": {gpuPod, []string{"--restrict", "gpuModel=H1000"}, `--restrict gpuModel=H1000: gpuModel "H1000": not a known GPU model`},
		// Item 3: duplicate keys in a manifest.
		"duplicate annotation": {dupAnnotation, nil, `stdin: document 1: key "quartermaster.io/interruptible" is set twice`},
		"duplicate quota key": {gpuPod, []string{"--quota", quota("{cloud: aws, cloud: gcp, region: us-east-1, gpuModel: H100, gpus: 8}")},
			`quotas.yaml: parsing quota file: yaml: unmarshal errors: line 2: key "cloud" already set in map`},
		// Item 15: catalogs.
		"catalog unknown region": {gpuPod, []string{"--catalog", catalog("", "aws,mars-1,,i,L4,1,24,4,16,1,,")},
			`catalog.csv: catalog line 2: region "mars-1" of aws has no jurisdiction`},
		"catalog as-of yesterday": {gpuPod, []string{"--catalog", catalog("# as-of: yesterday\n", "aws,us-east-1,,i,L4,1,24,4,16,1,,")},
			`catalog.csv: catalog line 1: as-of "yesterday": want a date YYYY-MM-DD`},
	}
	for name, tc := range tests {
		for _, cmd := range []string{"eval", "optimize"} {
			t.Run(name+"/"+cmd, func(t *testing.T) {
				code, out, errOut := runQM(t, tc.stdin, append([]string{cmd, "-f", "-"}, tc.args...)...)
				if code != exitInput {
					t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitInput, out, errOut)
				}
				if !strings.Contains(errOut, tc.want) {
					t.Errorf("stderr lacks %q:\n%s", tc.want, errOut)
				}
			})
		}
	}
}

// TestEvalDeclaredRegion: a catalog that declares a region places there, and
// a quota on that region is read against the catalog's names.
func TestEvalDeclaredRegion(t *testing.T) {
	cat := writeFile(t, "catalog.csv", "# as-of: 2026-11-01\n# region: aws/us-future-1=us\n"+
		"cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\n"+
		"aws,us-future-1,,g6.xlarge,L4,1,24,4,16,0.5,,\naws,us-east-1,,g6.xlarge,L4,1,24,4,16,0.8,,\n")
	quota := writeFile(t, "quotas.yaml", "quotas:\n- {cloud: aws, region: us-future-1, gpuModel: L4, gpus: 0}\n")
	code, out, errOut := runQM(t, gpuPod, "eval", "-f", "-", "--catalog", cat, "--quota", quota, "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"region": "us-east-1"`) {
		t.Errorf("a quota of 0 on the declared region must move the pod to us-east-1:\n%s", out)
	}
}

// TestCatalogImportAsOf: qm catalog import refuses an --as-of that is not a
// date before writing anything, rather than writing a file ReadCSV refuses
// (issue 17 item 15).
func TestCatalogImportAsOf(t *testing.T) {
	in := writeFile(t, "in.csv", "cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities\n"+
		"aws,us-east-1,,g6.xlarge,L4,1,24,4,16,0.8,,\n")
	code, out, errOut := runQM(t, "", "catalog", "import", "--format", "csv", "--as-of", "yesterday", in)
	if code != exitInput || !strings.Contains(errOut, `--as-of: as-of "yesterday": want a date YYYY-MM-DD`) || out != "" {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestEvalRefusesDuplicateKeysInStateFiles: the cluster-state and inventory
// readers refuse a key set twice too (issue 17 item 3).
func TestEvalRefusesDuplicateKeysInStateFiles(t *testing.T) {
	state := writeFile(t, "state.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n  labels: {quartermaster.io/team: research, quartermaster.io/team: vision}\n")
	inv := writeFile(t, "inv.yaml", "datasets:\n- {location: s3://a/, cloud: aws, region: us-east-1, encrypted: false, encrypted: true}\n")
	for flag, want := range map[string]string{
		"--cluster-state": `state.yaml: reading cluster state: document 1: key "quartermaster.io/team" is set twice (line 5 of the document)`,
		"--inventory":     `inv.yaml: reading inventory: error converting YAML to JSON: yaml: unmarshal errors: line 2: key "encrypted" already set in map` + "\n",
	} {
		path := state
		if flag == "--inventory" {
			path = inv
		}
		code, _, errOut := runQM(t, gpuPod, "eval", "-f", "-", flag, path)
		if code != exitInput || !strings.Contains(errOut, want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", flag, code, errOut, want)
		}
	}
}
