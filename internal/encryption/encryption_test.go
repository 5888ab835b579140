package encryption

import (
	"context"
	"strings"
	"testing"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

const state = `
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ebs-cmk, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: ebs.csi.aws.com
parameters: {encrypted: "true", kmsKeyId: "arn:k"}
---
{"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "ebs-aws"}, "provisioner": "ebs.csi.aws.com", "parameters": {"encrypted": true}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ebs-off}
provisioner: ebs.csi.aws.com
parameters: {encrypted: "false"}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ebs-bad}
provisioner: ebs.csi.aws.com
parameters: {encrypted: "maybe"}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ebs-none}
provisioner: kubernetes.io/aws-ebs
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: pd-cmek}
provisioner: pd.csi.storage.gke.io
parameters: {disk-encryption-kms-key: projects/p/keys/k}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: pd}
provisioner: pd.csi.storage.gke.io
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: az-des}
provisioner: disk.csi.azure.com
parameters: {diskEncryptionSetID: /des/1}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: az}
provisioner: disk.csi.azure.com
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: nfs}
provisioner: example.com/nfs
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: defaulted, namespace: ml}, spec: {}}
  - {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: static, namespace: ml}, spec: {storageClassName: ""}}
  - {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: lost, namespace: ml}, spec: {storageClassName: gone}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: ml, labels: {quartermaster.io/team: vision}}}
`

func TestVolumeEvidence(t *testing.T) {
	st, err := ReadClusterState(strings.NewReader(state))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"ebs-cmk", "ebs-aws", "ebs-off", "ebs-bad", "ebs-none", "pd-cmek", "pd", "az-des", "az", "nfs"} {
		st.claims["ml/"+sc] = &Claim{Namespace: "ml", Name: sc, StorageClass: &sc}
	}
	c := &Collector{Claims: st}
	tests := map[string]struct {
		vol             workload.Volume
		state, key, has string
	}{
		"ebs with kms key":        {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "ebs-cmk"}, StateEncrypted, KeyCustomerManaged, "arn:k"},
		"ebs encrypted: true":     {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "ebs-aws"}, StateEncrypted, KeyProviderManaged, "AWS-managed"},
		"ebs encrypted: false":    {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "ebs-off"}, StateUnencrypted, "", "false"},
		"ebs not a boolean":       {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "ebs-bad"}, StateUnknown, "", "maybe"},
		"in-tree ebs unset":       {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "ebs-none"}, StateUnencrypted, "", "does not set"},
		"gce with cmek":           {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "pd-cmek"}, StateEncrypted, KeyCustomerManaged, "projects/p/keys/k"},
		"gce default":             {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "pd"}, StateEncrypted, KeyProviderManaged, "Google-managed"},
		"azure with des":          {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "az-des"}, StateEncrypted, KeyCustomerManaged, "/des/1"},
		"azure default":           {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "az"}, StateEncrypted, KeyProviderManaged, "platform-managed"},
		"unknown provisioner":     {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "nfs"}, StateUnknown, "", "example.com/nfs"},
		"default class":           {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "defaulted"}, StateEncrypted, KeyCustomerManaged, "arn:k"},
		"static binding":          {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "static"}, StateUnknown, "", "pre-provisioned"},
		"missing class":           {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "lost"}, StateUnknown, "", "gone not found"},
		"missing claim":           {workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "nope"}, StateUnknown, "", "ml/nope not found"},
		"ephemeral named class":   {workload.Volume{Kind: "ephemeral", StorageClass: "pd-cmek"}, StateEncrypted, KeyCustomerManaged, "Cloud KMS"},
		"ephemeral default":       {workload.Volume{Kind: "ephemeral"}, StateEncrypted, KeyCustomerManaged, "arn:k"},
		"emptyDir is node-local":  {workload.Volume{Kind: "emptyDir"}, StateUnknown, "", "node's disk"},
		"configMap holds no data": {workload.Volume{Kind: "configMap"}, StateUnknown, "", "no workload data"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			v := c.volume("ml", "Worker", tc.vol)
			if v.State != tc.state || v.KeyKind != tc.key || !strings.Contains(v.Detail+v.KeyID, tc.has) {
				t.Errorf("got %+v, want state %s key %q detail/key containing %q", v, tc.state, tc.key, tc.has)
			}
			if v.Persistent != (tc.vol.Kind == "persistentVolumeClaim" || tc.vol.Kind == "ephemeral") || v.NodeLocal != (tc.vol.Kind == "emptyDir") {
				t.Errorf("persistent %v nodeLocal %v for kind %s", v.Persistent, v.NodeLocal, tc.vol.Kind)
			}
		})
	}
	if got := st.NamespaceLabels("ml")["quartermaster.io/team"]; got != "vision" {
		t.Errorf("namespace label team = %q", got)
	}
	if v := (&Collector{}).volume("ml", "w", workload.Volume{Kind: "persistentVolumeClaim", ClaimName: "x"}); v.State != StateUnknown {
		t.Errorf("without cluster state: %+v", v)
	}
}

func TestDatasetEvidence(t *testing.T) {
	inv, err := ReadInventory(strings.NewReader(`datasets:
  - {location: "s3://corpus", cloud: aws, region: eu-central-1, encrypted: true, keyKind: customer-managed, sizeBytes: 10}
  - {location: "s3://corpus/public/", cloud: aws, region: us-east-1, encrypted: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := &Collector{Datasets: inv, Jurisdictions: costing.DefaultRegions()}
	w := &workload.Workload{Datasets: []string{"s3://corpus/v3/", "s3://corpus/public/x", "s3://corpus-eu/", "not a uri"}}
	ev, err := c.Collect(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		known               bool
		state, jurisdiction string
	}{{true, StateEncrypted, "eu"}, {true, StateUnencrypted, "us"}, {false, StateUnknown, ""}, {false, StateUnknown, ""}}
	for i, w := range want {
		d := ev.Datasets[i]
		if d.Known != w.known || d.State != w.state || d.Jurisdiction != w.jurisdiction {
			t.Errorf("dataset %d: %+v, want %+v", i, d, w)
		}
	}
}

func TestReadErrors(t *testing.T) {
	states := map[string]string{
		"class without provisioner": "kind: StorageClass\nmetadata: {name: a}\n",
		"two defaults":              "kind: StorageClass\nmetadata: {name: a, annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}}\nprovisioner: x\n---\nkind: StorageClass\nmetadata: {name: b, annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}}\nprovisioner: x\n",
		"claim without namespace":   "kind: PersistentVolumeClaim\nmetadata: {name: a}\n",
		"parameters not a map":      "kind: StorageClass\nmetadata: {name: a}\nprovisioner: x\nparameters: [1]\n",
		"not yaml":                  "kind: [",
	}
	for name, s := range states {
		if _, err := ReadClusterState(strings.NewReader(s)); err == nil || !strings.Contains(err.Error(), "cluster state") {
			t.Errorf("cluster state %s: got %v", name, err)
		}
	}
	invs := map[string]string{
		"bad cloud":       "datasets: [{location: 's3://a/', cloud: ibm, region: r}]",
		"no region":       "datasets: [{location: 's3://a/', cloud: aws}]",
		"bad key kind":    "datasets: [{location: 's3://a/', cloud: aws, region: r, encrypted: true, keyKind: mine}]",
		"key without enc": "datasets: [{location: 's3://a/', cloud: aws, region: r, keyKind: customer-managed}]",
		"not a uri":       "datasets: [{location: 'corpus', cloud: aws, region: r}]",
		"unknown field":   "datasets: [{location: 's3://a/', cloud: aws, region: r, colour: red}]",
		"duplicate":       "datasets: [{location: 's3://a', cloud: aws, region: r}, {location: 's3://a/', cloud: aws, region: r}]",
		"negative size":   "datasets: [{location: 's3://a/', cloud: aws, region: r, sizeBytes: -1}]",
	}
	for name, s := range invs {
		if _, err := ReadInventory(strings.NewReader(s)); err == nil || !strings.Contains(err.Error(), "inventory") {
			t.Errorf("inventory %s: got %v", name, err)
		}
	}
}
