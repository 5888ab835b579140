// Command pause is the sandbox ("pause") container of the in-cluster e2e's real node: it holds a pod's namespaces and
// does nothing until it is told to stop. No image can be pulled there, registry.k8s.io/pause included, so hack/image
// --pause packs this static binary the same way as Quartermaster's own image and hack/node-up.sh imports it.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// As PID 1 of its pod, a signal without a handler would be ignored: handle the ones the runtime stops it with.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
