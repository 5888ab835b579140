package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// scan is one account's scan: the client, and the little it keeps to join
// objects (namespace teams, node locations, owner chains, the claims' pods).
type scan struct {
	cfg      *Config
	c        client.Client
	account  string
	emit     func(*inventory.Resource) error
	observed time.Time
	cloud    inventory.Cloud

	teams    map[string]string    // namespace → its quartermaster.io/team label
	where    map[string][2]string // node → region, zone
	owners   owners
	mounters map[string][]string // namespace/claim → IDs of the running pods that mount it

	emitted, calls int
	// inconsistent is set when a list went on past an expired continue
	// token: its later pages come from a newer snapshot than its first.
	inconsistent bool
}

// pages lists every object of a kind, a page at a time, handing each page
// to each: memory holds one page, whatever the cluster's size.
func pages[L client.ObjectList](ctx context.Context, s *scan, what string, newList func() L, each func(L) error) error {
	cont, expired := "", 0
	for {
		list := newList()
		opts := []client.ListOption{client.Limit(s.cfg.PageSize)}
		if cont != "" {
			opts = append(opts, client.Continue(cont))
		}
		s.calls++
		if err := s.c.List(ctx, list, opts...); err != nil {
			// A scan slower than etcd's compaction (5 minutes by default)
			// outlives its continue token: the API server answers 410 with a
			// token that goes on from the same key in the latest data. Going
			// on emits nothing twice; starting over would. The objects
			// changed meanwhile are seen as they are now, as on the next run.
			if next, ok := expiredContinue(err); ok && cont != "" && expired < maxExpiredContinues {
				expired++
				s.inconsistent = true
				cont = next
				continue
			}
			return fmt.Errorf("listing %s: %w", what, err)
		}
		if err := each(list); err != nil {
			return err
		}
		if cont = list.GetContinue(); cont == "" {
			return nil
		}
	}
}

// maxExpiredContinues bounds how often one list goes on past an expired
// continue token: a cluster compacting faster than a page is read would
// otherwise never finish.
const maxExpiredContinues = 5

// expiredContinue reads the continue token of a 410 ResourceExpired answer
// to a list with an expired continue token.
func expiredContinue(err error) (string, bool) {
	var status apierrors.APIStatus
	if !apierrors.IsResourceExpired(err) || !errors.As(err, &status) {
		return "", false
	}
	next := status.Status().ListMeta.Continue
	return next, next != ""
}

func (s *scan) send(r *inventory.Resource) error {
	r.Account, r.Cloud, r.Observed = s.account, s.cloud, s.observed
	s.emitted++
	return s.emit(r)
}

// common fills the fields every Kubernetes record has from its metadata.
func common(kind inventory.Kind, m metav1.Object) *inventory.Resource {
	id := m.GetName()
	if m.GetNamespace() != "" {
		id = m.GetNamespace() + "/" + id
	}
	r := &inventory.Resource{Kind: kind, ID: id, Name: m.GetName(), Namespace: m.GetNamespace(), Labels: m.GetLabels()}
	if t := m.GetCreationTimestamp(); !t.IsZero() {
		r.Created = t.UTC()
	}
	return r
}

func (s *scan) run(ctx context.Context) error {
	// Namespaces and nodes are read before anything is emitted: the
	// nodes' provider IDs say which cloud every record is in. Both are
	// kept as their (small) records until then.
	var namespaces []*inventory.Resource
	s.teams = map[string]string{}
	if err := pages(ctx, s, "namespaces", func() *corev1.NamespaceList { return &corev1.NamespaceList{} }, func(l *corev1.NamespaceList) error {
		for i := range l.Items {
			ns := &l.Items[i]
			namespaces = append(namespaces, common(inventory.KindNamespace, ns))
			if t := ns.Labels[annotationTeam]; t != "" {
				s.teams[ns.Name] = t
			}
		}
		return nil
	}); err != nil {
		return err
	}
	var nodes []*inventory.Resource
	var providerIDs []string
	s.where = map[string][2]string{}
	if err := pages(ctx, s, "nodes", func() *corev1.NodeList { return &corev1.NodeList{} }, func(l *corev1.NodeList) error {
		for i := range l.Items {
			n := &l.Items[i]
			r := common(inventory.KindNode, n)
			it, capacity, region, zone := nodeLabels(n.Labels, s.cfg.LabelKeys)
			r.Region, r.Zone = region, zone
			r.Node = &inventory.Node{InstanceType: it, CapacityType: capacity, ProviderID: n.Spec.ProviderID,
				GPUs: gpus(n.Status.Allocatable), Ready: nodeReady(n)}
			nodes = append(nodes, r)
			providerIDs = append(providerIDs, n.Spec.ProviderID)
			s.where[n.Name] = [2]string{region, zone}
		}
		return nil
	}); err != nil {
		return err
	}
	s.cloud = clusterCloud(providerIDs)
	for _, group := range [][]*inventory.Resource{namespaces, nodes} {
		for _, r := range group {
			if err := s.send(r); err != nil {
				return err
			}
		}
	}
	namespaces, nodes = nil, nil

	if err := s.readOwners(ctx); err != nil {
		return err
	}
	if err := s.pods(ctx); err != nil {
		return err
	}
	if err := s.claims(ctx); err != nil {
		return err
	}
	s.mounters = nil
	if err := s.workloads(ctx); err != nil {
		return err
	}
	return s.snapshots(ctx)
}

// intermediates are the controllers that stand between a pod and the
// object a person wrote: their owners are read (metadata only) before the
// pods, so that a pod's Owner is the Deployment, not its ReplicaSet.
var intermediates = []schema.GroupKind{
	{Group: "apps", Kind: "ReplicaSet"},
	{Group: "batch", Kind: "Job"},
	{Group: "ray.io", Kind: "RayCluster"},
}

func (s *scan) readOwners(ctx context.Context) error {
	s.owners = owners{}
	for _, gk := range intermediates {
		gvk, ok, err := s.resolve(gk)
		if err != nil || !ok {
			return err
		}
		newList := func() *metav1.PartialObjectMetadataList {
			l := &metav1.PartialObjectMetadataList{}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			return l
		}
		if err := pages(ctx, s, gk.Kind+" owners", newList, func(l *metav1.PartialObjectMetadataList) error {
			for i := range l.Items {
				m := &l.Items[i]
				s.owners.add(gk.Kind, m.Namespace, m.Name, m.OwnerReferences)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// resolve finds the served version of a kind; ok is false when the
// cluster does not serve it (its CRD is not installed).
func (s *scan) resolve(gk schema.GroupKind) (schema.GroupVersionKind, bool, error) {
	m, err := s.c.RESTMapper().RESTMapping(gk)
	switch {
	case meta.IsNoMatchError(err):
		s.cfg.Log.Debug("kind not served, skipped", "account", s.account, "kind", gk.String())
		return schema.GroupVersionKind{}, false, nil
	case err != nil:
		return schema.GroupVersionKind{}, false, fmt.Errorf("discovering %s: %w", gk, err)
	}
	return m.GroupVersionKind, true, nil
}

func (s *scan) pods(ctx context.Context) error {
	s.mounters = map[string][]string{}
	return pages(ctx, s, "pods", func() *corev1.PodList { return &corev1.PodList{} }, func(l *corev1.PodList) error {
		for i := range l.Items {
			p := &l.Items[i]
			r := common(inventory.KindPod, p)
			r.Region, r.Zone = s.where[p.Spec.NodeName][0], s.where[p.Spec.NodeName][1]
			team := p.Annotations[annotationTeam]
			if team == "" {
				team = s.teams[p.Namespace]
			}
			r.Pod = &inventory.Pod{NodeName: p.Spec.NodeName, Phase: string(p.Status.Phase), GPUs: podGPUs(&p.Spec),
				Owner: s.owners.top(p.Namespace, p.OwnerReferences), Team: team, Claims: podClaims(p)}
			if p.Status.StartTime != nil {
				r.Pod.StartTime = p.Status.StartTime.UTC()
			}
			if holdsVolumes(p) {
				for _, c := range r.Pod.Claims {
					k := p.Namespace + "/" + c
					s.mounters[k] = append(s.mounters[k], r.ID)
				}
			}
			if err := s.send(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// volume is what a claim's record needs of its PersistentVolume, and the
// claim it is bound to (namespace/name).
type volume struct {
	claim, class string
	bytes        int64
}

func (s *scan) claims(ctx context.Context) error {
	cls := newClasses()
	if err := pages(ctx, s, "storage classes", func() *storagev1.StorageClassList { return &storagev1.StorageClassList{} }, func(l *storagev1.StorageClassList) error {
		for i := range l.Items {
			sc := &l.Items[i]
			cls.add(sc.Name, sc.Provisioner, sc.Parameters, sc.Annotations)
		}
		return nil
	}); err != nil {
		return err
	}
	volumes := map[string]volume{}
	if err := pages(ctx, s, "persistent volumes", func() *corev1.PersistentVolumeList { return &corev1.PersistentVolumeList{} }, func(l *corev1.PersistentVolumeList) error {
		for i := range l.Items {
			pv := &l.Items[i]
			if pv.Spec.ClaimRef == nil {
				continue // no claim to join it to
			}
			q := pv.Spec.Capacity[corev1.ResourceStorage]
			volumes[pv.Name] = volume{claim: pv.Spec.ClaimRef.Namespace + "/" + pv.Spec.ClaimRef.Name,
				class: pv.Spec.StorageClassName, bytes: q.Value()}
		}
		return nil
	}); err != nil {
		return err
	}
	return pages(ctx, s, "persistent volume claims", func() *corev1.PersistentVolumeClaimList { return &corev1.PersistentVolumeClaimList{} }, func(l *corev1.PersistentVolumeClaimList) error {
		for i := range l.Items {
			pvc := &l.Items[i]
			r := common(inventory.KindVolumeClaim, pvc)
			// Bound only when the volume names the claim back: a claim
			// naming a volume bound elsewhere waits, and owns nothing.
			pv, bound := volumes[pvc.Spec.VolumeName]
			bound = bound && pv.claim == pvc.Namespace+"/"+pvc.Name
			class := pvc.Spec.StorageClassName
			if (class == nil || *class == "") && bound && pv.class != "" {
				class = &pv.class
			}
			size := pv.bytes
			if !bound {
				q := pvc.Status.Capacity[corev1.ResourceStorage]
				if size = q.Value(); size == 0 {
					q = pvc.Spec.Resources.Requests[corev1.ResourceStorage]
					size = q.Value()
				}
			}
			r.Claim = &inventory.Claim{SizeGiB: gib(size),
				Encryption: cls.encryptionOf(pvc.Namespace, pvc.Name, class),
				MountedBy:  slices.Clone(s.mounters[pvc.Namespace+"/"+pvc.Name])}
			if bound {
				r.Claim.Volume = pvc.Spec.VolumeName
			}
			if class != nil {
				r.Claim.StorageClass = *class
			} else if cls.def != nil {
				r.Claim.StorageClass = cls.def.Name
			}
			if err := s.send(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// workloadKinds are the kinds of the rules the cluster serves, each once,
// in the rules' order; Pods and ReplicaSets are not workloads here.
func (s *scan) workloadKinds() ([]schema.GroupVersionKind, error) {
	var out []schema.GroupVersionKind
	seen := map[schema.GroupKind]bool{{Kind: "Pod"}: true, {Group: "apps", Kind: "ReplicaSet"}: true}
	for _, r := range s.cfg.Rules {
		gk := schema.GroupKind{Group: r.Group, Kind: r.Kind}
		if seen[gk] {
			continue
		}
		seen[gk] = true
		gvk, ok, err := s.resolve(gk)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, gvk)
		}
	}
	return out, nil
}

func (s *scan) workloads(ctx context.Context) error {
	kinds, err := s.workloadKinds()
	if err != nil {
		return err
	}
	for _, gvk := range kinds {
		newList := func() *unstructured.UnstructuredList {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
			return l
		}
		if err := pages(ctx, s, gvk.Kind+"s", newList, func(l *unstructured.UnstructuredList) error {
			for i := range l.Items {
				u := &l.Items[i]
				u.SetManagedFields(nil)
				r := common(inventory.KindWorkload, u)
				r.Labels = maps.Clone(r.Labels)
				obj := u.UnstructuredContent()
				r.Workload = &inventory.Workload{APIVersion: u.GetAPIVersion(), Object: obj,
					Decision: u.GetAnnotations()[annotationDecision]}
				if err := s.send(r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

var volumeSnapshot = schema.GroupKind{Group: "snapshot.storage.k8s.io", Kind: "VolumeSnapshot"}

func (s *scan) snapshots(ctx context.Context) error {
	gvk, ok, err := s.resolve(volumeSnapshot)
	if err != nil || !ok {
		return err
	}
	newList := func() *unstructured.UnstructuredList {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		return l
	}
	return pages(ctx, s, "volume snapshots", newList, func(l *unstructured.UnstructuredList) error {
		for i := range l.Items {
			u := &l.Items[i]
			r := common(inventory.KindVolumeSnapshot, u)
			r.VolumeSnapshot = snapshotOf(u.Object)
			if err := s.send(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// snapshotOf reads a VolumeSnapshot's source claim, readiness and the time
// the snapshot was taken (status.creationTime: when the storage system cut
// it, not when the object was made).
func snapshotOf(obj map[string]any) *inventory.VolumeSnapshot {
	v := &inventory.VolumeSnapshot{}
	v.SourceClaim, _, _ = unstructured.NestedString(obj, "spec", "source", "persistentVolumeClaimName")
	v.ReadyToUse, _, _ = unstructured.NestedBool(obj, "status", "readyToUse")
	if t, _, _ := unstructured.NestedString(obj, "status", "creationTime"); t != "" {
		if parsed, err := time.Parse(time.RFC3339, t); err == nil {
			v.Taken = parsed.UTC()
		}
	}
	return v
}
