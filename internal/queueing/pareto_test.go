package queueing

import (
	"math"
	"slices"
	"testing"
)

func TestFront(t *testing.T) {
	type pt struct{ cost, lat float64 }
	tests := map[string]struct {
		in, want []pt
	}{
		"empty is an empty front, not nil": {in: nil, want: []pt{}},
		"dearer and slower is dropped":     {in: []pt{{1, 10}, {2, 12}, {3, 5}}, want: []pt{{1, 10}, {3, 5}}},
		"equal latency is not a gain":      {in: []pt{{1, 10}, {2, 10}}, want: []pt{{1, 10}}},
		"infinite latency is never kept":   {in: []pt{{1, math.Inf(1)}, {2, 3}}, want: []pt{{2, 3}}},
		"each faster point is kept":        {in: []pt{{1, 9}, {2, 8}, {3, 7}}, want: []pt{{1, 9}, {2, 8}, {3, 7}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := Front(tc.in, func(p *pt) float64 { return p.lat })
			if got == nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Front(%v) = %#v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
