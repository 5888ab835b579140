package audit

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// timeUnit rounds ages in messages.
const timeUnit = time.Minute

// Costs is the GPU spend allocated from running pods: each pod's GPUs at
// its node's price per GPU, as a monthly run rate, by team, namespace and
// workload, with the share of it on idle GPUs separate (contract 4.6).
type Costs struct {
	ByTeam      []CostLine `json:"byTeam"`
	ByNamespace []CostLine `json:"byNamespace"`
	ByWorkload  []CostLine `json:"byWorkload"`
	// TotalMonthly and IdleMonthly are the sums; UnpricedGPUs counts the
	// GPUs of pods on nodes the catalog has no price for.
	TotalMonthly float64 `json:"totalMonthly"`
	IdleMonthly  float64 `json:"idleMonthly"`
	UnpricedGPUs int64   `json:"unpricedGPUs"`
}

// CostLine is one team's, namespace's or workload's GPU spend.
type CostLine struct {
	Key          string  `json:"key"`
	GPUs         int64   `json:"gpus"`
	Monthly      float64 `json:"monthly"`
	IdleMonthly  float64 `json:"idleMonthly"`
	IdleFraction float64 `json:"idleFraction"`
}

// allocate prices every running GPU pod at its node's price per GPU.
func (s *state) allocate() Costs {
	idle := map[string]int64{} // account/namespace/pod → idle GPUs
	for _, r := range s.usage {
		u := r.GPUUsage
		if u.Pod != "" && u.MeanUtilisation < s.thresholds.IdleMean && u.MaxUtilisation < s.thresholds.IdlePeak {
			idle[r.Account+"/"+u.PodNamespace+"/"+u.Pod]++
		}
	}
	byTeam, byNS, byWL := map[string]*CostLine{}, map[string]*CostLine{}, map[string]*CostLine{}
	var c Costs
	for _, p := range s.pods {
		n := s.nodes[p.account+"/"+p.node]
		if n == nil {
			c.UnpricedGPUs += p.gpus
			continue
		}
		hourly, gpus, ok := s.prices.hourly(n.cloud, n.region, n.instanceType, n.capacityType)
		if !ok || gpus == 0 {
			c.UnpricedGPUs += p.gpus
			continue
		}
		perGPU := hourly / float64(gpus) * costing.HoursPerMonth
		monthly := perGPU * float64(p.gpus)
		idleMonthly := perGPU * float64(min(idle[p.account+"/"+p.namespace+"/"+p.name], p.gpus))
		c.TotalMonthly += monthly
		c.IdleMonthly += idleMonthly
		owner := p.owner
		if owner == "" {
			owner = "Pod/" + p.name
		}
		for _, g := range []struct {
			m   map[string]*CostLine
			key string
		}{{byTeam, p.team}, {byNS, p.account + "/" + p.namespace}, {byWL, p.account + "/" + p.namespace + "/" + owner}} {
			m, key := g.m, g.key
			l := m[key]
			if l == nil {
				l = &CostLine{Key: key}
				m[key] = l
			}
			l.GPUs += p.gpus
			l.Monthly += monthly
			l.IdleMonthly += idleMonthly
		}
	}
	c.TotalMonthly, c.IdleMonthly = round2(c.TotalMonthly), round2(c.IdleMonthly)
	c.ByTeam, c.ByNamespace, c.ByWorkload = lines(byTeam), lines(byNS), lines(byWL)
	return c
}

// lines orders cost lines by spend, largest first.
func lines(m map[string]*CostLine) []CostLine {
	out := make([]CostLine, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		l := *m[k]
		if l.Monthly > 0 {
			l.IdleFraction = round2(l.IdleMonthly / l.Monthly)
		}
		l.Monthly, l.IdleMonthly = round2(l.Monthly), round2(l.IdleMonthly)
		out = append(out, l)
	}
	slices.SortStableFunc(out, func(a, b CostLine) int { return cmp.Compare(b.Monthly, a.Monthly) })
	return out
}
