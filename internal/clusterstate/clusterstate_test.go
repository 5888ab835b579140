package clusterstate

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/quartermaster-io/quartermaster/internal/placement"
)

func TestReadSnapshot(t *testing.T) {
	state := `
namespaces:
  - {name: vision, labels: {quartermaster.io/team: vision}}
usage:
  - {cloud: aws, region: us-east-1, gpuModel: H100, gpus: 48}
  - {cloud: aws, region: us-east-1, gpuModel: H100, gpus: 8}
storageClasses:
  - {name: gp3-enc, provisioner: ebs.csi.aws.com, parameters: {encrypted: "true"}}
persistentVolumeClaims:
  - {namespace: vision, name: data, storageClassName: gp3-enc, size: 2Ti}
`
	inventory := `
datasets:
  - {location: "s3://corpus-eu/v3/", cloud: aws, region: eu-west-1, encrypted: true, keyKind: customer-managed, sizeBytes: 1000}
`
	s, err := ReadSnapshot(strings.NewReader(state), strings.NewReader(inventory))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.NamespaceLabels("vision")["quartermaster.io/team"]; got != "vision" {
		t.Errorf("team label %q", got)
	}
	if s.NamespaceLabels("nope") != nil {
		t.Error("unknown namespace has labels")
	}
	if got := s.GPUUsage()[placement.QuotaKey{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}]; got != 56 {
		t.Errorf("usage %d, want 56 (entries add up)", got)
	}
	if sc, ok := s.StorageClass("gp3-enc"); !ok || sc.Parameters["encrypted"] != "true" {
		t.Errorf("storage class %+v %v", sc, ok)
	}
	if p, ok := s.PVC("vision", "data"); !ok || p.Size != "2Ti" {
		t.Errorf("pvc %+v %v", p, ok)
	}
	if d, ok := s.Dataset("s3://corpus-eu/v3/"); !ok || d.KeyKind != "customer-managed" {
		t.Errorf("dataset %+v %v", d, ok)
	}
}

func TestReadSnapshotErrors(t *testing.T) {
	tests := map[string]struct{ state, want string }{
		"unknown field":     {"namespacez: []", `cluster state: error unmarshaling JSON: while decoding JSON: json: unknown field "namespacez"`},
		"nameless ns":       {"namespaces: [{labels: {a: b}}]", "cluster state: namespaces[0]: name is required"},
		"incomplete usage":  {"usage: [{cloud: aws, gpus: 3}]", "cluster state: usage[0]: want cloud, region, gpuModel and gpus >= 0"},
		"negative usage":    {"usage: [{cloud: aws, region: r, gpuModel: L4, gpus: -1}]", "cluster state: usage[0]: want cloud, region, gpuModel and gpus >= 0"},
		"pvc without names": {"persistentVolumeClaims: [{name: x}]", "cluster state: persistentVolumeClaims[0]: namespace and name are required"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadSnapshot(strings.NewReader(tc.state), nil)
			if err == nil || err.Error() != tc.want {
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
	if !inf.WaitForSync(ctx) {
		t.Fatal("caches did not sync")
	}
	want := placement.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 12, {Cloud: "gcp", Region: "us-central1", GPUModel: "L4"}: 1}
	waitFor(t, ctx, inf, func() bool { return equalCounts(inf.GPUUsage(), want) })
	if got := inf.NamespaceLabels("ml")["quartermaster.io/team"]; got != "ml" {
		t.Errorf("namespace label %q", got)
	}
	if c, ok := inf.StorageClass(sc); !ok || c.Provisioner != "ebs.csi.aws.com" {
		t.Errorf("storage class %+v", c)
	}
	if p, ok := inf.PVC("ml", "data"); !ok || p.StorageClassName != sc || p.Size != "2Ti" {
		t.Errorf("pvc %+v", p)
	}

	// A pod finishing releases its GPUs; a deleted one too.
	if _, err := client.CoreV1().Pods("ml").UpdateStatus(ctx, gpuPod("a", "n1", 8, corev1.PodSucceeded), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := client.CoreV1().Pods("ml").Delete(ctx, "e", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want = placement.GPUCounts{{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}: 4}
	waitFor(t, ctx, inf, func() bool { return equalCounts(inf.GPUUsage(), want) })
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

func equalCounts(a, b placement.GPUCounts) bool {
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
	s, err := ReadSnapshotFiles("../../examples/cluster-state.yaml", "../../examples/inventory.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.GPUUsage()[placement.QuotaKey{Cloud: "aws", Region: "us-east-1", GPUModel: "H100"}]; got != 48 {
		t.Errorf("usage %d, want 48", got)
	}
	if _, ok := s.Dataset("s3://corpus-eu/v3/"); !ok {
		t.Error("example dataset missing")
	}
	if _, err := ReadSnapshotFiles("no-such-file.yaml", ""); err == nil || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
