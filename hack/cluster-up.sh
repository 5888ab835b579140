#!/usr/bin/env bash
# Starts a local Kubernetes control plane on 127.0.0.1 with KWOK fake GPU nodes generated from the catalog:
#   etcd → kube-apiserver → kube-scheduler + kube-controller-manager → kwok → nodes (qm catalog nodes | kubectl apply).
# Stop it with hack/cluster-down.sh (same environment). Tools come from hack/tools.sh.
#
# Usage: hack/cluster-up.sh             a new cluster in a fresh folder
#        hack/cluster-up.sh --restart   start the control plane of an existing folder again after
#                                       `hack/cluster-down.sh --keep-data`: same certificates, token and etcd data (every
#                                       object, the fake nodes and webhook configurations included); nothing is created
#
# Environment (all optional):
#   QM_E2E_PORT_BASE     first port (default 16443; see hack/versions.sh for the layout)
#   QM_CLUSTER_DIR       certs, data, logs, pids and the kubeconfig (default /tmp/quartermaster-cluster-$QM_E2E_PORT_BASE)
#   QM_NODE_REGIONS      comma-separated regions to make fake nodes in ("all" for the whole catalog)
#   QM_NODES_PER_OFFER   fake nodes per offer and capacity type (default 1)
#   QM_CLUSTER_OWNER_PID when set, a watchdog stops the cluster once that process is gone (tests pass their own pid,
#                        so that a killed or timed-out test run never leaves a control plane behind)
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

QM_NODE_REGIONS="${QM_NODE_REGIONS:-us-east-1,eu-west-1,ap-northeast-1,eastus,westeurope,japaneast,us-central1,europe-west4,asia-northeast1}"
QM_NODES_PER_OFFER="${QM_NODES_PER_OFFER:-1}"
QM="${QM:-$REPO_ROOT/bin/qm}"

API_PORT=$QM_E2E_PORT_BASE
ETCD_PORT=$((QM_E2E_PORT_BASE + 1))
ETCD_PEER_PORT=$((QM_E2E_PORT_BASE + 2))
ETCD_METRICS_PORT=$((QM_E2E_PORT_BASE + 3))
SCHEDULER_PORT=$((QM_E2E_PORT_BASE + 4))
CONTROLLER_MANAGER_PORT=$((QM_E2E_PORT_BASE + 5))
KWOK_PORT=$((QM_E2E_PORT_BASE + 6))

DIR=$QM_CLUSTER_DIR
PKI=$DIR/pki
KUBECONFIG_FILE=$DIR/kubeconfig
START=$SECONDS

log() { printf '[cluster-up %3ds] %s\n' "$((SECONDS - START))" "$*" >&2; }

RESTART=false

# On any failure, stop what was started and show the tail of the logs. A failed restart keeps the folder (its data
# is the point of a restart, and the logs say why).
fail() {
	log "FAILED; last log lines:"
	tail -n 15 "$DIR"/logs/*.log >&2 2>/dev/null || true
	if $RESTART; then
		"$REPO_ROOT/hack/cluster-down.sh" --keep-data || true
	else
		"$REPO_ROOT/hack/cluster-down.sh" || true
	fi
}
trap fail ERR

kubectl() { "$QM_TOOLS_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# port_free PORT: nothing listens on 127.0.0.1:PORT (bash's /dev/tcp, so that no extra tool is needed).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME BINARY ARGS...: runs a component in the background, logging to logs/NAME.log, its pid in pids/NAME.
start() {
	local name=$1
	shift
	"$@" >>"$DIR/logs/$name.log" 2>&1 &
	echo $! >"$DIR/pids/$name"
	log "started $name (pid $!)"
}

# wait_for WHAT SECONDS CMD...: retries CMD every 0.2 s until it succeeds; fails after SECONDS.
wait_for() {
	local what=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "timed out waiting for $what"
			return 1
		fi
		sleep 0.2
	done
	log "$what ready"
}

# ensure_openssl: certificates come from openssl, installed from Debian's packages if missing.
ensure_openssl() {
	command -v openssl >/dev/null && return
	log "installing openssl"
	local sudo=""
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	$sudo apt-get update -qq && $sudo apt-get install -y -qq openssl >/dev/null
}

# make_pki: a CA, the apiserver's serving certificate, service-account keys and the admin token.
make_pki() {
	mkdir -p "$PKI"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=quartermaster-local-ca" \
		-keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
	cat >"$PKI/apiserver.ext" <<EXT
subjectAltName = IP:127.0.0.1, IP:10.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage = serverAuth
EXT
	openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
		-keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" 2>/dev/null
	openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 \
		-extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt" 2>/dev/null
	openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
	openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
	# Token auth: one admin in system:masters, used by the components and the tests alike.
	ADMIN_TOKEN=$(openssl rand -hex 24)
	echo "$ADMIN_TOKEN,quartermaster-admin,quartermaster-admin,\"system:masters\"" >"$PKI/tokens.csv"
	chmod 600 "$PKI"/*.key "$PKI/tokens.csv"
}

# write_kubeconfig: the known path every client uses ($QM_CLUSTER_DIR/kubeconfig).
write_kubeconfig() {
	cat >"$KUBECONFIG_FILE" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: quartermaster-local
    cluster:
      server: https://127.0.0.1:$API_PORT
      certificate-authority: $PKI/ca.crt
users:
  - name: quartermaster-admin
    user:
      token: $ADMIN_TOKEN
contexts:
  - name: quartermaster-local
    context: {cluster: quartermaster-local, user: quartermaster-admin}
current-context: quartermaster-local
KUBECONFIG
	chmod 600 "$KUBECONFIG_FILE"
}

# watchdog: stops the cluster when the owner process is gone.
start_watchdog() {
	[[ -n "${QM_CLUSTER_OWNER_PID:-}" ]] || return 0
	(
		trap - ERR
		while kill -0 "$QM_CLUSTER_OWNER_PID" 2>/dev/null && [[ -d "$DIR/pids" ]]; do sleep 2; done
		[[ -d "$DIR/pids" ]] && "$REPO_ROOT/hack/cluster-down.sh"
	) </dev/null >"$DIR/logs/watchdog.log" 2>&1 &
	echo $! >"$DIR/watchdog.pid"
}

# write_kwok_stages: KWOK's default stages, as hack/tools.sh copied them, without the random jitter of the pod stages.
# By default a pod is created, made ready and completed 1 s plus up to 5 s after each previous step, and removed 1 s
# plus up to its whole grace period (30 s) after it was deleted: the way real containers take their time. Nothing
# here tests that; the e2e suite waits for pods to run and for earlier tests' GPU pods to go (they would count against
# its quotas), so here each pod step takes 1 s. The nodes' heartbeats keep their jitter, which spreads the lease
# renewals of hundreds of nodes.
write_kwok_stages() {
	awk '
		function flush() {
			if (doc ~ /\n  name: pod-[a-z-]*\n/) {
				gsub(/\n    jitterDurationMilliseconds: [0-9]+/, "", doc)
				gsub(/\n    jitterDurationFrom:\n      expressionFrom: .\.metadata\.deletionTimestamp./, "", doc)
			}
			printf "%s", doc
			doc = ""
		}
		/^---$/ { flush() }
		{ doc = doc $0 "\n" }
		END { flush() }
	' "$QM_TOOLS_BIN/kwok-stages.yaml" >"$DIR/kwok-stages.yaml"
	if awk '/^---$/ { pod = 0 } /^  name: pod-/ { pod = 1 } pod && /jitterDurationMilliseconds|expressionFrom: .\.metadata\.deletionTimestamp/ { found = 1 } END { exit !found }' "$DIR/kwok-stages.yaml"; then
		log "warning: kwok's pod stages changed shape; pods keep their jitter"
	fi
}

# start_control_plane: etcd → kube-apiserver (waited for) → scheduler, controller-manager, kwok, from the folder's
# certificates and data. Used by a new cluster and by --restart alike, so that both run the same flags.
start_control_plane() {
	start etcd "$QM_TOOLS_BIN/etcd" --name=qm --data-dir="$DIR/etcd" \
		--listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster="qm=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls="http://127.0.0.1:$ETCD_METRICS_PORT" \
		--unsafe-no-fsync --log-level=warn

	# --enable-aggregator-routing: the API server calls a Service-backed webhook (the chart installed in-cluster, on the
	# real node of hack/node-up.sh) at a ready endpoint's address; there is no kube-proxy to route its ClusterIP.
	# --kubelet-preferred-address-types: that node's kubelet (logs, exec, stats) by its address; its name resolves nowhere.
	start kube-apiserver "$QM_TOOLS_BIN/kube-apiserver" \
		--etcd-servers="http://127.0.0.1:$ETCD_PORT" \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
		--tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
		--client-ca-file="$PKI/ca.crt" --token-auth-file="$PKI/tokens.csv" \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
		--service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none \
		--enable-aggregator-routing=true --kubelet-preferred-address-types=InternalIP,Hostname \
		--authorization-mode=Node,RBAC --allow-privileged=true \
		--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultTolerationSeconds,Priority,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy \
		--cert-dir="$DIR/apiserver-certs"
	wait_for "kube-apiserver" 60 kubectl get --raw /readyz

	local component_flags=(--kubeconfig="$KUBECONFIG_FILE" --authentication-kubeconfig="$KUBECONFIG_FILE"
		--authorization-kubeconfig="$KUBECONFIG_FILE" --bind-address=127.0.0.1 --leader-elect=false)
	start kube-scheduler "$QM_TOOLS_BIN/kube-scheduler" "${component_flags[@]}" --secure-port="$SCHEDULER_PORT"
	# --node-monitor-grace-period: KWOK renews hundreds of node leases from one process; on a loaded CI machine a
	# renewal can lag past the default 50 s, and the node lifecycle controller would then mark nodes NotReady and
	# their pods unready. Node failure is not what these clusters test, so allow 5 minutes.
	start kube-controller-manager "$QM_TOOLS_BIN/kube-controller-manager" "${component_flags[@]}" \
		--secure-port="$CONTROLLER_MANAGER_PORT" --node-monitor-grace-period=5m \
		--service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
		--cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
		--controllers='*,-node-ipam-controller'
	write_kwok_stages
	start kwok "$QM_TOOLS_BIN/kwok" --kubeconfig="$KUBECONFIG_FILE" \
		--manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
		--cidr=10.0.0.1/24 --node-ip=10.0.0.1 --server-address="127.0.0.1:$KWOK_PORT" \
		--config="$DIR/kwok-stages.yaml"
}

# check_tools: every binary the cluster runs is in $QM_TOOLS_BIN.
check_tools() {
	local tool
	for tool in etcd kube-apiserver kube-scheduler kube-controller-manager kubectl kwok kwok-stages.yaml; do
		[[ -e "$QM_TOOLS_BIN/$tool" ]] || { log "$QM_TOOLS_BIN/$tool is missing: run make tools-cluster"; exit 1; }
	done
}

# check_ports: every port of the layout is free (a busy one is someone else's: stop rather than fight over it).
check_ports() {
	local port
	for port in $API_PORT $ETCD_PORT $ETCD_PEER_PORT $ETCD_METRICS_PORT $SCHEDULER_PORT $CONTROLLER_MANAGER_PORT $KWOK_PORT; do
		port_free "$port" || { log "port $port is in use: choose another QM_E2E_PORT_BASE"; exit 1; }
	done
}

# restart: the control plane of an existing folder, stopped by `cluster-down.sh --keep-data`, started again.
restart() {
	RESTART=true
	check_tools
	if [[ ! -f "$KUBECONFIG_FILE" || ! -d "$DIR/etcd/member" || ! -f "$PKI/ca.crt" ]]; then
		trap - ERR
		log "no stopped cluster in $DIR to restart (want its kubeconfig, pki and etcd data): run cluster-up.sh"
		exit 1
	fi
	local pidfile
	for pidfile in "$DIR"/pids/*; do
		[[ -f "$pidfile" ]] || continue
		if kill -0 "$(<"$pidfile")" 2>/dev/null; then
			trap - ERR
			log "$(basename "$pidfile") is still running (pid $(<"$pidfile")): stop it first with cluster-down.sh --keep-data"
			exit 1
		fi
		rm -f "$pidfile"
	done
	check_ports
	mkdir -p "$DIR/pids"
	START=$SECONDS
	# The watchdog normally survives a --keep-data stop; start one if it did not.
	if [[ ! -f "$DIR/watchdog.pid" ]] || ! kill -0 "$(<"$DIR/watchdog.pid")" 2>/dev/null; then
		start_watchdog
	fi
	start_control_plane
	# The scheduler and controller-manager serve their secure ports once they run; the nodes kept their Ready
	# condition (KWOK resumes their leases, and the grace period is 5 minutes).
	wait_for "kube-scheduler port" 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SCHEDULER_PORT"
	wait_for "kube-controller-manager port" 60 bash -c "exec 3<>/dev/tcp/127.0.0.1/$CONTROLLER_MANAGER_PORT"
	wait_for "default service account" 60 kubectl get serviceaccount default -n default
	trap - ERR
	log "control plane restarted in $((SECONDS - START)) s; export KUBECONFIG=$KUBECONFIG_FILE"
}

main() {
	case "${1:-}" in
	"") ;;
	--restart)
		restart
		return
		;;
	*)
		trap - ERR
		log "unknown argument $1: want none or --restart"
		exit 1
		;;
	esac
	check_tools
	[[ -x "$QM" ]] || (cd "$REPO_ROOT" && go build -o "$QM" ./cmd/qm)
	ensure_openssl

	# A previous cluster in the same folder (a crashed run) is stopped first; busy ports are someone else's: stop.
	[[ -d "$DIR/pids" ]] && "$REPO_ROOT/hack/cluster-down.sh"
	check_ports
	rm -rf "$DIR" && mkdir -p "$DIR/logs" "$DIR/pids" "$DIR/etcd"
	START=$SECONDS
	make_pki
	write_kubeconfig
	start_watchdog

	start_control_plane

	# Fake GPU nodes from the catalog itself, so that fleet and catalog cannot disagree.
	local regions=()
	[[ "$QM_NODE_REGIONS" == all ]] || regions=(--region "$QM_NODE_REGIONS")
	"$QM" catalog nodes "${regions[@]}" --count "$QM_NODES_PER_OFFER" | kubectl apply -f - >/dev/null
	local nodes
	nodes=$(kubectl get nodes -l app.kubernetes.io/managed-by=quartermaster-fakenode -o name | wc -l)
	log "created $nodes fake GPU nodes"
	kubectl wait --for=condition=Ready node -l app.kubernetes.io/managed-by=quartermaster-fakenode --timeout=120s >/dev/null
	log "all $nodes nodes Ready"
	# Pods need their namespace's default service account, which the controller-manager creates.
	wait_for "default service account" 60 kubectl get serviceaccount default -n default

	trap - ERR
	log "cluster up in $((SECONDS - START)) s; export KUBECONFIG=$KUBECONFIG_FILE"
}

main "$@"
