#!/usr/bin/env bash
# Stops the real node started by hack/node-up.sh (same environment) and removes everything it made: the kubelet, every
# container still running (their shims outlive containerd), containerd, the mounts under the node's folder, the pods'
# cgroups under /qm-node-$QM_E2E_PORT_BASE, the node's bridge and network namespaces, the Node object, the folder.
# Only the processes whose pids node-up recorded are signalled: never anything found by name.
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

DIR=$QM_CLUSTER_DIR
NODE_DIR=$DIR/node
QM_NODE_NAME="${QM_NODE_NAME:-qm-node}"
SOCK=$NODE_DIR/containerd/containerd.sock
log() { printf '[node-down] %s\n' "$*" >&2; }

[[ -d "$NODE_DIR" ]] || exit 0

# stop NAME: SIGTERM, then SIGKILL after 10 s.
stop() {
	local pidfile=$NODE_DIR/pids/$1 pid
	[[ -f "$pidfile" ]] || return 0
	pid=$(<"$pidfile")
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$pid" 2>/dev/null && log "killed $1 (pid $pid) after 10 s"
	fi
	rm -f "$pidfile"
	log "stopped $1"
}

stop kubelet
# Containers and their shims outlive containerd: kill and delete every task while containerd still answers.
if [[ -S "$SOCK" ]] && kill -0 "$(cat "$NODE_DIR/pids/containerd" 2>/dev/null)" 2>/dev/null; then
	for task in $(ctr --address "$SOCK" --namespace k8s.io tasks ls -q 2>/dev/null); do
		ctr --address "$SOCK" --namespace k8s.io tasks kill --signal SIGKILL "$task" >/dev/null 2>&1 || true
	done
	sleep 1
	for task in $(ctr --address "$SOCK" --namespace k8s.io tasks ls -q 2>/dev/null); do
		ctr --address "$SOCK" --namespace k8s.io tasks delete --force "$task" >/dev/null 2>&1 || true
	done
fi
stop containerd
# Volumes the kubelet mounted (secrets, projected tokens) and rootfs overlays, deepest first.
awk -v root="$NODE_DIR/" 'index($2, root) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r mnt; do
	umount -l "$mnt" 2>/dev/null || true
done
# The pods' cgroups (node-up.sh gave the kubelet its own root in every hierarchy), deepest first.
for h in /sys/fs/cgroup/*/; do
	[[ -d "${h}qm-node-$QM_E2E_PORT_BASE" ]] && find "${h}qm-node-$QM_E2E_PORT_BASE" -depth -type d -exec rmdir {} + 2>/dev/null || true
done
# The kubelet's links to containers' logs (its /var/log/containers is fixed) that point into the node's folder.
find /var/log/containers -maxdepth 1 -lname "$NODE_DIR/*" -delete 2>/dev/null || true
bridge=qmbr$((QM_E2E_PORT_BASE % 10000))
ip link show "$bridge" >/dev/null 2>&1 && ip link delete "$bridge" 2>/dev/null || true
# The Node object, so that the scheduler stops considering it (the control plane may already be gone).
if [[ -f "$DIR/kubeconfig" ]]; then
	"$QM_TOOLS_BIN/kubectl" --kubeconfig "$DIR/kubeconfig" delete node "$QM_NODE_NAME" --ignore-not-found --wait=false \
		--request-timeout=5s >/dev/null 2>&1 || true
fi
if [[ "${QM_KEEP_CLUSTER_DIR:-}" == 1 ]]; then
	log "kept $NODE_DIR"
else
	rm -rf "$NODE_DIR"
fi
log "node $QM_NODE_NAME down"
