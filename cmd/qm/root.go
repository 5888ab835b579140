package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes of contract 4.5.
const (
	exitOK          = 0
	exitInput       = 1
	exitDenied      = 2
	exitNoPlacement = 3
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

// Error is the underlying error's message.
func (e *exitError) Error() string { return e.err.Error() }

// Unwrap gives errors.Is and errors.As the underlying error.
func (e *exitError) Unwrap() error { return e.err }

// quiet is an exit with a code but no message: the output already says it.
type quiet struct{ code int }

// Error is never printed: the output already said why.
func (q quiet) Error() string { return fmt.Sprintf("exit %d", q.code) }

// streams are the command's standard streams, injected for tests.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// run executes qm with args and returns the process exit code.
func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	s := streams{in: in, out: out, err: errOut}
	root := newRootCommand(s)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var q quiet
	if errors.As(err, &q) {
		return q.code
	}
	fmt.Fprintln(errOut, "qm:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitInput
}

// newRootCommand wires every qm command; errors are printed once, by run,
// with the exit code they carry.
func newRootCommand(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "qm",
		Short:         "Quartermaster offline: admission decisions, placement and catalogs for GPU workloads",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newEvalCommand(s), newCatalogCommand(s), newOptimizeCommand(s), newSizeCommand(s), newTestCommand(s), newLogCommand(s))
	return root
}
