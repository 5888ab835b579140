package milp

import (
	"fmt"
	"strings"
	"testing"
)

// TestWritePresolvedLP: the presolved export drops the options presolve
// drops, keeps the full problem's variable names and labels for the others,
// and says in its header what it is.
func TestWritePresolvedLP(t *testing.T) {
	// Item 0's option 1 costs more and uses more of the same resource than
	// option 0: dominated, presolve drops it. Option 2 is kept.
	p := &Problem{Capacity: []float64{4}, Items: []Item{
		{Options: []Option{{Cost: 1, Resource: 0, Use: 4}, {Cost: 2, Resource: 0, Use: 4}, {Cost: 3, Resource: -1, Use: 4}}},
		{Options: []Option{{Cost: 1, Resource: 0, Use: 4}, {Cost: 5, Resource: -1, Use: 4}}},
	}}
	names := LPNames{Option: func(i, j int) string { return fmt.Sprintf("option %d of item %d", j, i) }}
	var full, pre strings.Builder
	if err := WriteLP(&full, p, names); err != nil {
		t.Fatal(err)
	}
	if err := WritePresolvedLP(&pre, p, names); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		text      string
		want, not []string
	}{
		"full": {text: full.String(),
			want: []string{"x0_1", `\   x0_2: option 2 of item 0`, " quota_0: + 4 x0_0 + 4 x0_1 + 4 x1_0 <= 4"},
			not:  []string{"exact presolve"}},
		"presolved": {text: pre.String(),
			want: []string{"exact presolve", `\   x0_2: option 2 of item 0`, " one_0: + 1 x0_0 + 1 x0_2 = 1", " quota_0: + 4 x0_0 + 4 x1_0 <= 4"},
			not:  []string{"x0_1"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, w := range tc.want {
				if !strings.Contains(tc.text, w) {
					t.Errorf("missing %q in\n%s", w, tc.text)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(tc.text, n) {
					t.Errorf("unexpected %q in\n%s", n, tc.text)
				}
			}
		})
	}
}
