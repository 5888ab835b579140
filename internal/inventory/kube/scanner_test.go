package kube

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta/testrestmapper"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
)

// fakeScanner scans a controller-runtime fake client holding objs. The
// fake client neither paginates nor serves CRDs: the e2e test
// (test/e2e/kube_inventory_test.go) covers both against a real API server;
// this one covers the joins, the order and the errors.
func fakeScanner(t *testing.T, objs ...client.Object) *Scanner {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(scheme).WithRESTMapper(testrestmapper.TestOnlyStaticRESTMapper(scheme)).WithObjects(objs...).Build()
	s, err := NewScanner(Config{NewClient: func(context.Context, inventory.Account) (client.Client, error) { return c, nil },
		Now: func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func joinFixture() []client.Object {
	yes := true
	class := "gp3"
	labels := map[string]string{"app": "serve"}
	return []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ml", Labels: map[string]string{"quartermaster.io/team": "vision"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"topology.kubernetes.io/region": "eu-west-1"}},
			Spec:   corev1.NodeSpec{ProviderID: "aws:///eu-west-1a/i-1"},
			Status: corev1.NodeStatus{Allocatable: corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("8")}}},
		&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "gp3"}, Provisioner: "ebs.csi.aws.com"},
		&corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: corev1.PersistentVolumeSpec{
			Capacity: corev1.ResourceList{"storage": resource.MustParse("1536Mi")}, StorageClassName: "gp3",
			ClaimRef: &corev1.ObjectReference{Namespace: "ml", Name: "data"}}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "data"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class, VolumeName: "pv1"}},
		// A claim naming a volume bound to another claim is not bound.
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "squatter"},
			Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class, VolumeName: "pv1",
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": resource.MustParse("10Gi")}}}},
		&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "serve"}, Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}}},
		&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "serve-1",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "serve", UID: "u1", Controller: &yes}}},
			Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "serve-1-a",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "serve-1", UID: "u2", Controller: &yes}}},
			Spec: corev1.PodSpec{NodeName: "n1", Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "done"},
			Spec:   corev1.PodSpec{Volumes: []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded}},
	}
}

func TestScanJoins(t *testing.T) {
	s := fakeScanner(t, joinFixture()...)
	var got []*inventory.Resource
	if err := s.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "ctx"}, func(r *inventory.Resource) error {
		if err := r.Validate(); err != nil {
			t.Errorf("invalid record: %v", err)
		}
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var kinds []inventory.Kind
	byID := map[string]*inventory.Resource{}
	for _, r := range got {
		kinds = append(kinds, r.Kind)
		byID[string(r.Kind)+" "+r.ID] = r
		if r.Cloud != inventory.CloudAWS || r.Account != "ctx" {
			t.Errorf("%s %s: cloud %s account %s, want aws, ctx", r.Kind, r.ID, r.Cloud, r.Account)
		}
	}
	want := []inventory.Kind{"Namespace", "Node", "Pod", "Pod", "VolumeClaim", "VolumeClaim", "Workload"}
	if len(kinds) != len(want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("kinds %v, want %v", kinds, want)
		}
	}
	pod := byID["Pod ml/serve-1-a"].Pod
	if pod.Owner != "Deployment/serve" || pod.Team != "vision" || byID["Pod ml/serve-1-a"].Region != "eu-west-1" {
		t.Errorf("pod: %+v", pod)
	}
	claim := byID["VolumeClaim ml/data"].Claim
	if claim.SizeGiB != 2 || claim.Volume != "pv1" || claim.StorageClass != "gp3" || claim.Encryption.Encrypted ||
		len(claim.MountedBy) != 1 || claim.MountedBy[0] != "ml/serve-1-a" {
		t.Errorf("claim: %+v (a finished pod does not hold it; gp3 without encrypted is unencrypted)", claim)
	}
	if sq := byID["VolumeClaim ml/squatter"].Claim; sq.Volume != "" || sq.SizeGiB != 10 || len(sq.MountedBy) != 0 {
		t.Errorf("claim naming another claim's volume: %+v, want unbound, its requested 10 GiB", sq)
	}
	if w := byID["Workload ml/serve"].Workload; w == nil || w.APIVersion != "apps/v1" {
		t.Errorf("workload: %+v", w)
	}
}

func TestScanStopsOnEmitError(t *testing.T) {
	s := fakeScanner(t, joinFixture()...)
	stop := errors.New("sink full")
	n := 0
	err := s.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "ctx"}, func(*inventory.Resource) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("err %v after %d records, want the emit error after 3", err, n)
	}
}

func TestScanClientError(t *testing.T) {
	s, _ := NewScanner(Config{NewClient: func(context.Context, inventory.Account) (client.Client, error) {
		return nil, errors.New("no such context")
	}})
	err := s.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "gone"}, func(*inventory.Resource) error { return nil })
	if err == nil || err.Error() != "cluster gone: no such context" {
		t.Errorf("err = %v", err)
	}
}

// A list whose continue token expired mid-scan (410 ResourceExpired, as an
// API server answers once etcd has compacted past it) goes on with the
// token the answer carries, which starts at the same key in the latest
// data: every object once, none twice. Without a token in the answer the
// scan fails saying so.
func TestScanGoesOnPastAnExpiredContinue(t *testing.T) {
	var objs []client.Object
	for i := range 7 {
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%d", i)}})
	}
	expired := func(token string) error {
		err := apierrors.NewResourceExpired("The provided continue parameter is too old to display a consistent list result.")
		err.ErrStatus.ListMeta.Continue = token
		return err
	}
	tests := map[string]struct {
		answer  error // to the list with continue token "2"
		wantErr string
	}{
		"with a token":    {answer: expired("2@latest")},
		"without a token": {answer: expired(""), wantErr: "listing namespaces: The provided continue parameter is too old"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			base := fake.NewClientBuilder().WithScheme(scheme).WithRESTMapper(testrestmapper.TestOnlyStaticRESTMapper(scheme)).WithObjects(objs...).Build()
			// The fake client does not paginate: this one serves namespaces
			// one to a page, its continue token the next index.
			c := interceptor.NewClient(base, interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
				l, ok := list.(*corev1.NamespaceList)
				if !ok {
					return c.List(ctx, list, opts...)
				}
				o := (&client.ListOptions{}).ApplyOptions(opts)
				if o.Continue == "2" {
					return tc.answer
				}
				all := &corev1.NamespaceList{}
				if err := c.List(ctx, all); err != nil {
					return err
				}
				i, _ := strconv.Atoi(strings.TrimSuffix(o.Continue, "@latest"))
				l.Items = all.Items[i : i+1]
				if i+1 < len(all.Items) {
					l.Continue = strconv.Itoa(i + 1)
				}
				return nil
			}})
			s, err := NewScanner(Config{NewClient: func(context.Context, inventory.Account) (client.Client, error) { return c, nil }})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			err = s.Scan(context.Background(), inventory.Account{Cloud: inventory.CloudKube, ID: "ctx"}, func(r *inventory.Resource) error {
				if r.Kind == inventory.KindNamespace {
					seen[r.ID]++
				}
				return nil
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range 7 {
				if got := seen[fmt.Sprintf("ns-%d", i)]; got != 1 {
					t.Errorf("ns-%d seen %d times, want once", i, got)
				}
			}
		})
	}
}
