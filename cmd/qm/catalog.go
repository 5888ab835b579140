package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

// newCatalogCommand groups the catalog tools: list and nodes read the
// catalog through the engine, as placement would see it; import converts a
// file and so reads it directly.
func newCatalogCommand(s streams) *cobra.Command {
	cmd := &cobra.Command{Use: "catalog", Short: "Inspect and import GPU offer catalogs"}
	cmd.AddCommand(newCatalogListCommand(s), newCatalogImportCommand(s), newCatalogNodesCommand(s))
	cmd.AddCommand(newCatalogRefreshCommand(s))
	cmd.AddCommand(newCatalogDiffCommand(s))
	return cmd
}

// newCatalogListCommand is qm catalog list: the offers a placement would
// choose from, filtered and sorted, so that a FinOps reader can check a
// price before trusting a decision made with it.
func newCatalogListCommand(s streams) *cobra.Command {
	src := newPlacing()
	var models, clouds []string
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the offers of a catalog (default: the embedded one), cheapest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := refuseUnusedSources(cmd); err != nil {
				return err
			}
			// The output format is checked before the catalog is read, so
			// that a typo fails fast even with a large --catalog.
			switch output {
			case "table", "json", "yaml", "csv":
			default:
				return &exitError{exitInput, fmt.Errorf("output %q: want table, json, yaml or csv", output)}
			}
			// Through the engine, so that --catalog is read exactly as eval
			// and the webhook read it (an empty file is refused alike).
			eng, err := src.loadPrices(cmd.Context())
			if err != nil {
				return err
			}
			cat := eng.Catalog()
			var offers []costing.Offer
			for _, o := range cat.Offers() {
				if (len(models) == 0 || slices.Contains(models, o.GPUModel)) && (len(clouds) == 0 || slices.Contains(clouds, o.Cloud)) {
					offers = append(offers, o)
				}
			}
			// Cheapest per GPU first: what a FinOps reader compares across
			// node sizes; stable, so ties keep the catalog's order.
			slices.SortStableFunc(offers, func(a, b costing.Offer) int {
				return cmpFloat(a.PriceHourly/float64(a.GPUCount), b.PriceHourly/float64(b.GPUCount))
			})
			listing := struct {
				Meta   costing.Meta    `json:"meta"`
				Offers []costing.Offer `json:"offers"`
			}{cat.Meta(), offers}
			// The meta (as-of date, source) travels with the offers, so that
			// a saved listing says how old its prices are.
			switch output {
			case "json":
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(listing)
			case "yaml":
				// Through the JSON encoding, so that YAML has JSON's names.
				b, err := yaml.Marshal(listing)
				if err != nil {
					return fmt.Errorf("encoding the offers as YAML: %w", err)
				}
				_, err = s.out.Write(b)
				return err
			case "csv":
				// The catalog format itself (contract 4.4): a selection can be
				// saved and read back with --catalog.
				sel, err := costing.NewCatalog(offers, cat.Regions(), cat.Meta())
				if err != nil {
					return fmt.Errorf("writing the selected offers: %w", err)
				}
				return costing.WriteCSV(s.out, sel)
			}
			fmt.Fprintf(s.out, "# %d offers, as of %s (%s)\n", len(offers), cat.Meta().AsOf, cat.Meta().Source)
			// The header line comes first so that a reader of a long table
			// (or of `| head`) sees how many offers and how old they are.
			tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CLOUD\tREGION\tJURISDICTION\tINSTANCE TYPE\tGPUS\tVCPUS\tMEMORY GIB\t$/HOUR\tSPOT $/HOUR\t$/GPU-HOUR\tCAPABILITIES")
			for _, o := range offers {
				// "-" rather than 0: an offer without spot capacity is not free.
				spot := "-"
				if o.HasSpot() {
					spot = fmt.Sprintf("%.4g", o.SpotPriceHourly)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d×%s\t%g\t%g\t%.4g\t%s\t%.3f\t%v\n", o.Cloud, o.Region, o.Jurisdiction,
					o.InstanceType, o.GPUCount, o.GPUModel, o.VCPUs, o.MemoryGiB, o.PriceHourly, spot,
					o.PriceHourly/float64(o.GPUCount), o.Capabilities)
			}
			return tw.Flush()
		},
	}
	src.addSourceFlags(cmd.Flags())
	cmd.Flags().StringSliceVar(&models, "model", nil, "only these canonical GPU models")
	cmd.Flags().StringSliceVar(&clouds, "cloud", nil, "only these clouds")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table, json, yaml or csv (the catalog format, readable with --catalog)")
	hideUnusedSources(cmd)
	return cmd
}

// unusedSources are the source flags a catalog command accepts through
// the engine's source flags but has no use for: quotas and usage limit placement, not
// which offers exist.
var unusedSources = []string{"quota", "usage"}

// hideUnusedSources keeps the unused source flags out of the help.
func hideUnusedSources(cmd *cobra.Command) {
	for _, name := range unusedSources {
		_ = cmd.Flags().MarkHidden(name)
	}
}

// refuseUnusedSources fails when an unused source flag is given: a flag
// that is accepted and ignored misleads more than an error does.
func refuseUnusedSources(cmd *cobra.Command) error {
	for _, name := range unusedSources {
		if cmd.Flags().Changed(name) {
			return &exitError{exitInput, fmt.Errorf("--%s has no effect on %s: quotas and usage limit placement, not the catalog (qm eval or qm optimize read them)",
				name, cmd.CommandPath())}
		}
	}
	return nil
}

// newCatalogImportCommand is qm catalog import: a SkyPilot vms.csv turned
// into the project's CSV (contract 4.4), with every row it could not map
// reported, so that an import never silently drops offers.
func newCatalogImportCommand(s streams) *cobra.Command {
	var format, cloud, out, asOf string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Convert a catalog (e.g. SkyPilot's vms.csv) into the project's CSV format",
		Long: `import reads a catalog in the project's CSV format or SkyPilot's vms.csv format and writes
it in the project's CSV format, reporting every row it dropped and why.`,
		Example: "  qm catalog import --format skypilot --cloud gcp vms.csv -o gcp.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Not through the engine: import converts a file that need not be
			// a valid --catalog yet (that is what it makes).
			file, err := os.Open(args[0])
			if err != nil {
				return &exitError{exitInput, fmt.Errorf("opening catalog: %w", err)}
			}
			defer file.Close()
			var cat *costing.Catalog
			switch format {
			case "skypilot":
				var rep costing.ImportReport
				cat, rep, err = costing.ReadSkyPilot(file, cloud, costing.DefaultRegions(), args[0])
				// The report says which rows were dropped and why, on
				// standard error, so that the converted catalog can be piped.
				if err == nil {
					js, jerr := json.Marshal(rep)
					if jerr != nil {
						return fmt.Errorf("encoding the import report: %w", jerr)
					}
					fmt.Fprintf(s.err, "imported %s\n", js)
				}
			case "csv":
				cat, err = costing.ReadCSV(file, costing.DefaultRegions(), args[0])
			default:
				err = fmt.Errorf("format %q: want csv or skypilot", format)
			}
			if err != nil {
				return &exitError{exitInput, fmt.Errorf("%s: %w", args[0], err)}
			}
			// SkyPilot files carry no date; without one the prices' age
			// cannot be told (qm eval warns of stale prices by it).
			if asOf != "" {
				if err := costing.ParseAsOf(asOf); err != nil {
					return &exitError{exitInput, fmt.Errorf("--as-of: %w", err)}
				}
				cat, err = costing.NewCatalog(cat.Offers(), cat.Regions(), costing.Meta{AsOf: asOf, Source: cat.Meta().Source})
				if err != nil {
					return err
				}
			}
			w := s.out
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return &exitError{exitInput, fmt.Errorf("creating %s: %w", out, err)}
				}
				defer f.Close()
				w = f
			}
			return costing.WriteCSV(w, cat)
		},
	}
	cmd.Flags().StringVar(&format, "format", "skypilot", "input format: skypilot or csv")
	cmd.Flags().StringVar(&cloud, "cloud", "", "the cloud of a skypilot file: aws, azure or gcp")
	cmd.Flags().StringVarP(&out, "output", "o", "-", "output file (- for standard output)")
	cmd.Flags().StringVar(&asOf, "as-of", "", "the date the prices were read, YYYY-MM-DD, written into the output")
	return cmd
}

// cmpFloat orders two prices. A parsed catalog holds no NaN price (the
// reader refuses one), so the plain comparisons are a total order.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
