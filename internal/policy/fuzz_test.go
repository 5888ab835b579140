package policy

import (
	"context"
	"testing"
)

// FuzzLoadData: policy data files (the part of a bundle operators edit
// without a rebuild) load or fail with an error, never a panic, and a
// loaded bundle evaluates.
func FuzzLoadData(f *testing.F) {
	f.Add("enforcement.yaml", []byte("default: warn\npackages: {t: dryrun}\nrules: {t-deny: enforce}\n"))
	f.Add("exemptions.json", []byte(`{"namespaces": ["kube-*", "ml"]}`))
	f.Add("teams.yaml", []byte("x: {maxGPUs: 1}"))
	f.Add("teams.json", []byte(`[1, 2]`))
	f.Fuzz(func(t *testing.T, name string, raw []byte) {
		files := map[string][]byte{"t.rego": []byte(denyAll), name + ".yaml": raw}
		b, err := LoadFiles(context.Background(), files, Options{})
		if err != nil {
			return
		}
		if _, err := b.Evaluate(context.Background(), teamInput("x", "kube-system")); err != nil {
			t.Fatalf("a loaded bundle failed to evaluate: %v", err)
		}
	})
}
