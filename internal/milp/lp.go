package milp

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// LPNames labels the items, options and resources of an exported model in
// comments, so that a reader of the file (or of CBC's solution) can tell
// what each variable stands for; any func may be nil.
type LPNames struct {
	Item     func(i int) string
	Option   func(i, j int) string
	Resource func(r int) string
}

// presolvedHeader is the comment that marks an exported presolved model.
var presolvedHeader = []string{
	"After Quartermaster's exact presolve: options that cannot be in any optimum are removed",
	"(those that overflow their quota alone, those dominated in cost and GPUs within their quota,",
	"and those costing no less than the gang's cheapest option on a quota that cannot bind).",
	"Its optimum equals the full model's; variable names keep the full model's option numbers.",
}

// lpVar is the variable name of option j of item i.
func lpVar(i, j int) string { return "x" + strconv.Itoa(i) + "_" + strconv.Itoa(j) }

// WriteLP writes the problem in CPLEX LP format (read by CBC, GLPK's glpsol
// --lp, HiGHS, Gurobi and CPLEX): variable x<i>_<j> is option j of item i.
// Items without options get an infeasible row, as they are infeasible.
func WriteLP(w io.Writer, p *Problem, names LPNames) error {
	return writeLP(w, p, names, nil, nil)
}

// WritePresolvedLP writes the problem after the exact presolve of Solve,
// the instance the search actually works on, so that another solver can be
// compared on the same instance: a header says so, and variable names and
// the Option labels keep the full problem's option numbers. Its optimum
// equals the full problem's.
func WritePresolvedLP(w io.Writer, p *Problem, names LPNames) error {
	q, keep := presolved(p)
	if full := names.Option; full != nil {
		names.Option = func(i, j int) string { return full(i, keep[i][j]) }
	}
	return writeLP(w, q, names, presolvedHeader, func(i, j int) int { return keep[i][j] })
}

// writeLP writes p with extra header comment lines; index gives the option
// number used in the variable name of option j of item i (nil: j).
func writeLP(w io.Writer, p *Problem, names LPNames, header []string, index func(i, j int) int) error {
	bw := bufio.NewWriter(w)
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	fmt.Fprintln(bw, `\ Quartermaster batch placement: each item takes exactly one option,`)
	fmt.Fprintln(bw, `\ options of a quota resource together use at most its capacity.`)
	for _, h := range header {
		fmt.Fprintln(bw, `\ `+h)
	}
	varName := func(i, j int) string {
		if index != nil {
			j = index(i, j)
		}
		return lpVar(i, j)
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
