package placement

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// LPNames labels the rows of an exported model in comments; any func may
// be nil.
type LPNames struct {
	Item     func(i int) string
	Option   func(i, j int) string
	Resource func(r int) string
	// Header holds extra comment lines for the top of the file.
	Header []string
	// Index gives the option number used in the variable name of option j
	// of item i (nil: j), so that a presolved model keeps the full model's
	// variable names.
	Index func(i, j int) int
}

// PresolvedHeader is the comment that marks an exported presolved model.
var PresolvedHeader = []string{
	"After Quartermaster's exact presolve: options that cannot be in any optimum are removed",
	"(those that overflow their quota alone, those dominated in cost and GPUs within their quota,",
	"and those costing no less than the gang's cheapest option on a quota that cannot bind).",
	"Its optimum equals the full model's; variable names keep the full model's option numbers.",
}

// LPVar is the variable name WriteLP gives option j of item i.
func LPVar(i, j int) string { return "x" + strconv.Itoa(i) + "_" + strconv.Itoa(j) }

// WriteLP writes the problem in CPLEX LP format (read by CBC, GLPK's glpsol
// --lp, HiGHS, Gurobi and CPLEX). Items without options get an infeasible
// row, as they are infeasible.
func WriteLP(w io.Writer, p *Problem, names LPNames) error {
	bw := bufio.NewWriter(w)
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	fmt.Fprintln(bw, `\ Quartermaster batch placement: each item takes exactly one option,`)
	fmt.Fprintln(bw, `\ options of a quota resource together use at most its capacity.`)
	for _, h := range names.Header {
		fmt.Fprintln(bw, `\ `+h)
	}
	varName := func(i, j int) string {
		if names.Index != nil {
			j = names.Index(i, j)
		}
		return LPVar(i, j)
	}
	if names.Item != nil || names.Option != nil {
		for i, it := range p.Items {
			if names.Item != nil {
				fmt.Fprintf(bw, "\\ item %d: %s\n", i, names.Item(i))
			}
			if names.Option != nil {
				for j := range it.Options {
					fmt.Fprintf(bw, "\\   %s: %s\n", varName(i, j), names.Option(i, j))
				}
			}
		}
	}
	fmt.Fprintln(bw, "Minimize")
	bw.WriteString(" cost:")
	terms := 0
	term := func(coef float64, v string) {
		if terms > 0 && terms%8 == 0 {
			bw.WriteString("\n  ")
		}
		if coef < 0 {
			bw.WriteString(" - " + num(-coef) + " " + v)
		} else {
			bw.WriteString(" + " + num(coef) + " " + v)
		}
		terms++
	}
	for i, it := range p.Items {
		for j, o := range it.Options {
			term(o.Cost, varName(i, j))
		}
	}
	if terms == 0 {
		bw.WriteString(" 0 dummy")
	}
	bw.WriteString("\nSubject To\n")
	for i, it := range p.Items {
		fmt.Fprintf(bw, " one_%d:", i)
		terms = 0
		for j := range it.Options {
			term(1, varName(i, j))
		}
		if terms == 0 {
			bw.WriteString(" 0 dummy >= 1\n")
			continue
		}
		bw.WriteString(" = 1\n")
	}
	byRes := make([][][2]int, len(p.Capacity))
	for i, it := range p.Items {
		for j, o := range it.Options {
			if o.Resource >= 0 {
				byRes[o.Resource] = append(byRes[o.Resource], [2]int{i, j})
			}
		}
	}
	for r, ij := range byRes {
		if len(ij) == 0 {
			continue
		}
		if names.Resource != nil {
			fmt.Fprintf(bw, "\\ quota_%d: %s\n", r, names.Resource(r))
		}
		fmt.Fprintf(bw, " quota_%d:", r)
		terms = 0
		for _, v := range ij {
			term(p.Items[v[0]].Options[v[1]].Use, varName(v[0], v[1]))
		}
		fmt.Fprintf(bw, " <= %s\n", num(p.Capacity[r]))
	}
	bw.WriteString("Binary\n")
	terms = 0
	for i, it := range p.Items {
		for j := range it.Options {
			if terms > 0 && terms%12 == 0 {
				bw.WriteString("\n")
			}
			bw.WriteString(" " + varName(i, j))
			terms++
		}
	}
	bw.WriteString("\nEnd\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing LP model: %w", err)
	}
	return nil
}

// Presolved returns the problem after the exact presolve of Solve: the same
// items, resources and capacities, with only the options that can be in some
// optimum (see solver.presolve). Keep[i][k] is the index in p.Items[i] of
// the reduced item's option k. Exporting this instead of p gives another
// solver the instance ours actually searches.
func Presolved(p *Problem) (q *Problem, keep [][]int) {
	s := newSolver(context.Background(), p, Limits{})
	s.presolve()
	q = &Problem{Items: make([]Item, len(p.Items)), Capacity: slices.Clone(p.Capacity)}
	keep = make([][]int, len(p.Items))
	for i, os := range s.opts {
		keep[i] = slices.Sorted(slices.Values(os))
		for _, j := range keep[i] {
			q.Items[i].Options = append(q.Items[i].Options, p.Items[i].Options[j])
		}
	}
	return q, keep
}
