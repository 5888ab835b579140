package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

func ref(kind, name string, controller bool) metav1.OwnerReference {
	return metav1.OwnerReference{Kind: kind, Name: name, Controller: &controller}
}

func TestOwnerChain(t *testing.T) {
	o := owners{}
	o.add("ReplicaSet", "ml", "serve-7d9f", []metav1.OwnerReference{ref("Deployment", "serve", true)})
	o.add("Job", "ml", "nightly-2911", []metav1.OwnerReference{ref("CronJob", "nightly", true)})
	o.add("Job", "ml", "adhoc", nil)
	o.add("RayCluster", "ml", "tune-raycluster", []metav1.OwnerReference{ref("RayJob", "tune", true)})
	o.add("ReplicaSet", "other", "serve-7d9f", []metav1.OwnerReference{ref("Deployment", "elsewhere", true)})
	// A loop (which the API server's garbage collector would break) must
	// end, not hang.
	o.add("ReplicaSet", "ml", "loop", []metav1.OwnerReference{ref("ReplicaSet", "loop", true)})
	tests := map[string]struct {
		refs []metav1.OwnerReference
		want string
	}{
		"bare pod":                        {nil, ""},
		"non-controller owner is ignored": {[]metav1.OwnerReference{ref("ReplicaSet", "serve-7d9f", false)}, ""},
		"replicaset to deployment":        {[]metav1.OwnerReference{ref("ReplicaSet", "serve-7d9f", true)}, "Deployment/serve"},
		"job to cronjob":                  {[]metav1.OwnerReference{ref("Job", "nightly-2911", true)}, "CronJob/nightly"},
		"job without owner":               {[]metav1.OwnerReference{ref("Job", "adhoc", true)}, "Job/adhoc"},
		"raycluster to rayjob":            {[]metav1.OwnerReference{ref("RayCluster", "tune-raycluster", true)}, "RayJob/tune"},
		"statefulset is the top":          {[]metav1.OwnerReference{ref("StatefulSet", "db", true)}, "StatefulSet/db"},
		"pytorchjob owns pods directly":   {[]metav1.OwnerReference{ref("PyTorchJob", "train", true)}, "PyTorchJob/train"},
		"orphaned replicaset":             {[]metav1.OwnerReference{ref("ReplicaSet", "gone", true)}, "ReplicaSet/gone"},
		"loop ends":                       {[]metav1.OwnerReference{ref("ReplicaSet", "loop", true)}, "ReplicaSet/loop"},
		"controller picked among owners":  {[]metav1.OwnerReference{ref("ConfigMap", "x", false), ref("Job", "nightly-2911", true)}, "CronJob/nightly"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := o.top("ml", tc.refs); got != tc.want {
				t.Errorf("top = %q, want %q", got, tc.want)
			}
		})
	}
}

func strp(s string) *string { return &s }

func TestClaimEncryption(t *testing.T) {
	cls := newClasses()
	cls.add("gp3-cmk", "ebs.csi.aws.com", map[string]string{"encrypted": "true", "kmsKeyId": "arn:aws:kms:eu-west-1:111122223333:key/k"}, nil)
	cls.add("gp3", "ebs.csi.aws.com", map[string]string{"encrypted": "true"}, map[string]string{defaultClassAnnot: "true"})
	cls.add("gp2-plain", "kubernetes.io/aws-ebs", nil, nil)
	cls.add("pd", "pd.csi.storage.gke.io", map[string]string{"type": "pd-ssd"}, nil)
	cls.add("pd-cmek", "pd.csi.storage.gke.io", map[string]string{"disk-encryption-kms-key": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}, nil)
	cls.add("azure-des", "disk.csi.azure.com", map[string]string{"diskEncryptionSetID": "/subscriptions/s/des/d"}, nil)
	cls.add("local", "rancher.io/local-path", nil, nil)
	tests := map[string]struct {
		class *string
		want  inventory.Encryption
	}{
		"ebs with a customer key": {strp("gp3-cmk"), inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: "arn:aws:kms:eu-west-1:111122223333:key/k"}},
		"ebs with the aws key":    {strp("gp3"), inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}},
		"in-tree ebs, not asked":  {strp("gp2-plain"), inventory.Encryption{}},
		"gce always encrypted":    {strp("pd"), inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}},
		"gce cmek":                {strp("pd-cmek"), inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: "projects/p/locations/l/keyRings/r/cryptoKeys/k"}},
		"azure disk encryption":   {strp("azure-des"), inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyCustomerManaged, KeyID: "/subscriptions/s/des/d"}},
		"unknown provisioner":     {strp("local"), inventory.Encryption{}},
		"missing class":           {strp("gone"), inventory.Encryption{}},
		"no class: the default":   {nil, inventory.Encryption{Encrypted: true, KeyKind: inventory.KeyProviderManaged}},
		"pre-provisioned volume":  {strp(""), inventory.Encryption{}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := cls.encryptionOf("ml", "data", tc.class); got != tc.want {
				t.Errorf("encryption = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNodeLabels(t *testing.T) {
	eks, _ := workload.Profile(workload.ProfileEKS)
	gke, _ := workload.Profile(workload.ProfileGKE)
	region := map[string]string{"topology.kubernetes.io/region": "eu-west-1", "topology.kubernetes.io/zone": "eu-west-1a"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range region {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	type want struct{ instanceType, capacity, region, zone string }
	tests := map[string]struct {
		labels map[string]string
		keys   *workload.LabelKeys
		want   want
	}{
		"quartermaster spot": {with("node.kubernetes.io/instance-type", "p5.48xlarge", "quartermaster.io/capacity-type", "spot"), nil,
			want{"p5.48xlarge", "spot", "eu-west-1", "eu-west-1a"}},
		"karpenter on-demand, detected": {with("node.kubernetes.io/instance-type", "g6.xlarge", "karpenter.sh/capacity-type", "on-demand"), nil,
			want{"g6.xlarge", "on-demand", "eu-west-1", "eu-west-1a"}},
		"eks spot, detected": {with("eks.amazonaws.com/capacityType", "SPOT"), nil, want{"", "spot", "eu-west-1", "eu-west-1a"}},
		"aks spot, detected": {with("kubernetes.azure.com/scalesetpriority", "spot"), nil, want{"", "spot", "eu-west-1", "eu-west-1a"}},
		"no capacity label, no profile": {with("node.kubernetes.io/instance-type", "a2-highgpu-1g"), nil,
			want{"a2-highgpu-1g", "", "eu-west-1", "eu-west-1a"}},
		"gke profile: no label is on-demand": {with("node.kubernetes.io/instance-type", "a2-highgpu-1g"), &gke,
			want{"a2-highgpu-1g", "on-demand", "eu-west-1", "eu-west-1a"}},
		"eks profile": {with("eks.amazonaws.com/capacityType", "ON_DEMAND"), &eks, want{"", "on-demand", "eu-west-1", "eu-west-1a"}},
		"beta instance type label": {map[string]string{"beta.kubernetes.io/instance-type": "p4d.24xlarge"}, nil,
			want{"p4d.24xlarge", "", "", ""}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got want
			got.instanceType, got.capacity, got.region, got.zone = nodeLabels(tc.labels, tc.keys)
			if got != tc.want {
				t.Errorf("nodeLabels = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestClusterCloud(t *testing.T) {
	tests := map[string]struct {
		ids  []string
		want inventory.Cloud
	}{
		"no nodes":                      {nil, inventory.CloudKube},
		"aws":                           {[]string{"aws:///us-east-1a/i-0abc", "aws:///us-east-1b/i-0def"}, inventory.CloudAWS},
		"azure":                         {[]string{"azure:///subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/v/virtualMachines/0"}, inventory.CloudAzure},
		"gcp":                           {[]string{"gce://proj/us-central1-a/gke-n-1"}, inventory.CloudGCP},
		"unknown ids count for nothing": {[]string{"", "kind://docker/kind/kind-worker", "gce://p/z/n"}, inventory.CloudGCP},
		"local only":                    {[]string{"", "kwok://fake"}, inventory.CloudKube},
		"two clouds":                    {[]string{"aws:///us-east-1a/i-1", "gce://p/z/n"}, inventory.CloudKube},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := clusterCloud(tc.ids); got != tc.want {
				t.Errorf("clusterCloud = %q, want %q", got, tc.want)
			}
		})
	}
}

func gpuList(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func TestPodGPUs(t *testing.T) {
	c := func(req, lim corev1.ResourceList) corev1.Container {
		return corev1.Container{Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	tests := map[string]struct {
		spec corev1.PodSpec
		want map[string]int64
	}{
		"no gpu": {corev1.PodSpec{Containers: []corev1.Container{c(gpuList("cpu", "2"), nil)}}, nil},
		"two containers summed": {corev1.PodSpec{Containers: []corev1.Container{
			c(gpuList("nvidia.com/gpu", "2"), nil), c(gpuList("nvidia.com/gpu", "1", "cpu", "1"), nil)}},
			map[string]int64{"nvidia.com/gpu": 3}},
		"limit only": {corev1.PodSpec{Containers: []corev1.Container{c(nil, gpuList("amd.com/gpu", "4"))}},
			map[string]int64{"amd.com/gpu": 4}},
		"mig and init max": {corev1.PodSpec{
			Containers:     []corev1.Container{c(gpuList("nvidia.com/mig-1g.10gb", "1"), nil)},
			InitContainers: []corev1.Container{c(gpuList("nvidia.com/mig-1g.10gb", "2"), nil), c(gpuList("nvidia.com/mig-1g.10gb", "1"), nil)}},
			map[string]int64{"nvidia.com/mig-1g.10gb": 2}},
		"other extended resources ignored": {corev1.PodSpec{Containers: []corev1.Container{c(gpuList("example.com/fpga", "1"), nil)}}, nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, podGPUs(&tc.spec)); diff != "" {
				t.Errorf("podGPUs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodClaims(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "w-0"}, Spec: corev1.PodSpec{Volumes: []corev1.Volume{
		{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "corpus"}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}}}
	if diff := cmp.Diff([]string{"corpus", "w-0-scratch"}, podClaims(p)); diff != "" {
		t.Errorf("podClaims (-want +got):\n%s", diff)
	}
}

func TestSnapshotOf(t *testing.T) {
	got := snapshotOf(map[string]any{
		"spec":   map[string]any{"source": map[string]any{"persistentVolumeClaimName": "ckpt"}},
		"status": map[string]any{"readyToUse": true, "creationTime": "2026-11-28T03:00:00Z"},
	})
	if got.SourceClaim != "ckpt" || !got.ReadyToUse || got.Taken.Format("2006-01-02T15") != "2026-11-28T03" {
		t.Errorf("snapshotOf = %+v", got)
	}
	if got := snapshotOf(map[string]any{}); got.SourceClaim != "" || got.ReadyToUse || !got.Taken.IsZero() {
		t.Errorf("empty snapshot = %+v", got)
	}
}

func TestNewScannerConfig(t *testing.T) {
	if _, err := NewScanner(Config{PageSize: -1}); err == nil {
		t.Error("negative page size accepted")
	}
	bad := workload.LabelKeys{Profile: "custom"}
	if _, err := NewScanner(Config{LabelKeys: &bad}); err == nil {
		t.Error("incomplete label keys accepted")
	}
	s, err := NewScanner(Config{})
	if err != nil || s.cfg.PageSize != DefaultPageSize || len(s.cfg.Rules) == 0 {
		t.Errorf("defaults: %+v, %v", s, err)
	}
}
