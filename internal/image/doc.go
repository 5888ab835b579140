// Package image assembles Quartermaster's container image without a Docker daemon, with go-containerregistry: static
// binaries on an empty base (no shell, no package manager, no libc), owned by root and run as the non-root user
// 65532, written as an OCI image layout (a directory) and as a `docker save`-style tarball that `ctr images import`,
// `docker load` and `crane push` all read.
//
// It is part of no admission or audit flow: hack/image builds the binaries and calls Build, WriteLayout and
// WriteTarball; the tests read the result back with Inspect. The image is reproducible: every timestamp is fixed, so
// the same binaries give the same digest.
package image
