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

// rowOf is one outcome as a table or CSV row: the placement, or a dash in
// each column and the reason in the note.
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
		} else if _, n, ok := r.HeldGPUs(); ok {
			gpus = fmt.Sprintf("%d×%s", n, d.GPUModel)
		} else {
			gpus = fmt.Sprintf("%d×%s", w.WholeGPUs(), d.GPUModel)
		}
	}
	return evalRow{
		cells: []string{r.Object, result, d.Cloud, d.Region, d.InstanceType, gpus, strconv.Itoa(d.Nodes), string(d.CapacityType),
			fmt.Sprintf("%.2f", d.PricePerHour), fmt.Sprintf("%.2f", d.EstimatedCost), note},
		pricePerHour: d.PricePerHour, estimate: d.EstimatedCost, placed: r.Allowed,
	}
}

// resultPrinter writes results as they come, so that qm eval keeps no
// object or outcome once printed and runs in memory flat in its input.
type resultPrinter interface {
	add(r evalResult) error
	close() error
}

// newResultPrinter returns the printer of an output format. Printers
// stream: a result is written as it is decided, so a large manifest set
// does not wait for its last object.
func newResultPrinter(w io.Writer, format string, wide bool) resultPrinter {
	switch format {
	case "json":
		return &jsonPrinter{w: w}
	case "yaml":
		return &yamlPrinter{w: w}
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(evalColumns)
		return &csvPrinter{cw: cw}
	}
	p := &tablePrinter{w: w, wide: wide}
	p.start()
	return p
}

// jsonPrinter writes one JSON array, element by element, exactly as one
// indented encoding of the whole list would.
type jsonPrinter struct {
	w io.Writer
	n int
}

// add writes one element of the JSON array, opening it on the first.
func (p *jsonPrinter) add(r evalResult) error {
	js, err := json.MarshalIndent(r, "  ", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", r.Object, err)
	}
	sep := ",\n  "
	if p.n == 0 {
		sep = "[\n  "
	}
	p.n++
	_, err = io.WriteString(p.w, sep+string(js))
	return err
}

// close ends the array; an empty run is [] rather than nothing.
func (p *jsonPrinter) close() error {
	end := "\n]\n"
	if p.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(p.w, end)
	return err
}

// yamlPrinter writes one YAML list, an item at a time.
type yamlPrinter struct{ w io.Writer }

// add writes one YAML document per result.
func (p *yamlPrinter) add(r evalResult) error {
	js, err := json.Marshal([]evalResult{r})
	if err != nil {
		return fmt.Errorf("encoding %s: %w", r.Object, err)
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", r.Object, err)
	}
	_, err = p.w.Write(y)
	return err
}

// close has nothing to end: documents stand alone.
func (p *yamlPrinter) close() error { return nil }

// csvPrinter writes the table's columns as CSV, for spreadsheets.
type csvPrinter struct{ cw *csv.Writer }

// add writes one row, the header first.
func (p *csvPrinter) add(r evalResult) error {
	row := rowOf(r)
	for i, c := range row.cells {
		row.cells[i] = escapeControl(c)
	}
	return p.cw.Write(row.cells)
}

// close flushes and reports a write error csv.Writer kept.
func (p *csvPrinter) close() error {
	p.cw.Flush()
	return p.cw.Error()
}

// tableRowsPerBlock bounds what the table holds to align its columns: a
// long run prints in blocks of this many rows, each aligned on its own.
const tableRowsPerBlock = 1000

// tablePrinter aligns rows in columns and ends with the totals of the
// placed workloads.
type tablePrinter struct {
	w       io.Writer
	wide    bool
	tw      *tabwriter.Writer
	rows    int
	perHour float64
	total   float64
	placed  int
}

// start writes the header once.
func (p *tablePrinter) start() {
	p.tw = tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(p.tw, strings.Join(evalColumns, "\t"))
}

// add writes one row and adds a placed workload to the totals.
func (p *tablePrinter) add(r evalResult) error {
	row := rowOf(r)
	for i, c := range row.cells {
		row.cells[i] = escapeControl(c)
	}
	if last := len(row.cells) - 1; !p.wide {
		row.cells[last] = truncate(row.cells[last], noteWidth)
	}
	fmt.Fprintln(p.tw, strings.Join(row.cells, "\t"))
	if row.placed {
		p.perHour, p.total, p.placed = p.perHour+row.pricePerHour, p.total+row.estimate, p.placed+1
	}
	if p.rows++; p.rows%tableRowsPerBlock == 0 {
		return p.tw.Flush()
	}
	return nil
}

// close writes the TOTAL line: the placed workloads' price per hour, their
// estimated cost, and the monthly run rate at these prices.
func (p *tablePrinter) close() error {
	if p.placed > 0 {
		fmt.Fprintf(p.tw, "TOTAL (%d placed)\t\t\t\t\t\t\t\t%.2f\t%.2f\t$%.2f per month of %d h at these rates\n",
			p.placed, p.perHour, p.total, p.perHour*hoursPerMonth, hoursPerMonth)
	}
	return p.tw.Flush()
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

// truncate cuts a note at n runes with an ellipsis (--wide shows it whole).
func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
