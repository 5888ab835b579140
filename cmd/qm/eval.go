package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

type evalOptions struct {
	files    []string
	output   string
	restrict []string
	require  []string
	sources  sourceFlags
	policy   policyFlags
}

func newEvalCommand(s streams) *cobra.Command {
	var o evalOptions
	cmd := &cobra.Command{
		Use:   "eval -f MANIFESTS...",
		Short: "Decide on workloads offline, exactly as the admission webhook would",
		Long: `eval reads Kubernetes manifests (YAML or JSON, many documents per file, directories
recursively, - for standard input) and prints, for each object, whether it is allowed,
its violations and warnings, its placement and the JSON patch the webhook would apply.

Exit codes: 0 all allowed, 1 usage or input error, 2 a workload was denied,
3 a workload has no feasible placement.`,
		Example: `  qm eval -f examples/workloads/
  qm eval -f job.yaml --restrict jurisdiction=eu -o json
  qm eval -f examples/workloads/ --cluster-state examples/cluster-state.yaml --inventory examples/inventory.yaml
  qm eval -f job.yaml --policies ./my-policies --group ml-platform
  kubectl get deploy -A -o yaml | qm eval -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEval(cmd.Context(), s, &o) },
	}
	fs := cmd.Flags()
	fs.StringSliceVarP(&o.files, "filename", "f", nil, "manifest files or directories (- for standard input)")
	fs.StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	fs.StringArrayVar(&o.restrict, "restrict", nil, "restrict placement, FIELD=V1,V2 with FIELD one of cloud, region, jurisdiction, capacityType, gpuModel (repeatable)")
	fs.StringArrayVar(&o.require, "require", nil, "capability every offer must have, e.g. confidential-computing (repeatable)")
	o.sources.addFlags(fs)
	o.policy.addFlags(fs)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// evalResult is one object's outcome with where it came from.
type evalResult struct {
	Source string `json:"source"`
	*admission.Outcome
}

func runEval(ctx context.Context, s streams, o *evalOptions) error {
	if !slices.Contains([]string{"table", "json", "yaml"}, o.output) {
		return &exitError{exitInput, fmt.Errorf("output %q: want table, json or yaml", o.output)}
	}
	restr, err := parseRestrictions(o.restrict, o.require)
	if err != nil {
		return &exitError{exitInput, err}
	}
	placer, usage, x, err := o.sources.loadEngine()
	if err != nil {
		return &exitError{exitInput, err}
	}
	if err := restr.Check(placer.Catalog().Names()); err != nil {
		return &exitError{exitInput, err}
	}
	pol, err := o.policy.load(ctx, placer.Catalog().Regions())
	if err != nil {
		return &exitError{exitInput, err}
	}
	ev, err := admission.NewEvaluator(admission.Deps{Extractor: x, Placer: placer, Policy: pol.engine, Evidence: pol.evidence})
	if err != nil {
		return err
	}
	docs, err := readDocuments(s.in, o.files)
	if err != nil {
		return &exitError{exitInput, err}
	}
	results := make([]evalResult, 0, len(docs))
	for _, d := range docs {
		out, err := ev.Evaluate(ctx, &admission.Input{ID: decisionID(d.source, d.obj), Object: d.obj, Restrictions: restr, Usage: usage,
			Request: admission.RequestInfo{Username: o.policy.user, Groups: o.policy.groups}, NamespaceLabels: pol.namespaceLabels(d.obj)})
		if err != nil {
			return fmt.Errorf("%s: %w", d.source, err)
		}
		results = append(results, evalResult{Source: d.source, Outcome: out})
	}
	if err := printResults(s.out, o.output, results); err != nil {
		return err
	}
	if code := exitCode(results); code != exitOK {
		return quiet{code}
	}
	return nil
}

// exitCode is 2 when anything was denied by policy, else 3 when anything
// could not be placed, else 0.
func exitCode(results []evalResult) int {
	code := exitOK
	for _, r := range results {
		switch {
		case r.Allowed:
		case r.NoPlacement:
			if code == exitOK {
				code = exitNoPlacement
			}
		default:
			code = exitDenied
		}
	}
	return code
}

func parseRestrictions(restrict, require []string) (*placement.Restrictions, error) {
	if len(restrict) == 0 && len(require) == 0 {
		return nil, nil
	}
	r := &placement.Restrictions{}
	for _, spec := range restrict {
		field, vals, ok := strings.Cut(spec, "=")
		if !ok || vals == "" {
			return nil, fmt.Errorf("--restrict %q: want FIELD=V1,V2", spec)
		}
		list := strings.Split(vals, ",")
		if field == placement.FieldCapacityType {
			for i, v := range list {
				ct, err := costing.ParseCapacityType(v)
				if err != nil {
					return nil, fmt.Errorf("--restrict %q: %w", spec, err)
				}
				list[i] = string(ct)
			}
		}
		if !r.Restrict(field, list, "--restrict "+spec, "qm-flag") {
			return nil, fmt.Errorf("--restrict %q: field %q: want cloud, region, jurisdiction, capacityType or gpuModel", spec, field)
		}
	}
	for _, c := range require {
		r.Require(c, "--require "+c, "qm-flag")
	}
	return r, nil
}

func jurisdictions(c *costing.Catalog) []string {
	var out []string
	for _, r := range c.Regions().All() {
		if !slices.Contains(out, r.Jurisdiction) {
			out = append(out, r.Jurisdiction)
		}
	}
	return out
}

type sourcedObject struct {
	source string
	obj    map[string]any
}

// readDocuments expands files and directories into objects, in order.
func readDocuments(stdin io.Reader, paths []string) ([]sourcedObject, error) {
	var out []sourcedObject
	read := func(name string, r io.Reader) error {
		docs, err := workload.DecodeManifests(r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, d := range docs {
			src := name + "#" + strconv.Itoa(d.Index)
			if d.Item > 0 {
				src += "." + strconv.Itoa(d.Item)
			}
			out = append(out, sourcedObject{src, d.Object})
		}
		return nil
	}
	for _, p := range paths {
		if p == "-" {
			if err := read("stdin", stdin); err != nil {
				return nil, err
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading manifests: %w", err)
		}
		files := []string{p}
		if info.IsDir() {
			files = nil
			err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				switch filepath.Ext(path) {
				case ".yaml", ".yml", ".json":
					if !d.IsDir() {
						files = append(files, path)
					}
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("reading manifests in %s: %w", p, err)
			}
		}
		for _, f := range files {
			file, err := os.Open(f)
			if err != nil {
				return nil, fmt.Errorf("reading manifests: %w", err)
			}
			err = read(f, file)
			file.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// decisionID is stable for the same object from the same source, so that
// repeated runs print the same decisions.
func decisionID(source string, obj map[string]any) string {
	js, _ := json.Marshal(obj)
	sum := sha256.Sum256(append([]byte(source+"\x00"), js...))
	return "qm-" + hex.EncodeToString(sum[:6])
}

func printResults(w io.Writer, format string, results []evalResult) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	case "yaml":
		js, err := json.Marshal(results)
		if err != nil {
			return err
		}
		y, err := yaml.JSONToYAML(js)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECT\tRESULT\tCLOUD\tREGION\tINSTANCE TYPE\tGPUS\tNODES\tCAPACITY\t$/HOUR\tEST. COST\tNOTE")
	for _, r := range results {
		result, note := "allowed", ""
		switch {
		case !r.GPU:
			result, note = "skipped", "no GPU requested"
		case r.NoPlacement:
			result = "no-placement"
		case !r.Allowed:
			result = "denied"
		}
		if len(r.Violations) > 0 {
			note = r.Violations[0].Code + ": " + r.Violations[0].Msg
		} else if len(r.Warnings) > 0 {
			note = "warning: " + r.Warnings[0]
		}
		if d := r.Decision; d != nil {
			gpus := fmt.Sprintf("%d×%s", d.GPUsPerNode, d.GPUModel)
			if d.MIG != nil {
				gpus += " (MIG " + d.MIG.Profile + ")"
			}
			if note == "" && len(d.Alternatives) > 0 {
				a := d.Alternatives[0]
				note = fmt.Sprintf("next: %s %s %s $%.2f/h", a.Cloud, a.Region, a.InstanceType, a.PricePerHour)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%.2f\t%.2f\t%s\n", r.Object, result, d.Cloud, d.Region,
				d.InstanceType, gpus, d.Nodes, d.CapacityType, d.PricePerHour, d.EstimatedCost, truncate(note, 110))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t%s\n", r.Object, result, truncate(note, 110))
	}
	return tw.Flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
