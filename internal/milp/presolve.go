package milp

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"
)

// presolve drops options that cannot be in any optimum:
//   - options that overflow their resource on their own;
//   - options dominated within their resource (another costs no more and
//     uses no more);
//   - options of limited resources that cost no less than the item's
//     cheapest option on an unlimited (or never-binding) resource.
//
// A resource never binds when every item taking its largest use there still
// fits; its options then count as unlimited. Dropping options can make more
// resources non-binding, so it iterates.
func (s *solver) presolve() {
	p := s.p
	s.opts = make([][]int, len(p.Items))
	s.binding = make([]bool, len(p.Capacity))
	for r := range s.binding {
		s.binding[r] = true
	}
	for i, it := range p.Items {
		for j, o := range it.Options {
			if o.Resource >= 0 && o.Use > p.Capacity[o.Resource]+capSlack {
				continue
			}
			s.opts[i] = append(s.opts[i], j)
		}
	}
	for changed := true; changed; {
		changed = false
		for i := range s.opts {
			if n := s.pruneItem(i); n != len(s.opts[i]) {
				s.opts[i] = s.opts[i][:n]
				changed = true
			}
		}
		maxUse := make([]float64, len(p.Capacity))
		for i, os := range s.opts {
			perRes := map[int]float64{}
			for _, j := range os {
				o := p.Items[i].Options[j]
				if o.Resource >= 0 && s.binding[o.Resource] {
					perRes[o.Resource] = math.Max(perRes[o.Resource], o.Use)
				}
			}
			for r, u := range perRes {
				maxUse[r] += u
			}
		}
		for r := range s.binding {
			if s.binding[r] && maxUse[r] <= p.Capacity[r]+capSlack {
				s.binding[r] = false
				changed = true
			}
		}
	}
}

// free reports whether option o of an item draws on no binding resource.
func (s *solver) free(o Option) bool { return o.Resource < 0 || !s.binding[o.Resource] }

// pruneItem compacts s.opts[i] in place to the options worth keeping and
// returns how many remain, in ascending (cost, index) order.
func (s *solver) pruneItem(i int) int {
	opts := s.p.Items[i].Options
	os := s.opts[i]
	slices.SortStableFunc(os, func(a, b int) int { return cmp.Or(cmp.Compare(opts[a].Cost, opts[b].Cost), cmp.Compare(a, b)) })
	n := 0
	bestFree := false
	// Walking in cost order, an option survives only if it uses strictly
	// less of its resource than every cheaper kept option of that resource.
	minUse := map[int]float64{}
	for _, j := range os {
		if bestFree {
			break
		}
		o := opts[j]
		if s.free(o) {
			os[n] = j
			n++
			bestFree = true
			continue
		}
		if u, seen := minUse[o.Resource]; seen && u <= o.Use {
			continue
		}
		minUse[o.Resource] = o.Use
		os[n] = j
		n++
	}
	return n
}

// presolved returns the problem after the exact presolve of Solve: the same
// items, resources and capacities, with only the options that can be in some
// optimum (see solver.presolve). keep[i][k] is the index in p.Items[i] of
// the reduced item's option k. Exporting this instead of p gives another
// solver the instance ours actually searches.
func presolved(p *Problem) (q *Problem, keep [][]int) {
	s := newSolver(context.Background(), p, Limits{}, time.Time{})
	s.presolve()
	q = &Problem{Items: make([]Item, len(p.Items)), Capacity: slices.Clone(p.Capacity)}
	keep = make([][]int, len(p.Items))
	for i, os := range s.opts {
		keep[i] = slices.Sorted(slices.Values(os))
		for _, j := range keep[i] {
			q.Items[i].Options = append(q.Items[i].Options, p.Items[i].Options[j])
		}
	}
	return q, keep
}
