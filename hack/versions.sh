# shellcheck shell=bash
# Versions and folders of the local control plane, shared by every hack/ script.
# Sourced, never run.

# Versions live in hack/tools/go.mod, the one module all the tools are built from (Renovate and `go get` can bump them
# there). Read with sed, not `go list -m`, so that sourcing this file never touches the network.
TOOLS_MODULE="$(cd "$(dirname "${BASH_SOURCE[0]}")/tools" && pwd)"
tools_version() { sed -n "s#^[[:space:]]*$1 \(v[^ ]*\)\( // indirect\)\{0,1\}\$#\1#p" "$TOOLS_MODULE/go.mod" | head -n 1; }
K8S_VERSION="$(tools_version k8s.io/kubernetes)"   # kube-apiserver, scheduler, controller-manager, kubectl
ETCD_VERSION="$(tools_version go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(tools_version sigs.k8s.io/kwok)"
HELM_VERSION="$(tools_version helm.sh/helm/v3)"
# MinIO, the S3 server of the S3 adapters' tests (make test-minio), is built by hack/tools.sh on its own with
# `go install module@version`, from its own go.mod: it shares nothing worth sharing with the cluster tools, and its
# dependencies would fight theirs in one module. AGPLv3: a tool built at test time, never vendored, no code copied.
# The module has no semver tags (its releases are RELEASE.<date> tags), so it is pinned to a commit's pseudo-version.
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"

# Built tools live outside the worktree, in one folder per content of hack/tools (go.mod, go.sum, the mains) and Go
# version, so that every worktree, branch and CI rerun on this machine shares one build (the cold build takes minutes;
# see docs/operators.md), and any change to the module builds afresh.
QM_TOOLS_DIR="${QM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quartermaster/tools}"

# Each worktree gets a folder of symlinks to the versions it pins: tests and scripts look only here.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QM_TOOLS_BIN="${QM_TOOLS_BIN:-$REPO_ROOT/.cache/bin}"

# The local cluster. Ports are counted from one base so that several clusters (other worktrees, other engineers' tests)
# can run on one machine side by side: apiserver = base, etcd client = base+1, etcd peer = base+2, etcd metrics =
# base+3, scheduler = base+4, controller-manager = base+5, kwok = base+6; base+10.. are left for webhooks in tests.
QM_E2E_PORT_BASE="${QM_E2E_PORT_BASE:-16443}"
# Everything a cluster writes (certs, etcd data, logs, pid files, the kubeconfig) lives in one folder.
QM_CLUSTER_DIR="${QM_CLUSTER_DIR:-${TMPDIR:-/tmp}/quartermaster-cluster-$QM_E2E_PORT_BASE}"
