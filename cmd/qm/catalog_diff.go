package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/pricing"
)

// newCatalogDiffCommand is qm catalog diff OLD NEW: what a refresh changed,
// to read before the webhook hot-reloads the new catalog and starts
// placing with it.
func newCatalogDiffCommand(s streams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Show the offers added, removed and repriced between two catalogs",
		Long: `diff compares two catalogs in the project's CSV format offer by offer (cloud, region, zone,
instance type and GPUs) and lists what was added, what was removed and whose on-demand or spot
price changed, with the change in percent, sorted by cloud, region and instance type.`,
		Example: "  qm catalog diff catalog.csv refreshed.csv -o json",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return &exitError{exitInput, fmt.Errorf("output %q: want table or json", output)}
			}
			var cats [2]*costing.Catalog
			for i, path := range args {
				f, err := os.Open(path)
				if err != nil {
					return &exitError{exitInput, fmt.Errorf("opening catalog: %w", err)}
				}
				cats[i], err = costing.ReadCSV(f, costing.DefaultRegions(), path)
				f.Close()
				if err != nil {
					return &exitError{exitInput, fmt.Errorf("%s: %w", path, err)}
				}
			}
			changes := pricing.Diff(cats[0], cats[1])
			if output == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				if changes == nil {
					changes = []pricing.Change{}
				}
				return enc.Encode(changes)
			}
			counts := map[string]int{}
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CHANGE\tCLOUD\tREGION\tZONE\tINSTANCE TYPE\tGPUS\t$/HOUR\tSPOT $/HOUR")
			for _, c := range changes {
				counts[c.Kind]++
				zone := c.Zone
				if zone == "" {
					zone = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d×%s\t%s\t%s\n", c.Kind, c.Cloud, c.Region, zone, c.InstanceType, c.GPUCount, c.GPUModel,
					moved(c.Kind, c.OldPrice, c.NewPrice, c.PricePct), moved(c.Kind, c.OldSpot, c.NewSpot, c.SpotPct))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "# %d added, %d removed, %d repriced\n", counts[pricing.Added], counts[pricing.Removed], counts[pricing.Changed])
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// moved renders one price of a change: for a changed offer "55.04 → 57.2
// (+3.92%)" or "27.52 → -" (spot capacity gone); for an added or removed
// one, its price; "-" for none.
func moved(kind string, old, new, pct *float64) string {
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%g", *p)
	}
	switch {
	case kind == pricing.Added:
		return f(new)
	case kind == pricing.Removed:
		return f(old)
	case old == nil && new == nil:
		return "-"
	case old != nil && new != nil && *old == *new:
		return f(new)
	case pct != nil:
		return fmt.Sprintf("%s → %s (%+.2f%%)", f(old), f(new), *pct)
	}
	return fmt.Sprintf("%s → %s", f(old), f(new))
}
