package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// FuzzEval drives the whole qm eval input path as a user would, through
// run(): manifests (documents and their annotations), a quota file, a usage
// file, a catalog file, a cluster-state file, an inventory file and a
// --restrict flag, all fuzzed together, with the embedded policy library or
// without policies. It asserts that nothing
// panics, that the exit code is one of contract 4.5's, that an input error
// is one clear line ("qm: " and a message with no Go internals in it), and
// that every other outcome prints one JSON result per object.
//
// Empty fuzzed files are left out (the embedded catalog, no quotas, no
// usage), so the fuzzer also explores each input on its own.
func FuzzEval(f *testing.F) {
	examples, _ := filepath.Glob("../../examples/workloads/*.yaml")
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	quota, usage := read("../../examples/quotas.yaml"), read("../../examples/usage.yaml")
	state, inv := read("../../examples/cluster-state.yaml"), read("../../examples/inventory.yaml")
	optCatalog := read("../../examples/optimizer/catalog.csv")
	var none []byte
	for i, p := range examples {
		f.Add(read(p), quota, usage, none, state, inv, "", i%2 == 0)
	}
	f.Add([]byte(gpuPod), []byte("quotas:\n- {cloud: Azure, region: EastUS, gpuModel: h100, gpus: 0}\n"), none, optCatalog, none, none, "", false)
	f.Add([]byte(gpuPod), none, []byte("usage:\n- {cloud: gcp, region: us-central1, gpuModel: L4}\n"), none, none, none, "cloud=AWS", false)
	f.Add([]byte(strings.Replace(gpuPod, "{quartermaster.io/team: research}",
		"{quartermaster.io/team: research, quartermaster.io/interruptible: \"false\", quartermaster.io/interruptible: \"true\"}", 1)),
		none, none, none, none, none, "", false)
	f.Add([]byte(strings.Replace(gpuPod, "{quartermaster.io/team: research}",
		"{quartermaster.io/team: research, quartermaster.io/gpu-models: 'h100,A100-80GB', quartermaster.io/residency: 'eu,xx', quartermaster.io/expected-duration: 1e9h}", 1)),
		none, none, []byte("# as-of: 2026-11-01\n# region: aws/mars-1=xx\n"+costing.CSVHeader+"\naws,mars-1,,g6.xlarge,L4,1,24,4,16,0.8,0.3,\n"),
		none, none, "jurisdiction=xx", false)
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","resources":{"limits":{"nvidia.com/gpu":"1e30"}}}]}}]}`),
		[]byte("quotas: []"), none, []byte("# as-of: yesterday\n"+costing.CSVHeader+"\n"), none, none, "region=eastus", true)
	f.Add([]byte(gpuPod), none, none, none,
		[]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: ns, labels: {quartermaster.io/team: a, quartermaster.io/team: b}}\n"),
		[]byte("datasets:\n- {location: s3://a/, cloud: AWS, region: us-east-1, encrypted: true}\n"), "", true)

	f.Fuzz(func(t *testing.T, manifests, quota, usage, catalog, state, inventory []byte, restrict string, policies bool) {
		dir := t.TempDir()
		write := func(name string, b []byte) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
		args := []string{"eval", "-f", write("manifests.yaml", manifests), "-o", "json"}
		for _, in := range []struct {
			flag, name string
			data       []byte
		}{{"--quota", "quotas.yaml", quota}, {"--usage", "usage.yaml", usage}, {"--catalog", "catalog.csv", catalog},
			{"--cluster-state", "state.yaml", state}, {"--inventory", "inventory.yaml", inventory}} {
			if len(in.data) > 0 {
				args = append(args, in.flag, write(in.name, in.data))
			}
		}
		if restrict != "" {
			args = append(args, "--restrict", restrict)
		}
		if !policies {
			args = append(args, "--no-policies")
		}
		code, out, errOut := runQM(t, "", args...)
		switch code {
		case exitInput:
			checkClearError(t, errOut)
		case exitOK, exitDenied, exitNoPlacement:
			var results []map[string]any
			if err := json.Unmarshal([]byte(out), &results); err != nil {
				t.Fatalf("exit %d with output that is not JSON: %v\n%s", code, err, out)
			}
			if errOut != "" {
				t.Fatalf("exit %d with a message on stderr: %s", code, errOut)
			}
		default:
			t.Fatalf("exit %d: not an exit code of contract 4.5\nstderr: %s", code, errOut)
		}
	})
}

// checkClearError asserts that an input error is one line a user can read:
// qm's prefix, a message, and none of the marks of an error that escaped
// from Go's internals or from a formatting mistake.
func checkClearError(t *testing.T, errOut string) {
	t.Helper()
	msg, ok := strings.CutPrefix(errOut, "qm: ")
	if !ok || !strings.HasSuffix(msg, "\n") || len(strings.TrimSpace(msg)) == 0 {
		t.Fatalf("input error is not one \"qm: message\" line: %q", errOut)
	}
	msg = strings.TrimSuffix(msg, "\n")
	if strings.Contains(msg, "\n") {
		t.Fatalf("input error spans several lines: %q", errOut)
	}
	for _, bad := range []string{"panic", "runtime error", "%!", "<nil>", "goroutine ", "invalid memory address"} {
		if strings.Contains(msg, bad) {
			t.Fatalf("input error contains %q: %q", bad, errOut)
		}
	}
	if !utf8.ValidString(msg) {
		t.Logf("note: input error is not valid UTF-8 (it quotes the input): %q", msg)
	}
}
