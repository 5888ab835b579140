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

// main runs the auditor; SIGTERM (a Job's deadline, a drained node) cancels
// the run, and a scan with --checkpoint resumes where it stopped.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
