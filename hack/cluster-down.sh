#!/usr/bin/env bash
# Stops the local cluster started by hack/cluster-up.sh (same environment) and removes its folder.
# Only the processes whose pids cluster-up recorded are stopped: never anything found by name.
# QM_KEEP_CLUSTER_DIR=1 keeps the folder (logs, etcd data) for a post-mortem.
#
# Usage: hack/cluster-down.sh              stop everything and remove the folder
#        hack/cluster-down.sh --keep-data  stop the control plane's processes only: the folder (certificates, etcd data,
#                                          kubeconfig, logs) and the watchdog stay, for `hack/cluster-up.sh --restart`
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

DIR=$QM_CLUSTER_DIR
log() { printf '[cluster-down] %s\n' "$*" >&2; }

# stop NAME: SIGTERM, then SIGKILL after 10 s.
stop() {
	local pidfile=$DIR/pids/$1 pid start=$SECONDS
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
	log "stopped $1 ($((SECONDS - start)) s)"
}

KEEP_DATA=false
case "${1:-}" in
"") ;;
--keep-data) KEEP_DATA=true ;;
*)
	log "unknown argument $1: want none or --keep-data"
	exit 1
	;;
esac

[[ -d "$DIR" ]] || exit 0
# A real node (hack/node-up.sh) first: its kubelet talks to the apiserver, and its containers outlive containerd.
[[ -d "$DIR/node" ]] && "$(dirname "${BASH_SOURCE[0]}")/node-down.sh"
# Reverse start order: clients before the apiserver, the apiserver before etcd.
for name in kwok kube-controller-manager kube-scheduler kube-apiserver etcd; do
	stop "$name"
done
if $KEEP_DATA; then
	log "control plane stopped; $DIR kept for cluster-up.sh --restart"
	exit 0
fi
rmdir "$DIR/pids" 2>/dev/null || true
# The watchdog, unless it is the one running us.
if [[ -f "$DIR/watchdog.pid" ]]; then
	pid=$(<"$DIR/watchdog.pid")
	[[ "$pid" == "$PPID" ]] || kill "$pid" 2>/dev/null || true
fi
if [[ "${QM_KEEP_CLUSTER_DIR:-}" == 1 ]]; then
	log "kept $DIR"
else
	rm -rf "$DIR"
fi
