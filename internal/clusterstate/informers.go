package clusterstate

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/encryption"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// gpuProductLabel is set by NVIDIA GPU feature discovery.
const gpuProductLabel = "nvidia.com/gpu.product"

// defaultClassAnnotation marks the cluster's default StorageClass.
const defaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"

// InformerOptions configure Informers.
type InformerOptions struct {
	// Labels are the node label keys that say where a node runs; zero
	// means workload.DefaultLabelKeys.
	Labels workload.LabelKeys
	// ModelOf maps a node's cloud and instance type to its canonical GPU
	// model (from the catalog); "" when unknown, and then the node's
	// nvidia.com/gpu.product label is tried.
	ModelOf func(cloud, instanceType string) string
	// Resync is the informers' resync period (default 10 minutes).
	Resync time.Duration
	// Debounce is how long a change may wait before it is published, so
	// that a burst of events (the initial list of every pod) builds one
	// view, not one per pod (default 50 ms).
	Debounce time.Duration
	// Provisionable watches what the provisionable filter reads: Ready
	// nodes and, through Dynamic, Karpenter NodePools (see Provisioner).
	Provisionable bool
	// Dynamic reads NodePools; nil watches nodes only.
	Dynamic dynamic.Interface
}

// Informers keeps cluster state from watches on namespaces, nodes, pods,
// StorageClasses and PVCs, and on the owners of ReplicaSets and Jobs (so that
// a pod's GPUs can be charged to the Deployment or CronJob at the top of its
// owner chain). Each event updates the state under a lock and
// publishes a new immutable view; readers never wait for the lock.
type Informers struct {
	store
	opts    InformerOptions
	factory informers.SharedInformerFactory
	synced  []cache.InformerSynced
	prov    *provisionWatch // nil unless InformerOptions.Provisionable

	changed chan struct{}
	// wanted counts changes; published is the count the last view holds.
	wanted, published atomic.Int64

	mu         sync.Mutex
	nodes      map[string]quota.Key // node name → where it runs
	pods       map[string]podGPUs   // namespace/name → its GPUs
	namespaces map[string]map[string]string
	classes    map[string]*encryption.StorageClass
	claims     map[string]*encryption.Claim
	// controllers maps a ReplicaSet or Job (namespace/kind/name) to the
	// kind and name of its controller, when it has one.
	controllers map[string]owner
}

// podGPUs is what a pod holds: on its node once bound, else where its
// required node affinity pins it (a placed pod the scheduler has not bound
// yet; zero key when it is not pinned to one cloud, region and model).
type podGPUs struct {
	node   string
	pinned quota.Key
	gpus   int64
	// namespace and owner say whose pods they are: the pod's controller,
	// or the pod itself when it has none.
	namespace string
	owner     owner
}

// owner is an object in the pod's namespace, by kind and name.
type owner struct{ kind, name string }

// controllerOf is the kind and name of obj's controller; ok false if none.
func controllerOf(refs []metav1.OwnerReference) (owner, bool) {
	for _, r := range refs {
		if r.Controller != nil && *r.Controller {
			return owner{kind: r.Kind, name: r.Name}, true
		}
	}
	return owner{}, false
}

// NewInformers wires informers over client; Start runs them.
func NewInformers(client kubernetes.Interface, opts InformerOptions) (*Informers, error) {
	if client == nil {
		return nil, errors.New("cluster state: a Kubernetes client is required")
	}
	if opts.Resync <= 0 {
		opts.Resync = 10 * time.Minute
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 50 * time.Millisecond
	}
	if opts.Labels == (workload.LabelKeys{}) {
		opts.Labels = workload.DefaultLabelKeys()
	}
	if opts.ModelOf == nil {
		opts.ModelOf = func(string, string) string { return "" }
	}
	s := &Informers{opts: opts, factory: informers.NewSharedInformerFactory(client, opts.Resync),
		nodes: map[string]quota.Key{}, pods: map[string]podGPUs{}, namespaces: map[string]map[string]string{},
		classes: map[string]*encryption.StorageClass{}, claims: map[string]*encryption.Claim{},
		controllers: map[string]owner{}, changed: make(chan struct{}, 1)}
	core, storage, apps, batch := s.factory.Core().V1(), s.factory.Storage().V1(), s.factory.Apps().V1(), s.factory.Batch().V1()
	add := func(inf cache.SharedIndexInformer, set func(obj any), del func(obj any)) error {
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    set,
			UpdateFunc: func(_, obj any) { set(obj) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				del(obj)
			},
		})
		s.synced = append(s.synced, inf.HasSynced)
		return err
	}
	pods := core.Pods().Informer()
	// Pods are the bulk of the cache: keep only what usage needs.
	if err := pods.SetTransform(slimPod); err != nil {
		return nil, err
	}
	replicaSets, jobs := apps.ReplicaSets().Informer(), batch.Jobs().Informer()
	// Of ReplicaSets and Jobs only the owner is read: keep nothing else.
	for _, inf := range []cache.SharedIndexInformer{replicaSets, jobs} {
		if err := inf.SetTransform(slimOwned); err != nil {
			return nil, err
		}
	}
	for _, err := range []error{
		add(replicaSets, s.setOwned, s.deleteOwned),
		add(jobs, s.setOwned, s.deleteOwned),
		add(core.Namespaces().Informer(), s.setNamespace, s.deleteNamespace),
		add(core.Nodes().Informer(), s.setNode, s.deleteNode),
		add(pods, s.setPod, s.deletePod),
		add(storage.StorageClasses().Informer(), s.setClass, s.deleteClass),
		add(core.PersistentVolumeClaims().Informer(), s.setPVC, s.deletePVC),
	} {
		if err != nil {
			return nil, err
		}
	}
	if err := s.watchProvisionable(client, opts); err != nil {
		return nil, err
	}
	s.publish()
	return s, nil
}

// Start runs the informers, and the publisher of their views, until ctx
// ends.
func (s *Informers) Start(ctx context.Context) {
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.changed:
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.opts.Debounce):
			}
			s.mu.Lock()
			gen := s.wanted.Load()
			s.publish()
			s.mu.Unlock()
			s.published.Store(gen)
		}
	}()
	s.factory.Start(ctx.Done())
	s.startProvisionable(ctx)
}

// HasSynced reports whether every cache has its initial list and a view
// of it is published: the webhook is not ready before.
func (s *Informers) HasSynced() bool {
	for _, f := range s.synced {
		if !f() {
			return false
		}
	}
	return s.published.Load() == s.wanted.Load()
}

// publish builds a new view from the current maps, with mu held.
func (s *Informers) publish() {
	usage := quota.GPUCounts{}
	byOwner := map[string]quota.GPUCounts{}
	for _, p := range s.pods {
		key := p.pinned // setPod keeps only complete pins
		if p.node != "" {
			if key = s.nodes[p.node]; key.GPUModel == "" {
				continue
			}
		}
		usage[key] += p.gpus
		o := s.topOwner(p.namespace, p.owner)
		top := ownerKey(p.namespace, o.kind, o.name)
		if byOwner[top] == nil {
			byOwner[top] = quota.GPUCounts{}
		}
		byOwner[top][key] += p.gpus
	}
	v := &view{namespaces: maps.Clone(s.namespaces), usage: usage, byOwner: byOwner, classes: maps.Clone(s.classes),
		claims: maps.Clone(s.claims)}
	for _, sc := range s.classes {
		// Kubernetes refuses to pick among several defaults; so do we,
		// deterministically: the first name wins.
		if sc.Default && (v.defaultClass == nil || sc.Name < v.defaultClass.Name) {
			v.defaultClass = sc
		}
	}
	s.v.Store(v)
}

// update changes the state and asks the publisher for a new view.
func (s *Informers) update(fn func()) {
	s.mu.Lock()
	fn()
	s.wanted.Add(1)
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default: // a publish is already pending and will include this change
	}
}

func (s *Informers) setNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		s.update(func() { s.namespaces[ns.Name] = ns.Labels })
	}
}

func (s *Informers) deleteNamespace(obj any) {
	if ns, ok := obj.(*corev1.Namespace); ok {
		s.update(func() { delete(s.namespaces, ns.Name) })
	}
}

func (s *Informers) setNode(obj any) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	l := n.Labels
	cloud, region, it := s.opts.Labels.CloudOf(l), l[s.opts.Labels.Region], l[s.opts.Labels.InstanceType]
	model := s.opts.ModelOf(cloud, it)
	if model == "" && l[gpuProductLabel] != "" {
		model = costing.CanonicalGPUModel(l[gpuProductLabel])
	}
	s.update(func() { s.nodes[n.Name] = quota.Key{Cloud: cloud, Region: region, GPUModel: model} })
}

func (s *Informers) deleteNode(obj any) {
	if n, ok := obj.(*corev1.Node); ok {
		s.update(func() { delete(s.nodes, n.Name) })
	}
}

func (s *Informers) setPod(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	key := p.Namespace + "/" + p.Name
	gpus := podGPUCount(p)
	done := p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	var pinned quota.Key
	if p.Spec.NodeName == "" && gpus > 0 && !done {
		pinned = s.pinnedKey(p)
	}
	o, ok := controllerOf(p.OwnerReferences)
	if !ok {
		o = owner{kind: "Pod", name: p.Name}
	}
	s.update(func() {
		if gpus == 0 || done || (p.Spec.NodeName == "" && pinned.GPUModel == "") {
			delete(s.pods, key)
			return
		}
		s.pods[key] = podGPUs{node: p.Spec.NodeName, pinned: pinned, gpus: gpus, namespace: p.Namespace, owner: o}
	})
}

// topOwner follows o's controllers (a ReplicaSet's Deployment, a Job's
// CronJob) to the top, with mu held. A chain is at most a few links long;
// the bound only guards against a cycle of forged references.
func (s *Informers) topOwner(namespace string, o owner) owner {
	for range 4 {
		next, ok := s.controllers[ownerKey(namespace, o.kind, o.name)]
		if !ok {
			break
		}
		o = next
	}
	return o
}

// setOwned records the controller of a ReplicaSet or Job.
func (s *Informers) setOwned(obj any) {
	kind, meta := ownedMeta(obj)
	if meta == nil {
		return
	}
	key := ownerKey(meta.Namespace, kind, meta.Name)
	o, ok := controllerOf(meta.OwnerReferences)
	s.update(func() {
		if ok {
			s.controllers[key] = o
		} else {
			delete(s.controllers, key)
		}
	})
}

func (s *Informers) deleteOwned(obj any) {
	if kind, meta := ownedMeta(obj); meta != nil {
		s.update(func() { delete(s.controllers, ownerKey(meta.Namespace, kind, meta.Name)) })
	}
}

func ownedMeta(obj any) (string, *metav1.ObjectMeta) {
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		return "ReplicaSet", &o.ObjectMeta
	case *batchv1.Job:
		return "Job", &o.ObjectMeta
	}
	return "", nil
}

// slimOwned keeps of a ReplicaSet or Job only what setOwned reads.
func slimOwned(obj any) (any, error) {
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		slim := &appsv1.ReplicaSet{}
		slim.Name, slim.Namespace, slim.UID, slim.ResourceVersion, slim.OwnerReferences = o.Name, o.Namespace, o.UID, o.ResourceVersion, o.OwnerReferences
		return slim, nil
	case *batchv1.Job:
		slim := &batchv1.Job{}
		slim.Name, slim.Namespace, slim.UID, slim.ResourceVersion, slim.OwnerReferences = o.Name, o.Namespace, o.UID, o.ResourceVersion, o.OwnerReferences
		return slim, nil
	}
	return obj, nil
}

func (s *Informers) deletePod(obj any) {
	if p, ok := obj.(*corev1.Pod); ok {
		s.update(func() { delete(s.pods, p.Namespace+"/"+p.Name) })
	}
}

func (s *Informers) setClass(obj any) {
	if sc, ok := obj.(*storagev1.StorageClass); ok {
		c := &encryption.StorageClass{Name: sc.Name, Provisioner: sc.Provisioner, Parameters: sc.Parameters,
			Default: sc.Annotations[defaultClassAnnotation] == "true"}
		s.update(func() { s.classes[sc.Name] = c })
	}
}

func (s *Informers) deleteClass(obj any) {
	if sc, ok := obj.(*storagev1.StorageClass); ok {
		s.update(func() { delete(s.classes, sc.Name) })
	}
}

func (s *Informers) setPVC(obj any) {
	c, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	claim := &encryption.Claim{Namespace: c.Namespace, Name: c.Name}
	if c.Spec.StorageClassName != nil {
		class := *c.Spec.StorageClassName
		claim.StorageClass = &class
	}
	s.update(func() { s.claims[c.Namespace+"/"+c.Name] = claim })
}

func (s *Informers) deletePVC(obj any) {
	if c, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		s.update(func() { delete(s.claims, c.Namespace+"/"+c.Name) })
	}
}

// podGPUCount is the whole GPUs a pod holds: the larger of its containers'
// sum and its largest init container, as the scheduler counts them. MIG
// slices are not whole GPUs and are not counted against quotas.
func podGPUCount(p *corev1.Pod) int64 {
	count := func(c *corev1.Container) int64 {
		for _, name := range []corev1.ResourceName{workload.ResourceNvidiaGPU, workload.ResourceAMDGPU} {
			if q, ok := c.Resources.Limits[name]; ok {
				return q.Value()
			}
			if q, ok := c.Resources.Requests[name]; ok {
				return q.Value()
			}
		}
		return 0
	}
	var sum, initMax int64
	for i := range p.Spec.Containers {
		sum += count(&p.Spec.Containers[i])
	}
	for i := range p.Spec.InitContainers {
		initMax = max(initMax, count(&p.Spec.InitContainers[i]))
	}
	return max(sum, initMax)
}

// pinnedKey is the cloud, region and GPU model a pod not yet bound to a node
// is pinned to by its node selector and required node affinity (as the
// webhook's patch pins it), or the zero key when it could land in more than
// one. Such a pod holds its GPUs from admission rather than from binding:
// otherwise gangs admitted before the scheduler binds the first one's pods
// would all see the quota free.
func (s *Informers) pinnedKey(p *corev1.Pod) quota.Key {
	var terms []corev1.NodeSelectorTerm
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		terms = a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	}
	// pin is the one value label can take, or "". Terms are ORed, so every
	// term must allow exactly that value; anything else (several values,
	// other operators, disagreeing terms) counts as not pinned.
	pin := func(label string) string {
		selected := p.Spec.NodeSelector[label]
		if len(terms) == 0 {
			return selected
		}
		value := ""
		for ti, term := range terms {
			v := selected // a term without the label leaves it to the node selector
			for _, r := range term.MatchExpressions {
				if r.Key != label {
					continue
				}
				if r.Operator != corev1.NodeSelectorOpIn || len(r.Values) != 1 || (v != "" && v != r.Values[0]) {
					return ""
				}
				v = r.Values[0]
			}
			if v == "" || (ti > 0 && v != value) {
				return ""
			}
			value = v
		}
		return value
	}
	keys := s.opts.Labels
	cloud, region, instanceType := pin(keys.Cloud), pin(keys.Region), pin(keys.InstanceType)
	if keys.Cloud == "" {
		cloud = keys.ClusterCloud // a single-cloud profile pins no cloud
	}
	if cloud == "" || region == "" || instanceType == "" {
		return quota.Key{}
	}
	model := s.opts.ModelOf(cloud, instanceType)
	if model == "" {
		return quota.Key{}
	}
	return quota.Key{Cloud: cloud, Region: region, GPUModel: model}
}

var ptrTrue = func() *bool { t := true; return &t }()

// slimPod drops everything usage does not read before the pod is cached.
func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	slim := &corev1.Pod{}
	slim.Name, slim.Namespace, slim.UID, slim.ResourceVersion = p.Name, p.Namespace, p.UID, p.ResourceVersion
	if o, ok := controllerOf(p.OwnerReferences); ok {
		// Whose GPUs they are: an update of the owner is placed again
		// without competing with its own pods.
		slim.OwnerReferences = []metav1.OwnerReference{{Kind: o.kind, Name: o.name, Controller: ptrTrue}}
	}
	slim.Spec.NodeName = p.Spec.NodeName
	if p.Spec.NodeName == "" {
		// Until bound, where the pod is pinned decides where it counts.
		slim.Spec.NodeSelector, slim.Spec.Affinity = p.Spec.NodeSelector, p.Spec.Affinity
	}
	slim.Status.Phase = p.Status.Phase
	keep := func(cs []corev1.Container) []corev1.Container {
		out := make([]corev1.Container, len(cs))
		for i := range cs {
			out[i] = corev1.Container{Name: cs[i].Name, Resources: cs[i].Resources}
		}
		return out
	}
	slim.Spec.Containers, slim.Spec.InitContainers = keep(p.Spec.Containers), keep(p.Spec.InitContainers)
	return slim, nil
}
