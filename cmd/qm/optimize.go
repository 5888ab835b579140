package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/milp"
	"github.com/quartermaster-io/quartermaster/internal/placement/batch"
)

// optimizeOptions are qm optimize's flags.
type optimizeOptions struct {
	files     []string
	output    string
	timeLimit time.Duration
	nodeLimit int
	gap       float64
	exportLP  string
	presolved bool
	locations []string
	migration float64
	restrict  []string
	require   []string
	// placing holds the flags qm shares with the webhook: catalog, quotas,
	// cluster state, policies.
	placing placing
}

// newOptimizeCommand is qm optimize (contract 4.5): every workload placed
// at once at the lowest total cost the quotas allow, with the proof of
// optimality or the gap left.
func newOptimizeCommand(s streams) *cobra.Command {
	o := optimizeOptions{placing: newPlacing()}
	cmd := &cobra.Command{
		Use:   "optimize -f WORKLOADS...",
		Short: "Place every GPU workload at once, at the lowest total cost under the quotas",
		Long: `optimize reads Kubernetes manifests (each GPU workload is one gang: all its GPU
replicas in one cloud, region and instance type) and assigns every gang an offer so
that the total cost (compute × expected duration + dataset egress + migration) is
the lowest the quotas allow. It proves optimality by branch-and-bound; when a limit
(or --gap) stops the search it reports the best assignment found, a lower bound and
the gap.
Objects without GPUs are ignored. Every workload is judged by the same policies as
in admission (qm eval) first: a denied one is left out and listed with its reasons,
an allowed one is placed under the restrictions the policies set. Rules that judge a
chosen placement (budget) are not applied to the joint assignment; qm eval applies
them per workload.

Exit codes: 0 every workload placed, 1 usage or input error, 2 a workload was denied
by policy (the others are still placed), 3 no assignment places every workload (the
workloads and the reasons are printed).`,
		Example: `  qm optimize -f examples/optimizer/ --quota examples/optimizer/quotas.yaml \
    --catalog examples/optimizer/catalog.csv
  qm optimize -f examples/workloads/ --quota examples/quotas.yaml -o json --export-lp model.lp`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runOptimize(cmd, s, &o) },
	}
	fs := cmd.Flags()
	fs.StringSliceVarP(&o.files, "filename", "f", nil, "manifest files or directories (- for standard input)")
	fs.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	fs.DurationVar(&o.timeLimit, "time-limit", 10*time.Second, "stop the search after this long and report the gap (0: no limit)")
	fs.IntVar(&o.nodeLimit, "node-limit", 0, "stop after this many branch-and-bound nodes (0: no limit); unlike the time limit, deterministic")
	fs.Float64Var(&o.gap, "gap", 0, "stop once the answer is proven within this relative gap of the optimum, e.g. 0.001 (0: prove optimality)")
	fs.BoolVar(&o.presolved, "export-presolved", false, "with --export-lp, write the model after the exact presolve (the instance the solver searches)")
	fs.StringVar(&o.exportLP, "export-lp", "", "write the model in CPLEX LP format to this file (check it with cbc or glpsol --lp)")
	fs.StringArrayVar(&o.locations, "dataset-location", nil, "where a dataset lives, URLPREFIX=cloud/region, for egress (repeatable)")
	fs.Float64Var(&o.migration, "migration-penalty", 0, "USD charged for moving a workload away from the placement its decision annotation records")
	fs.StringArrayVar(&o.restrict, "restrict", nil, "restrict every workload's placement, FIELD=V1,V2 (repeatable)")
	fs.StringArrayVar(&o.require, "require", nil, "capability every offer must have (repeatable)")
	o.placing.addSourceFlags(fs)
	o.placing.addPolicyFlags(fs)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// runOptimize judges each workload with the admission policies first (a
// denied one is left out with its reasons, never placed by the batch), then
// solves the batch and prints it.
func runOptimize(cmd *cobra.Command, s streams, o *optimizeOptions) error {
	if o.output != "table" && o.output != "json" {
		return &exitError{exitInput, fmt.Errorf("output %q: want table or json", o.output)}
	}
	if o.timeLimit < 0 || o.nodeLimit < 0 {
		return &exitError{exitInput, errors.New("--time-limit and --node-limit must not be negative")}
	}
	// Written so that NaN fails too: every comparison with NaN is false.
	if !(o.migration >= 0) || math.IsInf(o.migration, 0) {
		return &exitError{exitInput, fmt.Errorf("--migration-penalty %g: want a finite number of USD, 0 or more", o.migration)}
	}
	if !(o.gap >= 0 && o.gap < 1) {
		return &exitError{exitInput, fmt.Errorf("--gap %g: want 0 ≤ gap < 1", o.gap)}
	}
	restr, err := parseRestrictions(o.restrict, o.require)
	if err != nil {
		return &exitError{exitInput, err}
	}
	locate, err := parseLocations(o.locations)
	if err != nil {
		return &exitError{exitInput, err}
	}
	eng, err := o.placing.load(cmd.Context())
	if err != nil {
		return err
	}
	if err := restr.Check(eng.Catalog().Names()); err != nil {
		return &exitError{exitInput, err}
	}
	docs, err := readDocuments(s.in, o.files)
	if err != nil {
		return &exitError{exitInput, err}
	}
	req := &batch.Request{
		Usage: eng.Usage(), Locate: locate, MigrationPenalty: o.migration,
		Limits: milp.Limits{Time: o.timeLimit, Nodes: o.nodeLimit, Gap: o.gap},
	}
	var denied []*admission.Outcome
	for _, d := range docs {
		// As admission judges it (the engine's policy phase): the same
		// policies, evidence and namespace labels; the flags' restrictions
		// merged with the rules'.
		g, err := eng.Gang(cmd.Context(), &admission.Input{ID: decisionID(d.source, d.obj), Object: d.obj, Restrictions: restr,
			Request: o.placing.request()})
		if err != nil {
			return fmt.Errorf("%s: %w", d.source, err)
		}
		switch {
		case !g.Outcome.GPU:
		case g.Outcome.Denied():
			denied = append(denied, g.Outcome)
		default:
			req.Gangs = append(req.Gangs, batch.Gang{Workload: g.Workload, Restrictions: g.Restrictions, Current: g.Current})
		}
	}
	for _, o := range denied {
		for _, v := range o.Violations {
			fmt.Fprintf(s.err, "qm: %s left out, denied by policy: %s: %s\n", o.Object, v.Code, v.Msg)
		}
	}
	if len(req.Gangs) == 0 && len(denied) > 0 {
		return quiet{exitDenied}
	}
	if len(req.Gangs) == 0 {
		return &exitError{exitInput, errors.New("no GPU workloads in the manifests")}
	}
	model, err := batch.NewModel(eng.Placer(), req)
	if err != nil {
		return &exitError{exitInput, err}
	}
	if o.exportLP != "" {
		if err := writeLPFile(o.exportLP, model, o.presolved); err != nil {
			return &exitError{exitInput, err}
		}
	}
	res := model.Solve(cmd.Context())
	if err := printOptimize(s.out, o.output, res); err != nil {
		return err
	}
	if len(res.Unplaceable) > 0 || res.Status == milp.StatusUnknown {
		for _, u := range res.Unplaceable {
			fmt.Fprintf(s.err, "qm: cannot place %s: %s\n", u.Workload, u.Reason)
		}
		if res.Status == milp.StatusUnknown {
			fmt.Fprintln(s.err, "qm: the limits stopped the search before any assignment of every workload was found")
		}
		if len(denied) == 0 {
			return quiet{exitNoPlacement}
		}
	}
	if len(denied) > 0 {
		return quiet{exitDenied}
	}
	return nil
}

// writeLPFile exports the model in CPLEX LP format, so that its answer can
// be checked with another solver (CBC, GLPK).
func writeLPFile(path string, m *batch.Model, presolved bool) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("exporting the model: %w", err)
	}
	write := m.WriteLP
	if presolved {
		write = m.WritePresolvedLP
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("exporting the model: %w", err)
	}
	return nil
}

// parseLocations reads --dataset-location URLPREFIX=cloud/region flags.
func parseLocations(flags []string) (func(string) (costing.Location, bool), error) {
	if len(flags) == 0 {
		return nil, nil
	}
	type entry struct {
		prefix string
		loc    costing.Location
	}
	var entries []entry
	for _, f := range flags {
		prefix, where, ok := strings.Cut(f, "=")
		cloud, region, ok2 := strings.Cut(where, "/")
		if !ok || !ok2 || prefix == "" || region == "" || (cloud != costing.AWS && cloud != costing.Azure && cloud != costing.GCP) {
			return nil, fmt.Errorf("--dataset-location %q: want URLPREFIX=cloud/region with cloud aws, azure or gcp", f)
		}
		entries = append(entries, entry{prefix, costing.Location{Cloud: cloud, Region: region}})
	}
	return func(ds string) (costing.Location, bool) {
		best := -1
		for i, e := range entries {
			if strings.HasPrefix(ds, e.prefix) && (best < 0 || len(e.prefix) > len(entries[best].prefix)) {
				best = i
			}
		}
		if best < 0 {
			return costing.Location{}, false
		}
		return entries[best].loc, true
	}, nil
}

// printOptimize writes the assignments and the total, saying whether it
// is proven optimal or how far from optimal it can be.
func printOptimize(w io.Writer, format string, res *batch.Result) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		out := *res
		if out.Gap > 1e300 {
			out.Gap = -1 // JSON has no infinity: -1 means unknown
		}
		return enc.Encode(&out)
	}
	if len(res.Assignments) == 0 {
		// No table of nothing: say which workloads stand in the way.
		fmt.Fprintln(w, "no assignment places every workload:")
		for _, u := range res.Unplaceable {
			fmt.Fprintf(w, "  %s: %s\n", u.Workload, u.Reason)
		}
		if len(res.Unplaceable) == 0 {
			fmt.Fprintf(w, "  the limits stopped the search first (%d search nodes, %.1f ms)\n", res.Nodes, res.SolveTimeMs)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKLOAD\tCLOUD\tREGION\tINSTANCE TYPE\tCAPACITY\tNODES\tPRICE/H\tHOURS\tCOST")
	for _, a := range res.Assignments {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%.4f\t%g\t%.2f\n", a.Workload, a.Cloud, a.Region, a.InstanceType, a.CapacityType, a.Nodes, a.PricePerHour, a.Hours, a.Cost)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case res.Optimal:
		fmt.Fprintf(w, "\ntotal cost $%.2f — proven optimal (%d search nodes, %.1f ms)\n", res.TotalCost, res.Nodes, res.SolveTimeMs)
	case len(res.Assignments) > 0:
		fmt.Fprintf(w, "\ntotal cost $%.2f — not proven optimal: lower bound $%.2f, gap %.4f%% (%d search nodes, %.1f ms)\n",
			res.TotalCost, res.LowerBound, 100*res.Gap, res.Nodes, res.SolveTimeMs)
	}
	return nil
}
