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
// informer and, when Karpenter's CRD is served, a dynamic NodePool
// informer, and publishes an immutable provisionable after each change
// that matters (a node's key or readiness, a pool's requirements): node
// heartbeats change neither and publish nothing.
type provisionWatch struct {
	keys        workload.LabelKeys
	disc        discovery.DiscoveryInterface
	dyn         dynamic.Interface // nil: nodes only
	resync      time.Duration
	nodesSynced cache.InformerSynced
	// poolsSynced is set once discovery has answered: the NodePool
	// informer's HasSynced, or true at once without the CRD. Until then the
	// cluster caches are not synced and the webhook is not ready.
	poolsSynced  atomic.Pointer[cache.InformerSynced]
	poolsWatched atomic.Bool

	mu    sync.Mutex
	nodes map[string]nodeKey // name → key of a Ready, schedulable node
	pools map[string]NodePool
	v     atomic.Pointer[provisionable]
}

var _ placement.Provisioner = (*provisionWatch)(nil)

// discoveryRetry bounds the wait between attempts to ask the API server
// whether it serves NodePools.
const discoveryRetry = 30 * time.Second

// newProvisionWatch registers on the shared node informer. Whether the API
// server serves karpenter.sh/v1 nodepools is asked when the watch starts,
// and again with backoff until it answers, so that an API server that is
// briefly away delays readiness rather than failing the start. A missing
// CRD is not an error: only nodes count then. The CRD is looked up once;
// installing Karpenter later needs a restart.
func newProvisionWatch(disc discovery.DiscoveryInterface, dyn dynamic.Interface, factory informers.SharedInformerFactory,
	keys workload.LabelKeys, resync time.Duration) (*provisionWatch, error) {
	w := &provisionWatch{keys: keys, disc: disc, dyn: dyn, resync: resync, nodes: map[string]nodeKey{}, pools: map[string]NodePool{}}
	w.publish()
	nodes := factory.Core().V1().Nodes().Informer()
	if _, err := nodes.AddEventHandler(handlers(w.setNode, w.deleteNode)); err != nil {
		return nil, fmt.Errorf("watching nodes for the provisionable filter: %w", err)
	}
	w.nodesSynced = nodes.HasSynced
	if dyn == nil || disc == nil {
		w.noPools()
	}
	return w, nil
}

// hasSynced reports whether nodes are listed and NodePools, if served, too.
func (w *provisionWatch) hasSynced() bool {
	pools := w.poolsSynced.Load()
	return w.nodesSynced() && pools != nil && (*pools)()
}

func (w *provisionWatch) noPools() {
	always := cache.InformerSynced(func() bool { return true })
	w.poolsSynced.Store(&always)
}

// start asks discovery about NodePools, in the background, and runs their
// informer if they are served (the node informer runs with the shared
// factory).
func (w *provisionWatch) start(ctx context.Context) {
	if w.poolsSynced.Load() != nil {
		return
	}
	go w.watchPools(ctx)
}

func (w *provisionWatch) watchPools(ctx context.Context) {
	delay := 250 * time.Millisecond
	for {
		served, err := servesNodePools(w.disc)
		if err == nil && !served {
			w.noPools()
			return
		}
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, discoveryRetry)
	}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(w.dyn, w.resync)
	pools := factory.ForResource(NodePoolGVR).Informer()
	if _, err := pools.AddEventHandler(handlers(w.setPool, w.deletePool)); err != nil {
		return // only a stopped informer refuses a handler; the webhook then never turns ready
	}
	w.poolsWatched.Store(true)
	factory.Start(ctx.Done())
	synced := cache.InformerSynced(pools.HasSynced)
	w.poolsSynced.Store(&synced)
}

// servesNodePools asks discovery whether karpenter.sh/v1 nodepools exist.
func servesNodePools(disc discovery.DiscoveryInterface) (bool, error) {
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
	s.synced = append(s.synced, w.hasSynced)
	return nil
}

func (s *Informers) startProvisionable(ctx context.Context) {
	if s.prov != nil {
		s.prov.start(ctx)
	}
}

// Provisioner returns the provisionable filter over the watched nodes and
// NodePools, nil unless InformerOptions.Provisionable.
func (s *Informers) Provisioner() placement.Provisioner {
	if s.prov == nil {
		return nil
	}
	return s.prov
}

// NodePoolsWatched reports whether Karpenter NodePools are watched: the
// filter is on and discovery served their CRD. It is final once the
// caches have synced.
func (s *Informers) NodePoolsWatched() bool {
	return s.prov != nil && s.prov.poolsWatched.Load()
}
