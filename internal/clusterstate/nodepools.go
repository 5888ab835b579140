package clusterstate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// NodePoolGVR is Karpenter's NodePool, read as unstructured so that the
// webhook does not depend on Karpenter's Go module.
var NodePoolGVR = schema.GroupVersionResource{Group: "karpenter.sh", Version: "v1", Resource: "nodepools"}

// provisionWatch keeps the provisionable filter's facts from the node
// informer and, when Karpenter's CRD is installed, a dynamic NodePool
// informer, and publishes an immutable provisionable after each change
// that matters (a node's key or readiness, a pool's requirements): node
// heartbeats change neither and publish nothing.
type provisionWatch struct {
	keys    workload.LabelKeys
	dynamic dynamicinformer.DynamicSharedInformerFactory // nil without the CRD
	synced  []cache.InformerSynced
	// poolsWatched is set when NodePools are watched (discovery served
	// the CRD at start).
	poolsWatched bool

	mu    sync.Mutex
	nodes map[string]nodeKey // name → key of a Ready, schedulable node
	pools map[string]NodePool
	v     atomic.Pointer[provisionable]
}

var _ placement.Provisioner = (*provisionWatch)(nil)

// newProvisionWatch registers on the shared node informer and, if the API
// server serves karpenter.sh/v1 nodepools, on a NodePool informer. A
// missing CRD is not an error: only nodes count then. The CRD is looked up
// once, at start; installing Karpenter later needs a restart.
func newProvisionWatch(disc discovery.DiscoveryInterface, dyn dynamic.Interface, factory informers.SharedInformerFactory,
	keys workload.LabelKeys, resync time.Duration) (*provisionWatch, error) {
	w := &provisionWatch{keys: keys, nodes: map[string]nodeKey{}, pools: map[string]NodePool{}}
	w.publish()
	nodes := factory.Core().V1().Nodes().Informer()
	if _, err := nodes.AddEventHandler(handlers(w.setNode, w.deleteNode)); err != nil {
		return nil, fmt.Errorf("watching nodes for the provisionable filter: %w", err)
	}
	w.synced = append(w.synced, nodes.HasSynced)
	if dyn == nil {
		return w, nil
	}
	served, err := servesNodePools(disc)
	if err != nil {
		return nil, err
	}
	if !served {
		return w, nil
	}
	w.poolsWatched = true
	w.dynamic = dynamicinformer.NewDynamicSharedInformerFactory(dyn, resync)
	pools := w.dynamic.ForResource(NodePoolGVR).Informer()
	if _, err := pools.AddEventHandler(handlers(w.setPool, w.deletePool)); err != nil {
		return nil, fmt.Errorf("watching NodePools: %w", err)
	}
	w.synced = append(w.synced, pools.HasSynced)
	return w, nil
}

// servesNodePools asks discovery whether karpenter.sh/v1 nodepools exist.
func servesNodePools(disc discovery.DiscoveryInterface) (bool, error) {
	if disc == nil {
		return false, nil
	}
	list, err := disc.ServerResourcesForGroupVersion(NodePoolGVR.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking for Karpenter NodePools (%s): %w", NodePoolGVR.GroupVersion(), err)
	}
	return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == NodePoolGVR.Resource }), nil
}

func handlers(set, del func(obj any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, obj any) { set(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			del(obj)
		},
	}
}

// start runs the NodePool informer (the node informer runs with the shared
// factory).
func (w *provisionWatch) start(ctx context.Context) {
	if w.dynamic != nil {
		w.dynamic.Start(ctx.Done())
	}
}

// Provisionable answers from the last published facts.
func (w *provisionWatch) Provisionable(o *costing.Offer, ct costing.CapacityType) bool {
	return w.v.Load().Provisionable(o, ct)
}

// publish builds a new answer set, with mu held (or before any handler).
func (w *provisionWatch) publish() {
	keys := slices.Collect(maps.Values(w.nodes))
	pools := slices.Collect(maps.Values(w.pools))
	slices.SortFunc(pools, func(a, b NodePool) int { return strings.Compare(a.Name, b.Name) })
	w.v.Store(newProvisionable(w.keys, keys, pools))
}

func (w *provisionWatch) setNode(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	ready := !n.Spec.Unschedulable
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = ready && c.Status == corev1.ConditionTrue
		}
	}
	key := keyOfNode(w.keys, n.Labels)
	w.mu.Lock()
	defer w.mu.Unlock()
	old, had := w.nodes[n.Name]
	switch {
	case ready && had && old == key:
		return // a heartbeat: nothing the filter reads changed
	case ready:
		w.nodes[n.Name] = key
	case !had:
		return
	default:
		delete(w.nodes, n.Name)
	}
	w.publish()
}

func (w *provisionWatch) deleteNode(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, had := w.nodes[n.Name]; had {
		delete(w.nodes, n.Name)
		w.publish()
	}
}

func (w *provisionWatch) setPool(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	np, err := ParseNodePool(u.Object)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		// The API server validated it against Karpenter's schema; a pool we
		// cannot read provisions nothing here rather than everything.
		delete(w.pools, u.GetName())
	} else {
		w.pools[u.GetName()] = np
	}
	w.publish()
}

func (w *provisionWatch) deletePool(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.pools, u.GetName())
	w.publish()
}

// watchProvisionable wires the provisionable filter's watches when asked.
func (s *Informers) watchProvisionable(client kubernetes.Interface, opts InformerOptions) error {
	if !opts.Provisionable {
		return nil
	}
	w, err := newProvisionWatch(client.Discovery(), opts.Dynamic, s.factory, opts.Labels, opts.Resync)
	if err != nil {
		return err
	}
	s.prov = w
	s.synced = append(s.synced, w.synced...)
	return nil
}

func (s *Informers) startProvisionable(ctx context.Context) {
	if s.prov != nil {
		s.prov.start(ctx)
	}
}

// Provisioner returns the provisionable filter over the watched nodes and
// NodePools, nil unless InformerOptions.Provisionable; the bool reports
// whether NodePools are watched (Karpenter's CRD was served at start).
func (s *Informers) Provisioner() (placement.Provisioner, bool) {
	if s.prov == nil {
		return nil, false
	}
	return s.prov, s.prov.poolsWatched
}
