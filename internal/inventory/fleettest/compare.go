package fleettest

import (
	"encoding/json"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// SameResources compares resources as JSON lines, the form a snapshot
// stores, so that a failure shows the lines that differ.
func SameResources(t testing.TB, got, want []*inventory.Resource) {
	t.Helper()
	lines := func(rs []*inventory.Resource) []string {
		var out []string
		for _, r := range rs {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		return out
	}
	g, w := lines(got), lines(want)
	for i := range max(len(g), len(w)) {
		switch {
		case i >= len(g):
			t.Errorf("missing resource %d:\n want %s", i, w[i])
		case i >= len(w):
			t.Errorf("unexpected resource %d:\n got  %s", i, g[i])
		case g[i] != w[i]:
			t.Errorf("resource %d:\n got  %s\n want %s", i, g[i], w[i])
		}
	}
}
