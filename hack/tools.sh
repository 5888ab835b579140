#!/usr/bin/env bash
# Builds the local control plane's tools from the Go module proxy into a cached folder:
#   etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kubectl, kubelet (the in-cluster e2e's one real
#   node), kwok (+ its default stages), helm.
# They all come from one module, hack/tools (its go.mod pins the versions, its go.sum the sums), in one `go build`: the
# dependencies they share compile once and the links run side by side. The folder is named after a hash of that
# module, this script and the Go version, so nothing is rebuilt until one of them changes; `.complete` marks a finished
# build.
# And MinIO, the S3 server the S3 adapters' tests start (make test-minio), with `go install github.com/minio/minio@V`
# from its own go.mod, into a folder named after its version, this script's build flags and the Go version.
# Finally it links the tools into $QM_TOOLS_BIN (default .cache/bin of this worktree).
#
# Usage: hack/tools.sh [SET...]          build SET (cluster, minio; default both) unless already built, then link
#        hack/tools.sh --check [SET...]  exit 0 if built, 1 otherwise (builds nothing)
#        hack/tools.sh --sync     after bumping k8s.io/kubernetes in hack/tools/go.mod: regenerate the replace block
#                                 from that version's own go.mod, then go mod tidy
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

GO="${GO:-go}"
# Never download another toolchain behind our back; static binaries; no VCS stamping of a module with no repository.
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { printf '[tools] %s\n' "$*" >&2; }

# tools_hash: what the build depends on (the module, this script's flags, Go), so that a change to any of it lands in
# a new folder. With a warm Go build cache a rebuild is mostly links.
tools_hash() {
	{
		"$GO" env GOVERSION GOARCH
		cat "${BASH_SOURCE[0]}"
		cd "$TOOLS_MODULE" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs cat
	} | sha256sum | cut -c1-12
}

TOOLS_DIR="$QM_TOOLS_DIR/k8s-$K8S_VERSION-$(tools_hash)"

# MinIO's build: static, no DWARF, stripped, like the cluster tools. Its folder is keyed by what the binary depends
# on: the version, these flags and Go (not this whole script, so that editing the cluster part rebuilds nothing here).
MINIO_FLAGS=(-trimpath -gcflags=all=-dwarf=false -ldflags "-s -w")
minio_hash() { { "$GO" env GOVERSION GOARCH; echo "CGO_ENABLED=$CGO_ENABLED ${MINIO_FLAGS[*]}"; } | sha256sum | cut -c1-12; }
MINIO_DIR="$QM_TOOLS_DIR/minio-$MINIO_VERSION-$(minio_hash)"

# module_file MODULE@VERSION FIELD: a field (Dir, GoMod) of a downloaded module, from the tools module's view.
module_file() { (cd "$TOOLS_MODULE" && "$GO" mod download -json "$1") | sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\$/\\1/p"; }

# ldflags: without the version variables every Kubernetes binary panics at start (version string "" doesn't match
# ...). Helm, like its own Makefile, gets its version and the Kubernetes version it assumes when no cluster is asked
# (helm template, helm lint): that of the client-go it is built with, which the replace block pins to K8S_VERSION.
ldflags() {
	local minor=${K8S_VERSION#v1.} pkg flags="-s -w"
	minor=${minor%%.*}
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	flags+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
	for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
		flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
	done
	echo "$flags"
}

# kwok_stages: kwok refuses to start without stages, whose default files ship in its module. The list is the module's
# own kustomizations: fast node initialisation, heartbeats with leases, and the general pod lifecycle (create, init
# containers, ready, complete for Job pods, delete).
kwok_stages() {
	local dir kustomization file
	dir=$(module_file "sigs.k8s.io/kwok@$KWOK_VERSION" Dir)
	: >"$TOOLS_DIR/kwok-stages.yaml"
	for kustomization in node/fast node/heartbeat-with-lease pod/general; do
		for file in $(sed -n 's/^- \(.*\.yaml\)$/\1/p' "$dir/kustomize/stage/$kustomization/kustomization.yaml"); do
			{ echo "---"; cat "$dir/kustomize/stage/$kustomization/$file"; } >>"$TOOLS_DIR/kwok-stages.yaml"
		done
	done
	grep -q 'name: node-initialize' "$TOOLS_DIR/kwok-stages.yaml" # fail loudly if the module's layout changed
}

build() {
	local start=$SECONDS
	rm -rf "$TOOLS_DIR" && mkdir -p "$TOOLS_DIR"
	log "building kubernetes $K8S_VERSION, etcd $ETCD_VERSION, kwok $KWOK_VERSION, helm $HELM_VERSION into $TOOLS_DIR"
	# Downloading first, all at once, is much faster than the build fetching modules as it finds them.
	(cd "$TOOLS_MODULE" && "$GO" mod download)
	log "modules downloaded in $((SECONDS - start)) s"
	# -dwarf=false: the links strip debug information anyway (-s -w), and not generating it makes the compile of
	# these ~3,000 packages about an eighth faster (k8s.io/api/core/v1: 6.1 s → 5.4 s).
	(cd "$TOOLS_MODULE" && "$GO" build -trimpath -gcflags=all=-dwarf=false -ldflags "$(ldflags)" -o "$TOOLS_DIR/" ./cmd/... tool)
	kwok_stages
	touch "$TOOLS_DIR/.complete"
	log "built in $((SECONDS - start)) s"
}

# build_minio: one `go install` of the pinned MinIO. Outside any module (cd /), so that the project's and hack/tools'
# go.mod play no part: MinIO's own go.mod and go.sum pin its dependencies, checked against the checksum database.
build_minio() {
	local start=$SECONDS
	rm -rf "$MINIO_DIR" && mkdir -p "$MINIO_DIR"
	log "building minio $MINIO_VERSION into $MINIO_DIR"
	(cd / && GOBIN="$MINIO_DIR" "$GO" install "${MINIO_FLAGS[@]}" "github.com/minio/minio@$MINIO_VERSION")
	touch "$MINIO_DIR/.complete"
	log "minio built in $((SECONDS - start)) s"
}

# link: the tools into this worktree's bin folder (also a valid KUBEBUILDER_ASSETS for envtest).
link() {
	mkdir -p "$QM_TOOLS_BIN"
	local tool
	for tool in etcd kube-apiserver kube-scheduler kube-controller-manager kubectl kubelet kwok kwok-stages.yaml helm; do
		ln -sfn "$TOOLS_DIR/$tool" "$QM_TOOLS_BIN/$tool"
	done
}

link_minio() {
	mkdir -p "$QM_TOOLS_BIN"
	ln -sfn "$MINIO_DIR/minio" "$QM_TOOLS_BIN/minio"
}

# sync: the replace block of hack/tools/go.mod, generated from the required k8s.io/kubernetes version's go.mod, which
# replaces each staging module with ./staging/src/k8s.io/X; ours points each at its published v0.X.Y release.
sync() {
	local gomod staging_version="v0${K8S_VERSION#v1}" mod="$TOOLS_MODULE/go.mod"
	gomod=$(module_file "k8s.io/kubernetes@$K8S_VERSION" GoMod)
	{
		sed '/^replace (/,$d' "$mod"
		echo "replace ("
		sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#\t\1 => \1 '"$staging_version"'#p' "$gomod"
		echo ")"
	} >"$mod.new"
	mv "$mod.new" "$mod"
	(cd "$TOOLS_MODULE" && "$GO" mod tidy)
	log "replace block: $(grep -c '=>' "$mod") staging modules at $staging_version; review and commit hack/tools"
}

main() {
	local check=false set sets=()
	case "${1:-}" in
	--check)
		check=true
		shift
		;;
	--sync)
		sync
		exit 0
		;;
	esac
	for set in "$@"; do
		case "$set" in
		cluster | minio) sets+=("$set") ;;
		*) log "unknown argument $set: want [--check] [cluster] [minio], or --sync" && exit 1 ;;
		esac
	done
	[[ ${#sets[@]} -gt 0 ]] || sets=(cluster minio)
	if $check; then
		for set in "${sets[@]}"; do
			case "$set" in
			cluster) [[ -f "$TOOLS_DIR/.complete" ]] || { log "not built: $TOOLS_DIR"; exit 1; } ;;
			minio) [[ -f "$MINIO_DIR/.complete" ]] || { log "not built: $MINIO_DIR"; exit 1; } ;;
			esac
		done
		exit 0
	fi
	for set in "${sets[@]}"; do
		case "$set" in
		cluster)
			[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" && -n "$KWOK_VERSION" && -n "$HELM_VERSION" ]] ||
				{ log "could not read the versions from $TOOLS_MODULE/go.mod" && exit 1; }
			if [[ -f "$TOOLS_DIR/.complete" ]]; then
				log "already built: $TOOLS_DIR"
			else
				build
			fi
			link
			;;
		minio)
			if [[ -f "$MINIO_DIR/.complete" ]]; then
				log "already built: $MINIO_DIR"
			else
				build_minio
			fi
			link_minio
			;;
		esac
	done
	log "tools (${sets[*]}) ready in $QM_TOOLS_BIN"
}

main "$@"
