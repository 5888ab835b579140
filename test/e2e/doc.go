// Package e2e holds the end-to-end tests against a real control plane: etcd,
// kube-apiserver, kube-scheduler, kube-controller-manager and KWOK fake GPU
// nodes generated from the catalog, started on 127.0.0.1 by hack/cluster-up.sh,
// and driven with the real kubectl and helm binaries.
//
// The tests carry the build tag e2e: `make e2e` (part of `make test`) builds
// the tools they need first (hack/tools.sh) and then runs them; plain
// `go test ./...` does not compile them. TestMain starts one cluster for the
// package and always stops it, also when a test fails or the run is killed
// (a watchdog in cluster-up.sh follows the test process).
//
// Environment: QM_TOOLS_BIN (the tools, default .cache/bin of the repository),
// QM_E2E_PORT_BASE (default 16443; the cluster uses base..base+6, webhooks on
// the host base+10..), QM_KEEP_CLUSTER_DIR=1 to keep logs after the run.
package e2e
