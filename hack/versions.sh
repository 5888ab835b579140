# shellcheck shell=bash
# Versions and folders of the local control plane, shared by every hack/ script.
# Sourced, never run. Change a version here and the next `make tools-cluster` rebuilds only that tool.

K8S_VERSION="${K8S_VERSION:-v1.34.4}"     # kube-apiserver, scheduler, controller-manager, kubectl
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"

# Built tools live outside the worktree, one folder per tool and version, so that every worktree, branch and CI rerun
# on this machine shares one build (the cold build takes minutes; see docs/operators.md).
QM_TOOLS_DIR="${QM_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/quartermaster/tools}"

# Each worktree gets a folder of symlinks to the versions it pins: tests and scripts look only here.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QM_TOOLS_BIN="${QM_TOOLS_BIN:-$REPO_ROOT/.cache/bin}"

K8S_DIR="$QM_TOOLS_DIR/k8s-$K8S_VERSION"
ETCD_DIR="$QM_TOOLS_DIR/etcd-$ETCD_VERSION"
KWOK_DIR="$QM_TOOLS_DIR/kwok-$KWOK_VERSION"
HELM_DIR="$QM_TOOLS_DIR/helm-$HELM_VERSION"

# The local cluster. Ports are counted from one base so that several clusters (other worktrees, other engineers' tests)
# can run on one machine side by side: apiserver = base, etcd client = base+1, etcd peer = base+2, etcd metrics =
# base+3, scheduler = base+4, controller-manager = base+5, kwok = base+6; base+10.. are left for webhooks in tests.
QM_E2E_PORT_BASE="${QM_E2E_PORT_BASE:-16443}"
# Everything a cluster writes (certs, etcd data, logs, pid files, the kubeconfig) lives in one folder.
QM_CLUSTER_DIR="${QM_CLUSTER_DIR:-${TMPDIR:-/tmp}/quartermaster-cluster-$QM_E2E_PORT_BASE}"
