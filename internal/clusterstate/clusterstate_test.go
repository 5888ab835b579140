package clusterstate

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

func TestReadSnapshot(t *testing.T) {
	state := `
apiVersion: v1
kind: Namespace
metadata: {name: vision, labels: {quartermaster.io/team: vision}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: gp3-enc, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: ebs.csi.aws.com
parameters: {encrypted: "true"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {namespace: vision, name: data}
spec: {storageClassName: gp3-enc}
`
	usage := `
usage:
  - {cloud: aws, region: us-east-1, gpuModel: H100, gpus: 48}
  - {cloud: aws, region: us-east-1, gpuModel: H100, gpus: 8}
`
	s, err := ReadSnapshot(strings.NewReader(state), strings.NewReader(usage))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.NamespaceLabels("vision")["quartermaster.io/team"]; got != "vision" {
		t.Errorf("team label %q", got)
	}
	if s.NamespaceLabels("nope") != nil {
		t.Error("unknown namespace has labels")
	}
	if got := s.GPUUsage()[quota.Key{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}]; got != 56 {
		t.Errorf("usage %d, want 56 (entries add up)", got)
	}
	if sc, ok := s.StorageClass("gp3-enc"); !ok || sc.Parameters["encrypted"] != "true" {
		t.Errorf("storage class %+v %v", sc, ok)
	}
	if sc, ok := s.DefaultStorageClass(); !ok || sc.Name != "gp3-enc" {
		t.Errorf("default class %+v %v", sc, ok)
	}
	if c, ok := s.Claim("vision", "data"); !ok || c.StorageClass == nil || *c.StorageClass != "gp3-enc" {
		t.Errorf("claim %+v %v", c, ok)
	}
}

func TestReadSnapshotErrors(t *testing.T) {
	tests := map[string]struct{ state, usage, want string }{
		"not yaml":          {state: "kind: [", want: "reading cluster state"},
		"incomplete usage":  {usage: "usage: [{cloud: aws, gpus: 3}]", want: "usage entry 1: cloud, region and gpuModel are required"},
		"negative usage":    {usage: "usage: [{cloud: aws, region: r, gpuModel: L4, gpus: -1}]", want: "gpus -1"},
		"unknown usage key": {usage: "usage: [{cloud: aws, region: r, model: L4, gpus: 1}]", want: "parsing usage file"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var state, usage io.Reader
			if tc.state != "" {
				state = strings.NewReader(tc.state)
			}
			if tc.usage != "" {
				usage = strings.NewReader(tc.usage)
			}
			_, err := ReadSnapshot(state, usage)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
		})
	}
}

func gpuPod(name, node string, gpus int64, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ml"},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{"nvidia.com/gpu": *resource.NewQuantity(gpus, resource.DecimalSI)}}}}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

// TestInformers fills a fake API server and checks the state the webhook
// would read: labels, usage keyed by the node's cloud/region and the
// catalog's model for its instance type, storage objects.
func TestInformers(t *testing.T) {
	sc := "gp3-enc"
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml", Labels: map[string]string{"quartermaster.io/team": "ml"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
			"quartermaster.io/cloud": "aws", "topology.kubernetes.io/region": "us-east-1", "node.kubernetes.io/instance-type": "p5.48xlarge"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2", Labels: map[string]string{
			"quartermaster.io/cloud": "gcp", "topology.kubernetes.io/region": "us-central1", "nvidia.com/gpu.product": "NVIDIA-L4"}}},
		gpuPod("a", "n1", 8, corev1.PodRunning),
		gpuPod("b", "n1", 4, corev1.PodPending),
		gpuPod("c", "n1", 8, corev1.PodSucceeded), // finished: holds nothing
		gpuPod("d", "", 8, corev1.PodPending),     // unscheduled: holds nothing yet
		gpuPod("e", "n2", 1, corev1.PodRunning),
		pinnedPod("f", 2, "aws", "us-east-1", "p5.48xlarge"), // placed, not bound yet: holds where it is pinned
		pinnedPod("g", 2, "aws", "us-east-1", ""),            // could land on any instance type: holds nothing yet
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: sc}, Provisioner: "ebs.csi.aws.com", Parameters: map[string]string{"encrypted": "true"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ml"}, Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &sc, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Ti")}}}},
	)
	inf, err := NewInformers(client, InformerOptions{Debounce: time.Millisecond, ModelOf: func(cloud, it string) string {
		if cloud == "aws" && it == "p5.48xlarge" {
			return "H100"
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inf.Start(ctx)
	if !waitForSync(ctx, inf) {
		t.Fatal("caches did not sync")
	}
	want := quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 14, {Cloud: "gcp", Region: "us-central1", GPUModel: "L4"}: 1}
	waitFor(t, ctx, inf, func() bool { return equalCounts(inf.GPUUsage(), want) })
	if got := inf.NamespaceLabels("ml")["quartermaster.io/team"]; got != "ml" {
		t.Errorf("namespace label %q", got)
	}
	if c, ok := inf.StorageClass(sc); !ok || c.Provisioner != "ebs.csi.aws.com" {
		t.Errorf("storage class %+v", c)
	}
	if c, ok := inf.Claim("ml", "data"); !ok || c.StorageClass == nil || *c.StorageClass != sc {
		t.Errorf("claim %+v", c)
	}

	// A pod finishing releases its GPUs; a deleted one too.
	if _, err := client.CoreV1().Pods("ml").UpdateStatus(ctx, gpuPod("a", "n1", 8, corev1.PodSucceeded), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Pods("ml").Delete(ctx, "e", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 6}
	waitFor(t, ctx, inf, func() bool { return equalCounts(inf.GPUUsage(), want) })

	// Binding the pinned pod moves nothing: it is counted once, now at its node.
	bound := pinnedPod("f", 2, "aws", "us-east-1", "p5.48xlarge")
	bound.Spec.NodeName = "n1"
	if _, err := client.CoreV1().Pods("ml").Update(ctx, bound, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, inf, func() bool { return equalCounts(inf.GPUUsage(), want) })
	if err := client.CoreV1().Pods("ml").Delete(ctx, "f", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = quota.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 4}
	waitFor(t, ctx, inf, func() bool { return equalCounts(inf.GPUUsage(), want) })
}

// pinnedPod is an unbound GPU pod whose required node affinity pins the
// given labels, as the webhook's patch does ("" leaves a label out).
func pinnedPod(name string, gpus int64, cloud, region, instanceType string) *corev1.Pod {
	p := gpuPod(name, "", gpus, corev1.PodPending)
	var reqs []corev1.NodeSelectorRequirement
	for k, v := range map[string]string{"quartermaster.io/cloud": cloud, "topology.kubernetes.io/region": region, "node.kubernetes.io/instance-type": instanceType} {
		if v != "" {
			reqs = append(reqs, corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{v}})
		}
	}
	p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: reqs}}}}}
	return p
}

// TestPinnedKey covers how node selectors and required node affinity terms
// pin an unbound pod, or leave it open.
func TestPinnedKey(t *testing.T) {
	const cloud, region, it = "quartermaster.io/cloud", "topology.kubernetes.io/region", "node.kubernetes.io/instance-type"
	in := func(k, v string) corev1.NodeSelectorRequirement {
		return corev1.NodeSelectorRequirement{Key: k, Operator: corev1.NodeSelectorOpIn, Values: []string{v}}
	}
	term := func(reqs ...corev1.NodeSelectorRequirement) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: reqs}
	}
	full := term(in(cloud, "aws"), in(region, "us-east-1"), in(it, "p5.48xlarge"))
	h100 := quota.Key{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}
	inf := &Informers{opts: InformerOptions{Labels: workload.DefaultLabelKeys(), ModelOf: func(c, i string) string {
		if c == "aws" && i == "p5.48xlarge" {
			return "H100"
		}
		return ""
	}}}
	for _, tc := range []struct {
		name     string
		selector map[string]string
		terms    []corev1.NodeSelectorTerm
		want     quota.Key
	}{
		{"affinity pins all three", nil, []corev1.NodeSelectorTerm{full}, h100},
		{"node selector pins all three", map[string]string{cloud: "aws", region: "us-east-1", it: "p5.48xlarge"}, nil, h100},
		{"selector and affinity combine", map[string]string{cloud: "aws"}, []corev1.NodeSelectorTerm{term(in(region, "us-east-1"), in(it, "p5.48xlarge"))}, h100},
		{"two terms agree", nil, []corev1.NodeSelectorTerm{full, full}, h100},
		{"two terms disagree", nil, []corev1.NodeSelectorTerm{full, term(in(cloud, "aws"), in(region, "eu-west-1"), in(it, "p5.48xlarge"))}, quota.Key{}},
		{"second term open", nil, []corev1.NodeSelectorTerm{full, term(in(cloud, "aws"))}, quota.Key{}},
		{"selector contradicts affinity", map[string]string{region: "eu-west-1"}, []corev1.NodeSelectorTerm{full}, quota.Key{}},
		{"several values", nil, []corev1.NodeSelectorTerm{term(in(cloud, "aws"), in(it, "p5.48xlarge"),
			corev1.NodeSelectorRequirement{Key: region, Operator: corev1.NodeSelectorOpIn, Values: []string{"us-east-1", "us-west-2"}})}, quota.Key{}},
		{"other operator", nil, []corev1.NodeSelectorTerm{term(in(cloud, "aws"), in(it, "p5.48xlarge"),
			corev1.NodeSelectorRequirement{Key: region, Operator: corev1.NodeSelectorOpExists})}, quota.Key{}},
		{"instance type unknown to the catalog", nil, []corev1.NodeSelectorTerm{term(in(cloud, "aws"), in(region, "us-east-1"), in(it, "m5.large"))}, quota.Key{}},
		{"nothing pinned", nil, nil, quota.Key{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := gpuPod("p", "", 1, corev1.PodPending)
			p.Spec.NodeSelector = tc.selector
			if tc.terms != nil {
				p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: tc.terms}}}
			}
			if got := inf.pinnedKey(p); got != tc.want {
				t.Errorf("pinnedKey = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// waitFor polls: informer events arrive asynchronously.
func waitFor(t *testing.T, ctx context.Context, inf *Informers, ok func() bool) {
	t.Helper()
	for !ok() || !inf.HasSynced() {
		select {
		case <-ctx.Done():
			t.Fatalf("state never reached; usage %v", inf.GPUUsage())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func equalCounts(a, b quota.GPUCounts) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestExampleFiles keeps the documented example files loadable.
func TestExampleFiles(t *testing.T) {
	s, err := ReadSnapshotFiles("../../examples/cluster-state.yaml", "../../examples/usage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.GPUUsage()[quota.Key{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}]; got != 48 {
		t.Errorf("usage %d, want 48", got)
	}
	if _, ok := s.DefaultStorageClass(); !ok {
		t.Error("the example cluster state has a default StorageClass")
	}
	if _, err := ReadSnapshotFiles("no-such-file.yaml", ""); err == nil || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// ownedPod is a bound GPU pod controlled by kind/name.
func ownedPod(name string, gpus int64, kind, owner string) *corev1.Pod {
	p := gpuPod(name, "n1", gpus, corev1.PodRunning)
	yes := true
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: owner, UID: types.UID("u-" + owner), Controller: &yes}}
	return p
}

// TestOwnerUsage: a pod's GPUs are charged to the object at the top of its
// owner chain (a Deployment through its ReplicaSets, a CronJob through its
// Jobs, a bare Pod to itself), and follow the chain as it changes.
func TestOwnerUsage(t *testing.T) {
	yes := true
	controlledBy := func(kind, name string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: kind, Name: name, UID: types.UID("u-" + name), Controller: &yes}}
	}
	client := fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
			"quartermaster.io/cloud": "aws", "topology.kubernetes.io/region": "us-east-1", "node.kubernetes.io/instance-type": "p5.48xlarge"}}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: "ml", OwnerReferences: controlledBy("Deployment", "api")}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "api-2", Namespace: "ml", OwnerReferences: controlledBy("Deployment", "api")}},
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly-1", Namespace: "ml", OwnerReferences: controlledBy("CronJob", "nightly")}},
		ownedPod("api-1-a", 2, "ReplicaSet", "api-1"),
		ownedPod("api-2-a", 1, "ReplicaSet", "api-2"), // mid-rollout: both ReplicaSets are the Deployment's
		ownedPod("nightly-1-a", 4, "Job", "nightly-1"),
		ownedPod("train-0", 8, "StatefulSet", "train"),
		gpuPod("bare", "n1", 1, corev1.PodRunning),
	)
	inf, err := NewInformers(client, InformerOptions{Debounce: time.Millisecond, ModelOf: func(string, string) string { return "H100" }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inf.Start(ctx)
	if !waitForSync(ctx, inf) {
		t.Fatal("caches did not sync")
	}
	h100 := quota.Key{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}
	want := map[[2]string]int64{
		{"Deployment", "api"}: 3, {"CronJob", "nightly"}: 4, {"StatefulSet", "train"}: 8, {"Pod", "bare"}: 1,
		{"ReplicaSet", "api-1"}: 0, {"Job", "nightly-1"}: 0, {"Deployment", "other"}: 0,
	}
	check := func() bool {
		for o, n := range want {
			if inf.OwnerUsage("ml", o[0], o[1])[h100] != n {
				return false
			}
		}
		return true
	}
	waitFor(t, ctx, inf, check)

	// The Deployment's old ReplicaSet scaled away: its pod is gone.
	if err := client.CoreV1().Pods("ml").Delete(ctx, "api-1-a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want[[2]string{"Deployment", "api"}] = 1
	waitFor(t, ctx, inf, check)
	if inf.OwnerUsage("other", "Deployment", "api") != nil {
		t.Error("usage leaks across namespaces")
	}
}

// waitForSync blocks until the informers' caches hold their initial lists
// or ctx ends. A test helper, not API: the webhook polls HasSynced from
// /readyz instead of blocking its start.
func waitForSync(ctx context.Context, inf *Informers) bool {
	return cache.WaitForCacheSync(ctx.Done(), inf.synced...)
}
