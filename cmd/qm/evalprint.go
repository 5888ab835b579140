package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/placement"
)

// hoursPerMonth is the FinOps month: 365 × 24 / 12.
const hoursPerMonth = 730

// staleCatalogAge is when qm eval warns that the catalog's prices are old:
// list prices move a few times a year, spot prices daily.
const staleCatalogAge = 90 * 24 * time.Hour

// evalColumns are the table's and the CSV's columns.
var evalColumns = []string{"OBJECT", "RESULT", "CLOUD", "REGION", "INSTANCE TYPE", "GPUS", "NODES", "CAPACITY", "$/HOUR", "EST. COST", "NOTE"}

// noteWidth is where the table cuts a note unless --wide.
const noteWidth = 110

// evalRow is one result as the table and the CSV show it.
type evalRow struct {
	cells                  []string
	pricePerHour, estimate float64
	placed                 bool
}

func rowOf(r evalResult) evalRow {
	result, note := "allowed", ""
	switch {
	case !r.GPU:
		result, note = "skipped", "no GPU requested"
	case r.NoPlacement:
		result = "no-placement"
	case !r.Allowed:
		result = "denied"
	case r.Exempt:
		result = "exempt"
	}
	if len(r.Violations) > 0 {
		note = r.Violations[0].Code + ": " + r.Violations[0].Msg
	} else if len(r.Warnings) > 0 {
		note = "warning: " + r.Warnings[0]
	}
	d := r.Decision
	if d == nil {
		return evalRow{cells: []string{r.Object, result, "-", "-", "-", "-", "-", "-", "-", "-", note}}
	}
	if s := d.Skipped; note == "" && s != nil {
		note = fmt.Sprintf("skipped cheaper %s %s %s %s $%.2f/h: %s", s.Cloud, s.Region, s.InstanceType, s.CapacityType, s.PricePerHour, s.Reason)
	}
	if note == "" && r.Workload != nil && r.Workload.ExpectedDuration <= 0 {
		note = fmt.Sprintf("est. cost for %g h: no quartermaster.io/expected-duration", placement.DefaultDuration.Hours())
	}
	if note == "" && len(d.Alternatives) > 0 {
		a := d.Alternatives[0]
		note = fmt.Sprintf("next: %s %s %s $%.2f/h", a.Cloud, a.Region, a.InstanceType, a.PricePerHour)
	}
	// The GPUs the workload holds, not those of one node: a 1-GPU pod on
	// a 4-GPU node holds one.
	gpus := "-"
	if w := r.Workload; w != nil {
		if d.MIG != nil {
			gpus = fmt.Sprintf("%d×%s (MIG on %s)", w.TotalGPUReplicas()*d.MIG.Instances, d.MIG.Profile, d.GPUModel)
		} else {
			gpus = fmt.Sprintf("%d×%s", w.WholeGPUs(), d.GPUModel)
		}
	}
	return evalRow{
		cells: []string{r.Object, result, d.Cloud, d.Region, d.InstanceType, gpus, strconv.Itoa(d.Nodes), d.CapacityType,
			fmt.Sprintf("%.2f", d.PricePerHour), fmt.Sprintf("%.2f", d.EstimatedCost), note},
		pricePerHour: d.PricePerHour, estimate: d.EstimatedCost, placed: r.Allowed,
	}
}

func printResults(w io.Writer, format string, wide bool, results []evalResult) error {
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
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(evalColumns)
		for _, r := range results {
			row := rowOf(r)
			for i, c := range row.cells {
				row.cells[i] = escapeControl(c)
			}
			_ = cw.Write(row.cells)
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(evalColumns, "\t"))
	var perHour, estimate float64
	placed := 0
	for _, r := range results {
		row := rowOf(r)
		for i, c := range row.cells {
			row.cells[i] = escapeControl(c)
		}
		if last := len(row.cells) - 1; !wide {
			row.cells[last] = truncate(row.cells[last], noteWidth)
		}
		fmt.Fprintln(tw, strings.Join(row.cells, "\t"))
		if row.placed {
			perHour, estimate, placed = perHour+row.pricePerHour, estimate+row.estimate, placed+1
		}
	}
	if placed > 0 {
		fmt.Fprintf(tw, "TOTAL (%d placed)\t\t\t\t\t\t\t\t%.2f\t%.2f\t$%.2f per month of %d h at these rates\n",
			placed, perHour, estimate, perHour*hoursPerMonth, hoursPerMonth)
	}
	return tw.Flush()
}

// escapeControl makes control characters visible (\x1b, \n): names come from
// manifests, and raw ESC or newlines would drive the terminal or break the
// table.
func escapeControl(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
