package engine

import (
	"fmt"
	"sync/atomic"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/quartermaster-io/quartermaster/internal/clusterstate"
	"github.com/quartermaster-io/quartermaster/internal/quota"
)

// buildState reads the cluster-state snapshot (offline and standalone) or
// builds informers on kube, and the provisionable filter over the same
// state (nil when it is off). Informers start in Run.
func (e *Engine) buildState(kube *rest.Config) error {
	labels, err := e.cfg.Nodes.Labels()
	if err != nil {
		return err
	}
	// Validated in New: the error cannot happen here.
	mode, _ := clusterstate.ParseProvisionableMode(e.cfg.Nodes.ProvisionableFilter)
	if kube == nil {
		// The usage is read by New against the catalog's names (a custom
		// catalog's regions count), not by the snapshot against the
		// embedded ones.
		s, err := clusterstate.ReadSnapshotFiles(e.cfg.Facts.ClusterState, "")
		if err != nil {
			return fmt.Errorf("--cluster-state: %w", err)
		}
		prov, holds := s.Provisioner(labels)
		if mode.Enabled(false, holds) {
			e.prov = prov
		}
		e.state = &snapshot{Snapshot: s, usage: e.usage}
		e.log.Info("cluster state from files", "clusterState", e.cfg.Facts.ClusterState, "usage", e.cfg.Sources.Usage,
			"labelProfile", labels.Profile, "provisionableFilter", e.prov != nil)
		return nil
	}
	client, err := kubernetes.NewForConfig(kube)
	if err != nil {
		return fmt.Errorf("building Kubernetes client: %w", err)
	}
	// ModelOf follows the catalog in service, so that a reloaded catalog's
	// new instance types are counted as GPUs of their model.
	opts := clusterstate.InformerOptions{Labels: labels, Provisionable: mode.Enabled(true, false), ModelOf: e.prices.ModelOf}
	if opts.Provisionable {
		if opts.Dynamic, err = dynamic.NewForConfig(kube); err != nil {
			return fmt.Errorf("building Kubernetes dynamic client: %w", err)
		}
	}
	inf, err := clusterstate.NewInformers(client, opts)
	if err != nil {
		return fmt.Errorf("building the cluster informers: %w", err)
	}
	e.log.Info("cluster state from informers", "labelProfile", labels.Profile, "provisionableFilter", opts.Provisionable)
	e.informers, e.state = inf, inf
	if opts.Provisionable {
		e.prov = inf.Provisioner()
	}
	var logged atomic.Bool
	e.checks = append(e.checks, readiness{name: "cluster caches", ok: func() bool {
		ok := inf.HasSynced()
		if ok && !logged.Swap(true) {
			e.log.Info("cluster caches synced", "karpenterNodePools", inf.NodePoolsWatched())
		}
		return ok
	}})
	return nil
}

// snapshot is the cluster-state file with the usage file's GPUs in use.
type snapshot struct {
	*clusterstate.Snapshot
	usage quota.GPUCounts
}

// GPUUsage returns the GPUs of --usage; shared, do not modify.
func (s *snapshot) GPUUsage() quota.GPUCounts {
	if s.usage == nil {
		return quota.GPUCounts{}
	}
	return s.usage
}

// KubeConfig finds the API server: the in-cluster config when path is
// empty and the process runs in a pod, else the kubeconfig file (path, then
// $KUBECONFIG and ~/.kube/config), as kubectl would. Binaries that watch a
// cluster (the webhook, the auditor) pass the result as Deps.Kube.
func KubeConfig(path string) (*rest.Config, error) {
	if path == "" {
		if c, err := rest.InClusterConfig(); err == nil {
			return c, nil
		}
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return c, nil
}
