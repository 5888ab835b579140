package pricing

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
)

func csvOf(t *testing.T, cat *costing.Catalog) string {
	t.Helper()
	var b strings.Builder
	if err := costing.WriteCSV(&b, cat); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteConfigMap(t *testing.T) {
	cat, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	want := csvOf(t, cat)
	helm := metav1.ObjectMeta{Name: "qm-catalog", Namespace: "qm", Labels: map[string]string{"app.kubernetes.io/managed-by": "Helm"},
		Annotations: map[string]string{"meta.helm.sh/release-name": "qm"}}
	tests := map[string]struct {
		existing []runtime.Object
		conflict int // Update answers 409 this many times first
		want     ConfigMapResult
		keep     map[string]string // other keys that must stay
	}{
		"missing: created": {want: ConfigMapCreated},
		"existing: the key replaced, the rest kept": {
			existing: []runtime.Object{&corev1.ConfigMap{ObjectMeta: helm, Data: map[string]string{ConfigMapKey: "old", "notes.txt": "keep me"}}},
			want:     ConfigMapUpdated, keep: map[string]string{"notes.txt": "keep me"},
		},
		"existing without data": {existing: []runtime.Object{&corev1.ConfigMap{ObjectMeta: helm}}, want: ConfigMapUpdated},
		"the same catalog: not written": {
			existing: []runtime.Object{&corev1.ConfigMap{ObjectMeta: helm, Data: map[string]string{ConfigMapKey: want}}},
			want:     ConfigMapUnchanged,
		},
		"a concurrent writer: retried on the new version": {
			existing: []runtime.Object{&corev1.ConfigMap{ObjectMeta: helm, Data: map[string]string{ConfigMapKey: "old"}}},
			conflict: 2, want: ConfigMapUpdated,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := fake.NewClientset(tc.existing...)
			conflicts := tc.conflict
			c.PrependReactor("update", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
				if conflicts > 0 {
					conflicts--
					return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, "qm-catalog", nil)
				}
				return false, nil, nil
			})
			got, err := WriteConfigMap(context.Background(), c.CoreV1(), "qm", "qm-catalog", cat)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("result %q, want %q", got, tc.want)
			}
			cm, err := c.CoreV1().ConfigMaps("qm").Get(context.Background(), "qm-catalog", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if cm.Data[ConfigMapKey] != want {
				t.Errorf("configmap's %s is not the catalog's CSV", ConfigMapKey)
			}
			back, err := costing.ReadCSV(strings.NewReader(cm.Data[ConfigMapKey]), nil, "configmap")
			if err != nil || back.Len() != cat.Len() {
				t.Errorf("the stored catalog does not read back whole: %v", err)
			}
			for k, v := range tc.keep {
				if cm.Data[k] != v {
					t.Errorf("key %s: %q, want it kept as %q", k, cm.Data[k], v)
				}
			}
			if len(tc.existing) > 0 && (cm.Labels["app.kubernetes.io/managed-by"] != "Helm" || cm.Annotations["meta.helm.sh/release-name"] != "qm") {
				t.Errorf("labels %v, annotations %v: Helm's ownership lost", cm.Labels, cm.Annotations)
			}
			if conflicts != 0 {
				t.Errorf("%d conflicts left unanswered", conflicts)
			}
		})
	}
}

func TestWriteConfigMapRefusesWhatDoesNotFit(t *testing.T) {
	base, err := costing.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	// The embedded catalog many times over, under distinct instance
	// types, is more than a ConfigMap holds.
	var offers []costing.Offer
	for i := range 200 {
		for _, o := range base.Offers() {
			o.InstanceType = fmt.Sprintf("%s-%d", o.InstanceType, i)
			offers = append(offers, o)
		}
	}
	big, err := costing.NewCatalog(offers, base.Regions(), base.Meta())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(csvOf(t, big)); n <= MaxConfigMapBytes {
		t.Fatalf("the test's catalog is %d bytes: not too large", n)
	}
	c := fake.NewClientset()
	_, err = WriteConfigMap(context.Background(), c.CoreV1(), "qm", "qm-catalog", big)
	if err == nil || !strings.Contains(err.Error(), "more than a ConfigMap holds") {
		t.Fatalf("error %v, want the catalog refused as too large", err)
	}
	if len(c.Actions()) != 0 {
		t.Errorf("%d API calls for a catalog that cannot fit, want none", len(c.Actions()))
	}
}
