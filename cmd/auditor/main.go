// Command auditor is Quartermaster's nightly audit: it scans the clusters
// and cloud accounts of an accounts file (or audits a snapshot of them),
// finds what is non-compliant, wasted, drifted or unbacked, prices it, and
// writes the reports. See docs/auditor.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
