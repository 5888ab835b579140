// Command webhook is Quartermaster's admission webhook: it places GPU
// workloads on the cheapest compliant offer (/mutate) and checks the final
// object (/validate), over HTTPS, with metrics, health probes and a
// hash-chained decision log. See docs/webhook.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/quartermaster-io/quartermaster/internal/policy"
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		// Garbage is per request and the live heap small, so collecting at
		// 4× the live heap, not 2×, trades a few MiB for much GC CPU and the
		// policy latency tail (policy.GCPercent). GOGC, GOMEMLIMIT override.
		debug.SetGCPercent(policy.GCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stderr, run)
	stop()
	os.Exit(code)
}

// runFunc serves with a validated config; injected so that tests can check
// flag parsing without starting servers.
type runFunc func(ctx context.Context, cfg *Config, stderr io.Writer) error

// execute parses args into one Config and runs it: 0 on a clean shutdown,
// 1 on a bad configuration or a failed start.
func execute(ctx context.Context, args []string, stderr io.Writer, run runFunc) int {
	fs := pflag.NewFlagSet("webhook", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := NewConfig()
	cfg.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		return 1
	}
	if err := cfg.Complete(fs, os.LookupEnv); err != nil {
		fmt.Fprintln(stderr, "webhook:", err)
		return 1
	}
	if err := run(ctx, cfg, stderr); err != nil {
		fmt.Fprintln(stderr, "webhook:", err)
		return 1
	}
	return 0
}
