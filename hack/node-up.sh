#!/usr/bin/env bash
# Starts one real node beside the KWOK nodes of a cluster started by hack/cluster-up.sh (same environment): Debian's
# containerd and runc (installed with apt if missing) with a configuration of our own, the sandbox image and the given
# images imported into its k8s.io namespace, and the real kubelet (built by hack/tools.sh) registered as node
# $QM_NODE_NAME. Pods that the scheduler puts there really run. Stop it with hack/node-down.sh (cluster-down.sh does).
#
# Usage: hack/node-up.sh [IMAGE.tar...]   images (`docker save`-style or OCI archives, e.g. bin/image.tar) to import
#
# Environment (besides cluster-up.sh's):
#   QM_NODE_NAME   the node's name (default qm-node)
#   QM_NODE_IP     the address it registers and the kubelet serves on (default: the first global IPv4 address; a
#                  kubelet refuses loopback)
#
# What the node is, and why (measured on the development VM: cgroup v1 hierarchies with a cgroup2 mount beside them,
# root with every capability, no systemd, no image registry reachable):
#   - root here lacks CAP_SYS_RESOURCE (CapEff 0x1fffeffffff): containerd restricts oom_score_adj to its own
#     (restrict_oom_score_adj), else runc cannot start any sandbox (see containerd_config);
#   - the kubelet accepts cgroup v1 (failCgroupV1: false; 1.35+ refuse it otherwise), tolerates swap, and uses the
#     cgroupfs driver, as containerd's runc does (SystemdCgroup = false): there is no systemd to delegate to. Pods'
#     cgroups live under /qm-node-$QM_E2E_PORT_BASE in every hierarchy, removed by node-down.sh;
#   - the sandbox ("pause") image cannot be pulled: hack/image --pause builds one (a static Go binary that waits for
#     SIGTERM) and containerd's sandbox_image names it;
#   - a CNI configuration (bridge + host-local from Debian's containernetworking-plugins) makes the runtime's network
#     ready, without which the node stays NotReady; pods that must reach the API server (bound to 127.0.0.1) use the
#     host's network;
#   - the node is tainted quartermaster.io/real-node=true:NoSchedule so that only pods that tolerate it run there: the
#     e2e suite's other pods use images that exist nowhere and belong on KWOK nodes;
#   - the kubelet serves its API (logs, exec) on $QM_NODE_IP:base+7 without authentication (a test VM; the API server
#     has no kubelet client certificate), healthz on 127.0.0.1:base+8.
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

DIR=$QM_CLUSTER_DIR
NODE_DIR=$DIR/node
QM_NODE_NAME="${QM_NODE_NAME:-qm-node}"
KUBELET_PORT=$((QM_E2E_PORT_BASE + 7))
KUBELET_HEALTHZ_PORT=$((QM_E2E_PORT_BASE + 8))
CGROUP_ROOT=/qm-node-$QM_E2E_PORT_BASE
SOCK=$NODE_DIR/containerd/containerd.sock
PAUSE_REF=localhost/quartermaster/pause:1
START=$SECONDS

log() { printf '[node-up %3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }

fail() {
	log "FAILED; last log lines:"
	tail -n 25 "$NODE_DIR"/logs/*.log >&2 2>/dev/null || true
	"$REPO_ROOT/hack/node-down.sh" || true
}
trap fail ERR

ctr() { command ctr --address "$SOCK" --namespace k8s.io "$@"; }
kubectl() { "$QM_TOOLS_BIN/kubectl" --kubeconfig "$DIR/kubeconfig" "$@"; }

wait_for() {
	local what=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "timed out waiting for $what"
			return 1
		fi
		sleep 0.5
	done
	log "$what ready"
}

# ensure_packages: containerd 1.6 (with ctr), runc 1.1 and the CNI plugins, from Debian, when missing.
ensure_packages() {
	local missing=""
	command -v containerd >/dev/null || missing+=" containerd"
	command -v runc >/dev/null || missing+=" runc"
	[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=" containernetworking-plugins"
	[[ -n "$missing" ]] || return 0
	log "installing$missing"
	local sudo=""
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# node_pki: the kubelet's client certificate (system:node:NAME in system:nodes, so that the Node authorizer lets it
# manage exactly its own node and pods) signed by the cluster's CA, and its kubeconfig.
node_pki() {
	local pki=$NODE_DIR/pki
	mkdir -p "$pki"
	openssl req -newkey rsa:2048 -nodes -subj "/O=system:nodes/CN=system:node:$QM_NODE_NAME" \
		-keyout "$pki/kubelet.key" -out "$pki/kubelet.csr" 2>/dev/null
	printf 'extendedKeyUsage = clientAuth\n' >"$pki/kubelet.ext"
	openssl x509 -req -in "$pki/kubelet.csr" -CA "$DIR/pki/ca.crt" -CAkey "$DIR/pki/ca.key" -CAcreateserial -days 30 \
		-extfile "$pki/kubelet.ext" -out "$pki/kubelet.crt" 2>/dev/null
	local server
	server=$(sed -n 's/^ *server: //p' "$DIR/kubeconfig")
	cat >"$NODE_DIR/kubelet.kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: local
    cluster: {server: "$server", certificate-authority: "$DIR/pki/ca.crt"}
users:
  - name: kubelet
    user: {client-certificate: "$pki/kubelet.crt", client-key: "$pki/kubelet.key"}
contexts:
  - name: local
    context: {cluster: local, user: kubelet}
current-context: local
KUBECONFIG
	chmod 600 "$NODE_DIR/kubelet.kubeconfig" "$pki/kubelet.key"
}

# containerd_config: everything under $NODE_DIR (root, state, socket), so that it touches nothing of the host's.
containerd_config() {
	mkdir -p "$NODE_DIR/containerd/root" "$NODE_DIR/containerd/state" "$NODE_DIR/cni/net.d"
	cat >"$NODE_DIR/containerd/config.toml" <<TOML
version = 2
root = "$NODE_DIR/containerd/root"
state = "$NODE_DIR/containerd/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$NODE_DIR/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_REF"
  # This VM's root lacks CAP_SYS_RESOURCE, so no process may lower its oom_score_adj: runc would fail to give the
  # sandbox the CRI's -998 (or a Guaranteed pod -997) with "can't get final child's PID from pipe: EOF" (runc --debug:
  # "failed to update /proc/self/oom_score_adj: Permission denied"). Restricted, they stay at containerd's own (0).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$NODE_DIR/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
TOML
	# Pod network: a bridge of its own with host-local addresses, no masquerading (nothing here leaves the host).
	local bridge=qmbr$((QM_E2E_PORT_BASE % 10000))
	cat >"$NODE_DIR/cni/net.d/10-qm.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "qm-pods",
  "plugins": [
    {"type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.$((QM_E2E_PORT_BASE % 250)).0/24"}]],
              "dataDir": "$NODE_DIR/cni/ipam"}},
    {"type": "loopback"}
  ]
}
JSON
}

# kubelet_config: see the header for why each choice.
kubelet_config() {
	mkdir -p "$NODE_DIR/kubelet"
	cat >"$NODE_DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
cgroupRoot: $CGROUP_ROOT
containerRuntimeEndpoint: unix://$SOCK
address: $QM_NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
registerWithTaints:
  - {key: quartermaster.io/real-node, value: "true", effect: NoSchedule}
# A shared development machine's disk and memory are not this node's to police.
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
resolvConf: /etc/resolv.conf
# Containers' logs in the node's folder, not the host's /var/log/pods (only /var/log/containers' links are fixed).
podLogsDir: $NODE_DIR/pod-logs
YAML
}

# cgroup_root: the kubelet wants its --cgroup-root to exist in every hierarchy.
cgroup_root() {
	local h
	for h in /sys/fs/cgroup/*/; do
		[[ -d "$h" && -w "$h" ]] || continue
		mkdir -p "$h${CGROUP_ROOT#/}"
	done
}

main() {
	[[ -f "$DIR/kubeconfig" && -f "$DIR/pki/ca.key" ]] || { trap - ERR; log "no cluster in $DIR: run cluster-up.sh first"; exit 1; }
	[[ -x "$QM_TOOLS_BIN/kubelet" ]] || { trap - ERR; log "$QM_TOOLS_BIN/kubelet is missing: run make tools-cluster"; exit 1; }
	[[ -d "$NODE_DIR/pids" ]] && "$REPO_ROOT/hack/node-down.sh"
	if [[ -z "${QM_NODE_IP:-}" ]]; then
		QM_NODE_IP=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }' || true)
		[[ -n "$QM_NODE_IP" ]] || QM_NODE_IP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.' || true)
	fi
	[[ -n "$QM_NODE_IP" ]] || { trap - ERR; log "no global IPv4 address for the kubelet: set QM_NODE_IP"; exit 1; }
	ensure_packages
	mkdir -p "$NODE_DIR/logs" "$NODE_DIR/pids"
	START=$SECONDS
	node_pki
	containerd_config
	kubelet_config
	cgroup_root

	containerd --config "$NODE_DIR/containerd/config.toml" >>"$NODE_DIR/logs/containerd.log" 2>&1 &
	echo $! >"$NODE_DIR/pids/containerd"
	log "started containerd $(containerd --version | awk '{print $3}') (pid $!), runc $(runc --version | awk 'NR==1 {print $3}')"
	wait_for containerd 30 ctr version

	# The sandbox image first (no node can run a pod without it), then the caller's.
	local pause_out
	pause_out=$(mktemp -d)
	(cd "$REPO_ROOT" && go run ./hack/image --pause --out "$pause_out" >/dev/null)
	local archive
	for archive in "$pause_out/pause.tar" "$@"; do
		ctr images import "$archive" >/dev/null
		log "imported $archive"
	done
	rm -rf "$pause_out"

	"$QM_TOOLS_BIN/kubelet" --config="$NODE_DIR/kubelet.yaml" --kubeconfig="$NODE_DIR/kubelet.kubeconfig" \
		--root-dir="$NODE_DIR/kubelet" --cert-dir="$NODE_DIR/pki" --hostname-override="$QM_NODE_NAME" \
		--node-ip="$QM_NODE_IP" --node-labels="quartermaster.io/real-node=true" --v=2 \
		>>"$NODE_DIR/logs/kubelet.log" 2>&1 &
	echo $! >"$NODE_DIR/pids/kubelet"
	log "started kubelet $("$QM_TOOLS_BIN/kubelet" --version | awk '{print $2}') (pid $!) as node $QM_NODE_NAME on $QM_NODE_IP"
	wait_for "node $QM_NODE_NAME registered" 60 kubectl get node "$QM_NODE_NAME"
	kubectl wait --for=condition=Ready "node/$QM_NODE_NAME" --timeout=120s >/dev/null
	trap - ERR
	log "node $QM_NODE_NAME Ready in $((SECONDS - START)) s"
}

main "$@"
