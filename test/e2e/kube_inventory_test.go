//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/inventory/kube"
)

// kubeContext is the context hack/cluster-up.sh writes into the kubeconfig.
const kubeContext = "quartermaster-local"

// countingClient counts the list calls of a controller-runtime client by
// list type, and remembers every page size asked for.
type countingClient struct {
	client.Client
	mu     sync.Mutex
	calls  map[string]int
	limits map[int64]int
	// pages are the items each call returned, by list type, and whether a
	// continue token came with them.
	pages map[string][]page
}

type page struct {
	items int
	more  bool
}

func (c *countingClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	o := (&client.ListOptions{}).ApplyOptions(opts)
	what := fmt.Sprintf("%T", list)
	if u, ok := list.(*unstructured.UnstructuredList); ok {
		what = u.GetKind()
	} else if m, ok := list.(*metav1.PartialObjectMetadataList); ok {
		what = "metadata:" + m.GetObjectKind().GroupVersionKind().Kind
	}
	err := c.Client.List(ctx, list, opts...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[what]++
	c.limits[o.Limit]++
	if err == nil {
		c.pages[what] = append(c.pages[what], page{meta.LenList(list), list.GetContinue() != ""})
	}
	return err
}

// adminClient is a controller-runtime client of the test cluster.
func adminClient(t testing.TB) client.Client {
	t.Helper()
	// controller-runtime warns, with a stack, when its logger is never set.
	ctrllog.SetLogger(logr.Discard())
	c, err := kube.ClientFor(inventory.Account{Cloud: inventory.CloudKube, ID: kubeContext, Kubeconfig: cluster.kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func create(t testing.TB, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

func gpuContainer(gpus string) corev1.Container {
	c := corev1.Container{Name: "main", Image: "registry.k8s.io/pause:3.10"}
	if gpus != "" {
		c.Resources.Requests = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse(gpus)}
		c.Resources.Limits = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse(gpus)}
	}
	return c
}

func fakeNode(name, instanceType, zone, providerID string, gpus string, labels map[string]string) *corev1.Node {
	l := map[string]string{"node.kubernetes.io/instance-type": instanceType, "topology.kubernetes.io/region": "us-east-1",
		"topology.kubernetes.io/zone": zone, "type": "kwok"}
	for k, v := range labels {
		l[k] = v
	}
	res := corev1.ResourceList{"cpu": resource.MustParse("32"), "memory": resource.MustParse("256Gi"),
		"pods": resource.MustParse("110"), "nvidia.com/gpu": resource.MustParse(gpus)}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l, Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}},
		Spec: corev1.NodeSpec{ProviderID: providerID,
			Taints: []corev1.Taint{{Key: "kwok.x-k8s.io/node", Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res},
	}
}

// TestKubeInventory scans the real cluster with the Kubernetes inventory
// source: namespaces, KWOK nodes, a claim bound to a volume of an encrypted
// class, the GPU pods of a Deployment (through its ReplicaSet) and of a Job
// owned by a CronJob, a PyTorchJob from its CRD and a VolumeSnapshot, all
// made by the real controllers; with pages of 2, so that every kind takes
// several list calls.
func TestKubeInventory(t *testing.T) {
	ctx := context.Background()
	c := adminClient(t)
	const nsA, nsB = "qm-kinv-a", "qm-kinv-b"
	exemptNamespace(t, nsA)
	exemptNamespace(t, nsB)
	kubectl(t, "label", "namespace", nsA, "quartermaster.io/team=vision").must(t, "labelling "+nsA)

	// Two nodes, both AWS by their provider IDs: the cluster's catalog
	// nodes carry none, so every record is in aws.
	nodeA := fakeNode("qm-kinv-p5", "p5.48xlarge", "us-east-1a", "aws:///us-east-1a/i-0aaaaaaaaaaaaaaaa", "8",
		map[string]string{"karpenter.sh/capacity-type": "spot"})
	nodeB := fakeNode("qm-kinv-g6", "g6.xlarge", "us-east-1b", "aws:///us-east-1b/i-0bbbbbbbbbbbbbbbb", "1",
		map[string]string{"quartermaster.io/capacity-type": "on-demand"})
	create(t, c, nodeA, nodeB)
	t.Cleanup(func() {
		_ = c.Delete(ctx, nodeA)
		_ = c.Delete(ctx, nodeB)
	})
	tolerate := []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists}}

	// Storage: an EBS class with a customer key, a volume pre-bound to a
	// claim (the real PV controller binds them), and a claim that binds
	// to nothing.
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "qm-kinv-ebs-cmk"}, Provisioner: "ebs.csi.aws.com",
		Parameters: map[string]string{"encrypted": "true", "kmsKeyId": "arn:aws:kms:us-east-1:111122223333:key/qm-kinv"}}
	fs := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "qm-kinv-pv"}, Spec: corev1.PersistentVolumeSpec{
		Capacity:         corev1.ResourceList{"storage": resource.MustParse("100Gi")},
		AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		StorageClassName: class.Name, VolumeMode: &fs,
		ClaimRef:               &corev1.ObjectReference{Namespace: nsA, Name: "data"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-0qmkinv"}},
	}}
	claim := func(ns, name, volume, size string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class.Name, VolumeName: volume, VolumeMode: &fs,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse(size)}},
		}}
	}
	create(t, c, class, pv, claim(nsA, "data", pv.Name, "100Gi"), claim(nsB, "orphan", "", "5Gi"))
	t.Cleanup(func() {
		_ = c.Delete(ctx, pv)
		_ = c.Delete(ctx, class)
	})

	// A Deployment of two 2-GPU pods mounting the claim, pinned to node A.
	two := int32(2)
	labels := map[string]string{"app": "trainer"}
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsA, Name: "trainer", Labels: labels,
			Annotations: map[string]string{"quartermaster.io/decision": `{"id":"qm-kinv","cloud":"aws","region":"us-east-1"}`}},
		Spec: appsv1.DeploymentSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				NodeName: nodeA.Name, Tolerations: tolerate, Containers: []corev1.Container{gpuContainer("2")},
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}},
			}}},
	}
	// A CronJob that never fires, and a Job it owns: its pod runs to
	// completion on node B (KWOK completes Job pods).
	suspend := true
	cron := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "nightly"}, Spec: batchv1.CronJobSpec{
		Schedule: "0 0 1 1 *", Suspend: &suspend, JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{gpuContainer("1")}}}}}}}
	create(t, c, deploy, cron)
	yes := true
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "nightly-29000000",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cron.Name, UID: cron.UID, Controller: &yes}}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{"quartermaster.io/team": "speech"}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, NodeName: nodeB.Name, Tolerations: tolerate,
				Containers: []corev1.Container{gpuContainer("1")}}}},
	}
	// A bare pod: no owner, no team.
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: nsB, Name: "debug"}, Spec: corev1.PodSpec{
		NodeName: nodeB.Name, Tolerations: tolerate, Containers: []corev1.Container{gpuContainer("")}}}
	create(t, c, job, bare)

	// CRDs: a PyTorchJob and a VolumeSnapshot, each made through kubectl
	// apply so that they carry managed fields of two managers.
	kubectl(t, "apply", "-f", filepath.Join("testdata", "pytorchjob-crd.yaml")).must(t, "installing the PyTorchJob CRD")
	kubectl(t, "apply", "-f", filepath.Join("testdata", "volumesnapshot-crd.yaml")).must(t, "installing the VolumeSnapshot CRD")
	t.Cleanup(func() {
		kubectl(t, "delete", "-f", filepath.Join("testdata", "volumesnapshot-crd.yaml"), "--wait=false")
	})
	kubectl(t, "wait", "--for=condition=Established", "crd/pytorchjobs.kubeflow.org", "crd/volumesnapshots.snapshot.storage.k8s.io", "--timeout=60s").must(t, "waiting for the CRDs")
	kubectlIn(t, []byte(`
apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: finetune, namespace: `+nsA+`, labels: {app: finetune}, annotations: {quartermaster.io/decision: '{"id":"qm-kinv-pt"}'}}
spec:
  pytorchReplicaSpecs:
    Worker: {replicas: 2, template: {spec: {containers: [{name: pytorch, image: trainer:1, resources: {limits: {nvidia.com/gpu: 8}}}]}}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: data-snap, namespace: `+nsA+`}
spec: {source: {persistentVolumeClaimName: data}}
status: {readyToUse: true, creationTime: "2026-11-28T03:00:00Z"}
`), "apply", "-f", "-").must(t, "creating the PyTorchJob and the VolumeSnapshot")
	kubectl(t, "label", "pytorchjob", "finetune", "-n", nsA, "stage=tune").must(t, "labelling the PyTorchJob (a second field manager)")

	// Wait for the controllers: both Deployment pods running, the Job done,
	// the claim bound.
	eventually(t, 90*time.Second, "the Deployment's pods running, the Job complete, the claim bound", func() error {
		var pods corev1.PodList
		if err := c.List(ctx, &pods, client.InNamespace(nsA)); err != nil {
			return err
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.Status.StartTime != nil {
				running++
			}
		}
		if running != 2 || len(pods.Items) != 2 {
			return fmt.Errorf("%d of %d pods of %s running", running, len(pods.Items), nsA)
		}
		var j batchv1.Job
		if err := c.Get(ctx, client.ObjectKeyFromObject(job), &j); err != nil {
			return err
		}
		if j.Status.Succeeded != 1 {
			return fmt.Errorf("job: %d succeeded", j.Status.Succeeded)
		}
		var b corev1.Pod
		if err := c.Get(ctx, client.ObjectKeyFromObject(bare), &b); err != nil || b.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("bare pod not running (%v)", err)
		}
		var pvc corev1.PersistentVolumeClaim
		if err := c.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "data"}, &pvc); err != nil || pvc.Status.Phase != corev1.ClaimBound {
			return fmt.Errorf("claim data not bound (%v, %s)", err, pvc.Status.Phase)
		}
		return nil
	})
	eventually(t, 60*time.Second, "the fake nodes Ready", func() error {
		for _, n := range []*corev1.Node{nodeA, nodeB} {
			var got corev1.Node
			if err := c.Get(ctx, client.ObjectKeyFromObject(n), &got); err != nil {
				return err
			}
			if !slices.ContainsFunc(got.Status.Conditions, func(c corev1.NodeCondition) bool {
				return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
			}) {
				return fmt.Errorf("node %s not Ready", n.Name)
			}
		}
		return nil
	})

	// The scan, through the inventory runner (which validates every
	// record), with a client that counts its list calls.
	counting := &countingClient{calls: map[string]int{}, limits: map[int64]int{}, pages: map[string][]page{}}
	observed := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)
	scanner, err := kube.NewScanner(kube.Config{PageSize: 2, Now: func() time.Time { return observed },
		NewClient: func(_ context.Context, a inventory.Account) (client.Client, error) {
			inner, err := kube.ClientFor(a)
			counting.Client = inner
			return counting, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	account := inventory.Account{Cloud: inventory.CloudKube, ID: kubeContext, Kubeconfig: cluster.kubeconfig}
	var got []*inventory.Resource
	runner := &inventory.Runner{Scanners: map[inventory.Cloud]inventory.Scanner{inventory.CloudKube: scanner}}
	sum, err := runner.Run(ctx, []inventory.Account{account}, func(r *inventory.Resource) error {
		got = append(got, r)
		return nil
	})
	if err != nil || sum.Failed != 0 {
		t.Fatalf("scan: %v, summary %+v", err, sum)
	}

	// Order: namespaces, nodes, pods, claims, workloads, snapshots.
	rank := map[inventory.Kind]int{inventory.KindNamespace: 0, inventory.KindNode: 1, inventory.KindPod: 2,
		inventory.KindVolumeClaim: 3, inventory.KindWorkload: 4, inventory.KindVolumeSnapshot: 5}
	counts := map[inventory.Kind]int{}
	for i, r := range got {
		counts[r.Kind]++
		if i > 0 && rank[r.Kind] < rank[got[i-1].Kind] {
			t.Errorf("record %d (%s %s) comes after a %s", i, r.Kind, r.ID, got[i-1].Kind)
		}
		if r.Cloud != inventory.CloudAWS || r.Account != kubeContext || !r.Observed.Equal(observed) {
			t.Errorf("%s %s: cloud %s, account %s, observed %s; want aws, %s, %s", r.Kind, r.ID, r.Cloud, r.Account, r.Observed, kubeContext, observed)
		}
	}

	// The exact records of this test's objects; names the controllers
	// chose and the times the cluster recorded are read back from it.
	mine := map[string]*inventory.Resource{}
	for _, r := range got {
		if r.Namespace == nsA || r.Namespace == nsB || r.ID == nsA || r.ID == nsB || strings.HasPrefix(r.ID, "qm-kinv-") {
			mine[string(r.Kind)+" "+r.ID] = r
		}
	}
	want := map[string]*inventory.Resource{}
	add := func(r *inventory.Resource, m metav1.Object) {
		r.Account, r.Cloud, r.Observed = kubeContext, inventory.CloudAWS, observed
		r.Name, r.Labels, r.Created = m.GetName(), m.GetLabels(), m.GetCreationTimestamp().UTC()
		if r.Namespace != "" {
			r.ID = r.Namespace + "/" + m.GetName()
		} else {
			r.ID = m.GetName()
		}
		want[string(r.Kind)+" "+r.ID] = r
	}
	for _, ns := range []string{nsA, nsB} {
		var n corev1.Namespace
		if err := c.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil {
			t.Fatal(err)
		}
		add(&inventory.Resource{Kind: inventory.KindNamespace}, &n)
	}
	for _, n := range []struct {
		node           *corev1.Node
		zone, capacity string
		gpus           int64
	}{{nodeA, "us-east-1a", "spot", 8}, {nodeB, "us-east-1b", "on-demand", 1}} {
		var live corev1.Node
		if err := c.Get(ctx, client.ObjectKeyFromObject(n.node), &live); err != nil {
			t.Fatal(err)
		}
		add(&inventory.Resource{Kind: inventory.KindNode, Region: "us-east-1", Zone: n.zone, Node: &inventory.Node{
			InstanceType: n.node.Labels["node.kubernetes.io/instance-type"], CapacityType: n.capacity,
			ProviderID: n.node.Spec.ProviderID, GPUs: map[string]int64{"nvidia.com/gpu": n.gpus}, Ready: true}}, &live)
	}
	var podsA, podsB corev1.PodList
	if err := c.List(ctx, &podsA, client.InNamespace(nsA)); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &podsB, client.InNamespace(nsB)); err != nil {
		t.Fatal(err)
	}
	var mounters []string
	for i := range podsA.Items {
		p := &podsA.Items[i]
		mounters = append(mounters, nsA+"/"+p.Name)
		add(&inventory.Resource{Kind: inventory.KindPod, Namespace: nsA, Region: "us-east-1", Zone: "us-east-1a", Pod: &inventory.Pod{
			NodeName: nodeA.Name, Phase: "Running", GPUs: map[string]int64{"nvidia.com/gpu": 2}, Owner: "Deployment/trainer",
			Team: "vision", Claims: []string{"data"}, StartTime: p.Status.StartTime.UTC()}}, p)
	}
	for i := range podsB.Items {
		p := &podsB.Items[i]
		r := &inventory.Resource{Kind: inventory.KindPod, Namespace: nsB, Region: "us-east-1", Zone: "us-east-1b", Pod: &inventory.Pod{
			NodeName: nodeB.Name, Phase: string(p.Status.Phase), StartTime: p.Status.StartTime.UTC()}}
		if p.Name != bare.Name {
			r.Pod.Phase, r.Pod.GPUs, r.Pod.Owner, r.Pod.Team = "Succeeded", map[string]int64{"nvidia.com/gpu": 1}, "CronJob/nightly", "speech"
		}
		add(r, p)
	}
	if len(podsB.Items) != 2 {
		t.Errorf("%s has %d pods, want the Job's and the bare one", nsB, len(podsB.Items))
	}
	for _, k := range []client.ObjectKey{{Namespace: nsA, Name: "data"}, {Namespace: nsB, Name: "orphan"}} {
		var live corev1.PersistentVolumeClaim
		if err := c.Get(ctx, k, &live); err != nil {
			t.Fatal(err)
		}
		r := &inventory.Resource{Kind: inventory.KindVolumeClaim, Namespace: k.Namespace, Claim: &inventory.Claim{
			StorageClass: class.Name, SizeGiB: 5,
			Encryption: inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: class.Parameters["kmsKeyId"]}}}
		if k.Name == "data" {
			r.Claim.Volume, r.Claim.SizeGiB, r.Claim.MountedBy = pv.Name, 100, mounters
		}
		add(r, &live)
	}
	var snap unstructured.Unstructured
	snap.SetAPIVersion("snapshot.storage.k8s.io/v1")
	snap.SetKind("VolumeSnapshot")
	if err := c.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "data-snap"}, &snap); err != nil {
		t.Fatal(err)
	}
	add(&inventory.Resource{Kind: inventory.KindVolumeSnapshot, Namespace: nsA, VolumeSnapshot: &inventory.VolumeSnapshot{
		SourceClaim: "data", ReadyToUse: true, Taken: time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)}}, &snap)

	// Workloads: the object is compared by identity, labels and decision
	// (its status moves with the controllers), and must hold no managed
	// fields although the API server recorded some.
	workloads := map[string]struct{ apiVersion, kind, decision string }{
		nsA + "/trainer":          {"apps/v1", "Deployment", deploy.Annotations["quartermaster.io/decision"]},
		nsA + "/finetune":         {"kubeflow.org/v1", "PyTorchJob", `{"id":"qm-kinv-pt"}`},
		nsB + "/nightly":          {"batch/v1", "CronJob", ""},
		nsB + "/nightly-29000000": {"batch/v1", "Job", ""},
	}
	for id, w := range workloads {
		ns, name, _ := strings.Cut(id, "/")
		var live unstructured.Unstructured
		live.SetAPIVersion(w.apiVersion)
		live.SetKind(w.kind)
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &live); err != nil {
			t.Fatal(err)
		}
		if len(live.GetManagedFields()) == 0 {
			t.Errorf("%s %s has no managed fields in the cluster: the test proves nothing", w.kind, id)
		}
		r := mine["Workload "+id]
		if r == nil || r.Workload == nil {
			t.Errorf("no Workload record for %s %s", w.kind, id)
			continue
		}
		if _, has := r.Workload.Object["metadata"].(map[string]any)["managedFields"]; has {
			t.Errorf("Workload %s keeps its managed fields", id)
		}
		if r.Workload.Object["kind"] != w.kind || r.Workload.APIVersion != w.apiVersion || r.Workload.Decision != w.decision {
			t.Errorf("Workload %s: kind %v, apiVersion %s, decision %q; want %s, %s, %q", id, r.Workload.Object["kind"],
				r.Workload.APIVersion, r.Workload.Decision, w.kind, w.apiVersion, w.decision)
		}
		add(&inventory.Resource{Kind: inventory.KindWorkload, Namespace: ns, Workload: r.Workload}, &live)
	}
	if diff := cmp.Diff(want, mine, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("records of the test's objects (-want +got):\n%s", diff)
	}

	// Pagination: every call asked for pages of 2; every page but the
	// last of a kind was full and came with a continue token, which the
	// source followed to the end. (Counted from the responses themselves,
	// so that objects other tests create or delete meanwhile cannot make
	// this flaky.) The kinds with more than 2 objects took several calls.
	if len(counting.limits) != 1 || counting.limits[2] == 0 {
		t.Errorf("page sizes asked: %v, want only 2", counting.limits)
	}
	for what, ps := range counting.pages {
		for i, p := range ps {
			last := i == len(ps)-1
			if p.more == last || (!last && p.items != 2) || p.items > 2 {
				t.Errorf("%s page %d of %d: %d items, continue %v", what, i+1, len(ps), p.items, p.more)
			}
		}
	}
	for what, least := range map[string]int{"*v1.NodeList": (counts[inventory.KindNode] + 1) / 2,
		"*v1.PodList": (counts[inventory.KindPod] + 1) / 2, "*v1.NamespaceList": (counts[inventory.KindNamespace] + 1) / 2} {
		if counting.calls[what] != least || least < 2 {
			t.Errorf("%s: %d list calls, want %d (≥ 2) for the records emitted", what, counting.calls[what], least)
		}
	}
	t.Logf("%d records (%v); list calls with pages of 2: %v", len(got), counts, counting.calls)
}
