package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/admission"
	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// evalOptions are qm eval's flags: what to read and print, and the
// restrictions a policy author adds by hand to see their effect without
// editing a bundle.
type evalOptions struct {
	files    []string
	output   string
	wide     bool
	restrict []string
	require  []string
	// placing holds the flags qm shares with the webhook (bound by the
	// engine): catalog, quotas, node labels, cluster state, policies.
	placing placing
}

// newEvalCommand is qm eval (contract 4.5): the webhook's decision offline,
// through the same engine, so a policy author sees exactly what admission
// would do.
func newEvalCommand(s streams) *cobra.Command {
	o := evalOptions{placing: newPlacing()}
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
  kubectl get nodes,nodepools,sc,pvc,ns -A -o yaml > state.yaml
  qm eval -f job.yaml --cluster-state state.yaml --label-profile karpenter
  kubectl get deploy -A -o yaml | qm eval -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEval(cmd.Context(), s, &o) },
	}
	fs := cmd.Flags()
	fs.StringSliceVarP(&o.files, "filename", "f", nil, "manifest files or directories (- for standard input)")
	fs.StringVarP(&o.output, "output", "o", "table", "output format: table, csv, json or yaml")
	fs.BoolVar(&o.wide, "wide", false, "table: show each note whole instead of cutting it at 110 characters")
	fs.StringArrayVar(&o.restrict, "restrict", nil, "restrict placement, FIELD=V1,V2 with FIELD one of cloud, region, jurisdiction, capacityType, gpuModel (repeatable)")
	fs.StringArrayVar(&o.require, "require", nil, "capability every offer must have, e.g. confidential-computing (repeatable)")
	o.placing.addSourceFlags(fs)
	// eval places and patches, so it also takes the node label convention
	// and the provisionable filter (optimize only judges).
	o.placing.cfg.Nodes.AddFlags(fs)
	o.placing.addPolicyFlags(fs)
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// evalResult is one object's outcome with where it came from.
type evalResult struct {
	Source string `json:"source"`
	*admission.Outcome
}

// runEval decides on every object of the manifests in input order. Each
// placement holds its GPUs against the quota for the objects after it, as
// successive admissions would; the exit code is the worst outcome.
func runEval(ctx context.Context, s streams, o *evalOptions) error {
	if !slices.Contains([]string{"table", "csv", "json", "yaml"}, o.output) {
		return &exitError{exitInput, fmt.Errorf("output %q: want table, csv, json or yaml", o.output)}
	}
	restr, err := parseRestrictions(o.restrict, o.require)
	if err != nil {
		return &exitError{exitInput, err}
	}
	eng, err := o.placing.load(ctx)
	if err != nil {
		return err
	}
	// A --restrict naming a region or model the catalog lacks would place
	// nothing and read as a policy's fault: refuse it up front.
	if err := restr.Check(eng.Catalog().Names()); err != nil {
		return &exitError{exitInput, err}
	}
	ev := eng.Evaluator()
	// Offline, nobody refreshes the catalog: old prices are worth a word,
	// not a failure (an example catalog is meant to stay put).
	if asOf, err := time.Parse(time.DateOnly, eng.Catalog().Meta().AsOf); err == nil && time.Since(asOf) > staleCatalogAge {
		fmt.Fprintf(s.err, "qm: warning: the catalog's prices are as of %s, %d days ago\n", asOf.Format(time.DateOnly), int(time.Since(asOf).Hours()/24))
	}
	// Placements made earlier in the run hold their GPUs for the later ones,
	// in input order, as they would once admitted one after the other.
	usage := maps.Clone(eng.Usage())
	if usage == nil {
		usage = quota.GPUCounts{}
	}
	// One object at a time: decoded, decided, printed and dropped, so that
	// memory stays flat in the size of the input.
	printer := newResultPrinter(s.out, o.output, o.wide)
	objects, consumed, code := 0, 0, exitOK
	err = scanDocuments(s.in, o.files, func(d sourcedObject) error {
		objects++
		out, err := ev.Evaluate(ctx, &admission.Input{ID: decisionID(d.source, d.obj), Object: d.obj, Restrictions: restr, Usage: usage,
			Request: o.placing.request(), NamespaceLabels: eng.NamespaceLabels(d.obj)})
		if err != nil {
			return fmt.Errorf("%s: %w", d.source, err)
		}
		// Only whole GPUs held now count: a workload scaled to zero holds
		// none until it scales up, and then admission decides again.
		if key, gpus, ok := out.HeldGPUs(); ok {
			usage[key] += gpus
			consumed++
		}
		code = worseExit(code, out)
		return printer.add(evalResult{Source: d.source, Outcome: out})
	})
	// A manifest that cannot be read is the user's to fix (exit 1); an
	// evaluation fault is ours, and says so through the default exit.
	var inputErr *inputError
	switch {
	case errors.As(err, &inputErr):
		return &exitError{exitInput, inputErr.err}
	case err != nil:
		return err
	}
	if objects == 0 {
		// A wrong path or an empty pipe in CI must not pass as "all allowed".
		names := slices.Clone(o.files)
		for i, f := range names {
			if f == "-" {
				names[i] = "standard input"
			}
		}
		return &exitError{exitInput, fmt.Errorf("no objects found in %s", strings.Join(names, ", "))}
	}
	if err := printer.close(); err != nil {
		return err
	}
	// Sequential placement under a quota can differ from the joint optimum
	// (an early workload takes the cheap region a later one needed): point
	// to the tool that places them together.
	if o.placing.cfg.Sources.Quota != "" && consumed > 1 {
		fmt.Fprintln(s.err, "qm: each placement holds its GPUs against the quota for the workloads after it, in input order; qm optimize places them jointly")
	}
	if code != exitOK {
		return quiet{code}
	}
	return nil
}

// worseExit is the exit code after out: 2 once anything was denied by
// policy, else 3 once anything could not be placed, else 0.
func worseExit(code int, out *admission.Outcome) int {
	switch {
	case out.Allowed:
	case out.NoPlacement:
		if code == exitOK {
			return exitNoPlacement
		}
	default:
		return exitDenied
	}
	return code
}

// parseRestrictions turns --restrict and --require into restrictions that
// merge with the policies' as one more source ("qm-flag"), so that the
// decision names the flag as the reason an offer was left out. nil means
// none, which the evaluator treats as "anywhere".
func parseRestrictions(restrict, require []string) (*costing.Restrictions, error) {
	if len(restrict) == 0 && len(require) == 0 {
		return nil, nil
	}
	r := &costing.Restrictions{}
	for _, spec := range restrict {
		field, vals, ok := strings.Cut(spec, "=")
		if !ok || vals == "" {
			return nil, fmt.Errorf("--restrict %q: want FIELD=V1,V2", spec)
		}
		list := strings.Split(vals, ",")
		// Capacity types have synonyms (preemptible, low-priority): they
		// are matched in their canonical form, as the catalog stores them.
		if field == costing.FieldCapacityType {
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

// sourcedObject is one decoded object with where it came from (file#doc),
// so that every line of output can be traced back to its manifest.
type sourcedObject struct {
	source string
	obj    map[string]any
}

// inputError marks a failure to read the manifests (exit 1), as opposed to
// a fault of the evaluation.
type inputError struct{ err error }

// Error is the underlying read or decode error.
func (e *inputError) Error() string { return e.err.Error() }

// readDocuments expands files and directories into objects, in order, all
// in memory (qm optimize places them jointly).
func readDocuments(stdin io.Reader, paths []string) ([]sourcedObject, error) {
	var out []sourcedObject
	err := scanDocuments(stdin, paths, func(d sourcedObject) error {
		out = append(out, d)
		return nil
	})
	var inputErr *inputError
	if errors.As(err, &inputErr) {
		return nil, inputErr.err
	}
	return out, err
}

// scanDocuments expands files and directories into objects, in order, one
// at a time. Reading errors come back as *inputError; fn's as they are.
func scanDocuments(stdin io.Reader, paths []string, fn func(sourcedObject) error) error {
	read := func(name string, r io.Reader) error {
		var fnErr error
		err := workload.ScanManifests(r, func(d workload.Document) error {
			src := name + "#" + strconv.Itoa(d.Index)
			if d.Item > 0 {
				src += "." + strconv.Itoa(d.Item)
			}
			fnErr = fn(sourcedObject{src, d.Object})
			return fnErr
		})
		switch {
		case fnErr != nil:
			return fnErr
		case err != nil:
			return &inputError{fmt.Errorf("%s: %w", name, err)}
		}
		return nil
	}
	for _, p := range paths {
		// "-" is standard input, read once where it appears, so that a
		// pipe can be mixed with files in the order given.
		if p == "-" {
			if err := read("stdin", stdin); err != nil {
				return err
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return &inputError{fmt.Errorf("reading manifests: %w", err)}
		}
		files := []string{p}
		// A directory is walked recursively in lexical order (WalkDir's),
		// so that two runs print the same objects in the same order; only
		// manifest extensions are read, leaving READMEs and scripts alone.
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
				return &inputError{fmt.Errorf("reading manifests in %s: %w", p, err)}
			}
		}
		for _, f := range files {
			file, err := os.Open(f)
			if err != nil {
				return &inputError{fmt.Errorf("reading manifests: %w", err)}
			}
			err = read(f, file)
			file.Close()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// decisionID is stable for the same object from the same source, so that
// repeated runs print the same decisions.
func decisionID(source string, obj map[string]any) string {
	// Marshalling a decoded manifest cannot fail (it came from JSON or
	// YAML); were it to, the ID would still be unique per source.
	js, _ := json.Marshal(obj)
	sum := sha256.Sum256(append([]byte(source+"\x00"), js...))
	return "qm-" + hex.EncodeToString(sum[:6])
}
