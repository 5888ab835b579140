package report

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// Merge combines the reports of the shards of one audit (auditor merge):
// the accounts, resources and errors of all; the findings of all, each
// once (shards own disjoint accounts, so a finding seen twice is a shard
// run twice); the costs summed per team, namespace and workload; the
// summary recomputed. Reports of another format version, or two reports
// of the same shard, are an error: a silently double-counted shard would
// double the spend.
func Merge(shards []*Report) (*Report, error) {
	if len(shards) == 0 {
		return nil, errors.New("merging: no shard reports")
	}
	out := &Report{Version: Version, Run: Run{Resources: map[inventory.Kind]int{}}}
	seenShard := map[string]int{}
	seenFinding := map[string]bool{}
	var costs []audit.Costs
	for i, r := range shards {
		if r.Version != Version {
			return nil, fmt.Errorf("merging: report %d has format version %d, this build merges version %d", i, r.Version, Version)
		}
		if r.Run.Shard != "" {
			if j, dup := seenShard[r.Run.Shard]; dup {
				return nil, fmt.Errorf("merging: reports %d and %d are both shard %s", j, i, r.Run.Shard)
			}
			seenShard[r.Run.Shard] = i
		}
		if i == 0 || r.Run.Start.Before(out.Run.Start) {
			out.Run.Start = r.Run.Start
		}
		if r.Run.End.After(out.Run.End) {
			out.Run.End = r.Run.End
		}
		out.Run.Sources = append(out.Run.Sources, r.Run.Sources...)
		out.Run.Accounts = append(out.Run.Accounts, r.Run.Accounts...)
		out.Run.Errors = append(out.Run.Errors, r.Run.Errors...)
		for k, n := range r.Run.Resources {
			out.Run.Resources[k] += n
		}
		for _, f := range r.Findings {
			if !seenFinding[f.ID] {
				seenFinding[f.ID] = true
				out.Findings = append(out.Findings, f)
			}
		}
		costs = append(costs, r.Costs)
		// The revisions of the first shard name the run; shards started
		// from one Job share them.
		if out.Run.PolicyRevision == "" {
			out.Run.PolicyRevision, out.Run.CatalogRevision, out.Run.CatalogAsOf = r.Run.PolicyRevision, r.Run.CatalogRevision, r.Run.CatalogAsOf
		}
	}
	out.Run.ID = "merged-" + out.Run.Start.UTC().Format("20060102T150405Z")
	out.Run.Shard = fmt.Sprintf("merged from %d", len(shards))
	out.Run.Sources = slices.Compact(slices.Sorted(slices.Values(out.Run.Sources)))
	slices.SortStableFunc(out.Run.Accounts, func(a, b inventory.AccountResult) int { return cmp.Compare(a.Account.Key(), b.Account.Key()) })
	out.Costs = mergeCosts(costs)
	out.Findings = sortedFindings(out.Findings)
	out.Summary = audit.Summarise(out.Findings, out.Costs)
	return out, nil
}

// sortedFindings orders merged findings as a single run orders them.
func sortedFindings(fs []audit.Finding) []audit.Finding {
	audit.SortFindings(fs)
	return fs
}

// mergeCosts sums cost lines by key.
func mergeCosts(cs []audit.Costs) audit.Costs {
	var out audit.Costs
	sum := func(get func(audit.Costs) []audit.CostLine) []audit.CostLine {
		m := map[string]*audit.CostLine{}
		for _, c := range cs {
			for _, l := range get(c) {
				t := m[l.Key]
				if t == nil {
					t = &audit.CostLine{Key: l.Key}
					m[l.Key] = t
				}
				t.GPUs += l.GPUs
				t.Monthly += l.Monthly
				t.IdleMonthly += l.IdleMonthly
			}
		}
		lines := make([]audit.CostLine, 0, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			l := *m[k]
			if l.Monthly > 0 {
				l.IdleFraction = round2(l.IdleMonthly / l.Monthly)
			}
			l.Monthly, l.IdleMonthly = round2(l.Monthly), round2(l.IdleMonthly)
			lines = append(lines, l)
		}
		slices.SortStableFunc(lines, func(a, b audit.CostLine) int { return cmp.Compare(b.Monthly, a.Monthly) })
		return lines
	}
	out.ByTeam = sum(func(c audit.Costs) []audit.CostLine { return c.ByTeam })
	out.ByNamespace = sum(func(c audit.Costs) []audit.CostLine { return c.ByNamespace })
	out.ByWorkload = sum(func(c audit.Costs) []audit.CostLine { return c.ByWorkload })
	for _, c := range cs {
		out.TotalMonthly += c.TotalMonthly
		out.IdleMonthly += c.IdleMonthly
		out.UnpricedGPUs += c.UnpricedGPUs
	}
	out.TotalMonthly, out.IdleMonthly = round2(out.TotalMonthly), round2(out.IdleMonthly)
	return out
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
