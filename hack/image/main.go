// Command image builds Quartermaster's container image without a Docker daemon (`make image`): static
// (CGO_ENABLED=0) binaries of cmd/webhook, cmd/qm and cmd/auditor at /webhook, /qm, /auditor, on
// an empty base, run as user 65532. It writes an OCI image layout to OUT/image and a `docker save`-style tarball to
// OUT/image.tar, tagged with the chart's default image (values.yaml image.repository, Chart.yaml appVersion), and
// prints the reference, digest and sizes.
//
// --pause builds the sandbox image of the in-cluster e2e's real node instead (hack/pause) into OUT/pause and
// OUT/pause.tar, tagged localhost/quartermaster/pause:1.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "bin", "folder for the layout and the tarball")
	pause := flag.Bool("pause", false, "build the sandbox (pause) image for the e2e's real node instead")
	flag.Parse()
	if err := run(*out, *pause); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}
