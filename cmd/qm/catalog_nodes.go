package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/fakenode"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// newCatalogNodesCommand prints fake nodes for KWOK, so that the e2e suite
// and a demo cluster have exactly the capacity the catalog describes, and
// the provisionable filter has Ready nodes to find.
func newCatalogNodesCommand(s streams) *cobra.Command {
	src := newPlacing()
	var sel fakenode.Selector
	var capTypes []string
	var output, labelProfile string
	var labelKeys []string
	cmd := &cobra.Command{
		Use:   "nodes",
		Short: "Print KWOK fake GPU Node objects for catalog offers",
		Long: `nodes prints one fake Node per selected offer and capacity type (spot only where the
offer has a spot price), labelled exactly as placement pins workloads: cloud, region,
instance type, capacity type and GPU product, with nvidia.com/gpu, cpu and memory from
the offer. Spot nodes carry the spot taint. Apply the output to a cluster running KWOK.
--label-profile (and --label-key) label and taint the nodes as that profile's clusters do,
to match a webhook running with the same flags.`,
		Example: `  qm catalog nodes --region us-east-1,westeurope,us-central1 | kubectl apply -f -
  qm catalog nodes --cloud gcp --model H100 --capacity-type spot --count 2`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := refuseUnusedSources(cmd); err != nil {
				return err
			}
			for _, c := range capTypes {
				// Only the names the nodes are labelled with: a synonym such
				// as preemptible would print spot nodes the user did not
				// name.
				ct := costing.CapacityType(c)
				if ct != costing.OnDemand && ct != costing.Spot {
					return &exitError{exitInput, fmt.Errorf("--capacity-type %q: want on-demand or spot (the node label values; GCP preemptible and Azure low-priority capacity is labelled spot)", c)}
				}
				sel.CapacityTypes = append(sel.CapacityTypes, ct)
			}
			// The catalog as placement reads it, so that every node printed
			// matches an offer the webhook may choose.
			eng, err := src.loadPrices(cmd.Context())
			if err != nil {
				return err
			}
			cat := eng.Catalog()
			// Zero nodes per offer would print a list that applies cleanly
			// and provides nothing: refuse it.
			if sel.Count < 1 {
				return &exitError{exitInput, fmt.Errorf("count %d: want at least 1", sel.Count)}
			}
			// Not the engine's node flags: here the profile says how to
			// label the nodes printed, not what placement pins on.
			keys, err := workload.ResolveLabelKeys(labelProfile, labelKeys)
			if err != nil {
				return &exitError{exitInput, err}
			}
			if output != "yaml" && output != "json" {
				return &exitError{exitInput, fmt.Errorf("output %q: want yaml or json", output)}
			}
			// Node by node through a buffer: a fleet of any size in
			// constant memory. The JSON is the v1 List one indented
			// encoding would give.
			out := bufio.NewWriterSize(s.out, 64<<10)
			n := 0
			err = fakenode.EachNode(cat.Offers(), sel, keys, func(node map[string]any) error {
				n++
				if output == "yaml" {
					b, err := yaml.Marshal(node)
					if err != nil {
						return err
					}
					_, err = fmt.Fprintf(out, "---\n%s", b)
					return err
				}
				b, err := json.MarshalIndent(node, "    ", "  ")
				if err != nil {
					return err
				}
				sep := ",\n    "
				if n == 1 {
					sep = "{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    "
				}
				_, err = io.WriteString(out, sep+string(b))
				return err
			})
			if err != nil {
				return err
			}
			// An empty selection is a typo (a region or model misspelt),
			// not an empty cluster to apply.
			if n == 0 {
				return &exitError{exitInput, fmt.Errorf("no offer matches the selection")}
			}
			if output == "json" {
				_, _ = io.WriteString(out, "\n  ],\n  \"kind\": \"List\"\n}\n")
			}
			return out.Flush()
		},
	}
	src.addSourceFlags(cmd.Flags())
	fs := cmd.Flags()
	fs.StringSliceVar(&sel.Clouds, "cloud", nil, "only these clouds")
	fs.StringSliceVar(&sel.Regions, "region", nil, "only these regions")
	fs.StringSliceVar(&sel.Models, "model", nil, "only these canonical GPU models")
	fs.StringSliceVar(&sel.InstanceTypes, "instance-type", nil, "only these instance types")
	fs.StringSliceVar(&capTypes, "capacity-type", []string{"on-demand", "spot"}, "capacity types to make nodes for: on-demand, spot")
	fs.IntVar(&sel.Count, "count", 1, "nodes per offer and capacity type")
	fs.StringVarP(&output, "output", "o", "yaml", "yaml (one document per node) or json (a v1 List)")
	hideUnusedSources(cmd)
	fs.StringVar(&labelProfile, "label-profile", workload.ProfileQuartermaster, "label and taint nodes as this profile's clusters do: "+strings.Join(workload.ProfileNames(), ", "))
	fs.StringArrayVar(&labelKeys, "label-key", nil, "override one field of the label profile, NAME=VALUE (repeatable)")
	return cmd
}
