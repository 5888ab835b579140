#!/usr/bin/env bash
# Builds the local control plane's tools from the Go module proxy into versioned cache folders:
#   etcd, kube-apiserver, kube-scheduler, kube-controller-manager, kubectl, kwok (+ its default stages), helm.
# A tool is rebuilt only when its folder lacks the `.complete` marker, i.e. when its version changed or a build failed.
# Finally it links the pinned versions into $QM_TOOLS_BIN (default .cache/bin of this worktree).
#
# Usage: hack/tools.sh              build what is missing, link, print timings
#        hack/tools.sh kwok helm    only these tools (etcd, k8s, kwok, helm)
#        hack/tools.sh --check      exit 0 if everything is built, 1 otherwise (builds nothing)
set -euo pipefail

# shellcheck source=hack/versions.sh
source "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

GO="${GO:-go}"
# The throwaway modules must build with the Go on PATH; never download another toolchain behind our back.
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0

log() { printf '[tools] %s\n' "$*" >&2; }

# complete DIR: is the tool in DIR fully built?
complete() { [[ -f "$1/.complete" ]]; }

# timed NAME CMD...: runs CMD and logs how long it took.
timed() {
	local name=$1 start=$SECONDS
	shift
	"$@"
	log "$name built in $((SECONDS - start)) s"
}

# module_dir MODULE@VERSION: the folder of a downloaded module in the module cache.
module_dir() { "$GO" mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

# module_gomod MODULE@VERSION: the go.mod file of a downloaded module.
module_gomod() { "$GO" mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p'; }

# build_k8s: kube-apiserver, kube-scheduler, kube-controller-manager and kubectl from k8s.io/kubernetes.
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces the staging modules (k8s.io/api, client-go, ...)
# with ./staging folders. A throwaway module requires it and replaces each staging module with its published
# v0.X.Y release instead; the list comes from that version's own go.mod so it cannot go stale.
build_k8s() {
	local work=$K8S_DIR/src staging_version="v0${K8S_VERSION#v1}"
	rm -rf "$K8S_DIR" && mkdir -p "$work"
	local gomod
	gomod=$(module_gomod "k8s.io/kubernetes@$K8S_VERSION")
	{
		echo "module quartermaster.local/k8s-tools"
		echo
		echo "go 1.26.0"
		echo
		echo "require k8s.io/kubernetes $K8S_VERSION"
		echo
		echo "replace ("
		sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#\t\1 => \1 '"$staging_version"'#p' "$gomod"
		echo ")"
	} >"$work/go.mod"
	log "k8s: $(grep -c '=>' "$work/go.mod") staging replaces from $gomod"

	# Tiny mains, the same calls as upstream's cmd/*/main.go.
	local name pkg ctor
	for spec in kube-apiserver:k8s.io/kubernetes/cmd/kube-apiserver/app:NewAPIServerCommand \
		kube-scheduler:k8s.io/kubernetes/cmd/kube-scheduler/app:NewSchedulerCommand \
		kube-controller-manager:k8s.io/kubernetes/cmd/kube-controller-manager/app:NewControllerManagerCommand; do
		IFS=: read -r name pkg ctor <<<"$spec"
		mkdir -p "$work/cmd/$name"
		cat >"$work/cmd/$name/main.go" <<GO
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"$pkg"
)

func main() { os.Exit(cli.Run(app.$ctor())) }
GO
	done
	mkdir -p "$work/cmd/kubectl"
	cat >"$work/cmd/kubectl/main.go" <<'GO'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
GO
	(cd "$work" && "$GO" mod tidy >&2)

	# Without the version ldflags every binary panics at start: version string "" doesn't match ...
	local minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	local ldflags="-s -w"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
		ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
	done
	(cd "$work" && "$GO" build -trimpath -ldflags "$ldflags" -o "$K8S_DIR/" ./cmd/...)
	touch "$K8S_DIR/.complete"
}

# build_etcd: etcd's server module also carries replace directives, so a one-line main in a throwaway module.
build_etcd() {
	local work=$ETCD_DIR/src
	rm -rf "$ETCD_DIR" && mkdir -p "$work"
	cat >"$work/go.mod" <<MOD
module quartermaster.local/etcd-tools

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
	cat >"$work/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
	(cd "$work" && "$GO" mod tidy >&2 && "$GO" build -trimpath -ldflags "-s -w" -o "$ETCD_DIR/etcd" .)
	touch "$ETCD_DIR/.complete"
}

# build_kwok: kwok installs directly; it refuses to start without stages, whose default files ship in its module.
# The stage list is the module's own kustomizations: fast node initialisation, heartbeats with leases, and the general
# pod lifecycle (create, init containers, ready, complete for Job pods, delete).
build_kwok() {
	rm -rf "$KWOK_DIR" && mkdir -p "$KWOK_DIR"
	GOBIN="$KWOK_DIR" "$GO" install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	local dir kustomization file
	dir=$(module_dir "sigs.k8s.io/kwok@$KWOK_VERSION")
	: >"$KWOK_DIR/stages.yaml"
	for kustomization in node/fast node/heartbeat-with-lease pod/general; do
		for file in $(sed -n 's/^- \(.*\.yaml\)$/\1/p' "$dir/kustomize/stage/$kustomization/kustomization.yaml"); do
			{ echo "---"; cat "$dir/kustomize/stage/$kustomization/$file"; } >>"$KWOK_DIR/stages.yaml"
		done
	done
	grep -q 'name: node-initialize' "$KWOK_DIR/stages.yaml" # fail loudly if the module's layout changed
	touch "$KWOK_DIR/.complete"
}

# build_helm: helm installs directly. Like helm's own Makefile, the ldflags set its version and the Kubernetes version
# it assumes when no cluster is asked (helm template, helm lint): that of its client-go, else it claims v1.20.
build_helm() {
	rm -rf "$HELM_DIR" && mkdir -p "$HELM_DIR"
	local minor ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
	minor=$(sed -n 's#^[[:space:]]*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$(module_gomod "helm.sh/helm/v3@$HELM_VERSION")")
	for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
		ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
	done
	GOBIN="$HELM_DIR" "$GO" install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	touch "$HELM_DIR/.complete"
}

# link: the pinned versions into this worktree's bin folder (also a valid KUBEBUILDER_ASSETS for envtest).
link() {
	mkdir -p "$QM_TOOLS_BIN"
	local tool
	for tool in kube-apiserver kube-scheduler kube-controller-manager kubectl; do ln -sfn "$K8S_DIR/$tool" "$QM_TOOLS_BIN/$tool"; done
	ln -sfn "$ETCD_DIR/etcd" "$QM_TOOLS_BIN/etcd"
	ln -sfn "$KWOK_DIR/kwok" "$QM_TOOLS_BIN/kwok"
	ln -sfn "$KWOK_DIR/stages.yaml" "$QM_TOOLS_BIN/kwok-stages.yaml"
	ln -sfn "$HELM_DIR/helm" "$QM_TOOLS_BIN/helm"
}

main() {
	local dirs=("$K8S_DIR" "$ETCD_DIR" "$KWOK_DIR" "$HELM_DIR")
	if [[ "${1:-}" == "--check" ]]; then
		for d in "${dirs[@]}"; do complete "$d" || { log "missing: $d"; exit 1; }; done
		exit 0
	fi
	local start=$SECONDS tools=("$@")
	[[ ${#tools[@]} -gt 0 ]] || tools=(etcd k8s kwok helm)
	for tool in "${tools[@]}"; do
		case $tool in
		etcd) complete "$ETCD_DIR" || timed "etcd $ETCD_VERSION" build_etcd ;;
		k8s) complete "$K8S_DIR" || timed "kubernetes $K8S_VERSION" build_k8s ;;
		kwok) complete "$KWOK_DIR" || timed "kwok $KWOK_VERSION" build_kwok ;;
		helm) complete "$HELM_DIR" || timed "helm $HELM_VERSION" build_helm ;;
		*) log "unknown tool $tool: want etcd, k8s, kwok or helm" && exit 1 ;;
		esac
	done
	link
	log "tools ready in $QM_TOOLS_BIN ($((SECONDS - start)) s)"
}

main "$@"
