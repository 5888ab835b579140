// Command qm is Quartermaster's offline CLI: the webhook's decisions, the
// optimizer and the catalog tools on a laptop, for policy authors and FinOps.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
