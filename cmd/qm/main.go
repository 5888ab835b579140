// Command qm is Quartermaster's offline CLI: the webhook's decisions, the
// optimizer and the catalog tools on a laptop, for policy authors and FinOps.
package main

import (
	"context"
	"os"
	"os/signal"
)

// main runs qm with the process's arguments and streams; an interrupt
// cancels the context, so a long optimize or refresh stops cleanly.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
