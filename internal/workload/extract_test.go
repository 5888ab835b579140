package workload

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustExtractor(t testing.TB, opts Options) *Extractor {
	t.Helper()
	x, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return x
}

func decodeYAML(t testing.TB, y string) map[string]any {
	t.Helper()
	docs, err := DecodeManifests(strings.NewReader(y))
	if err != nil {
		t.Fatalf("decoding test manifest: %v", err)
	}
	if len(docs) != 1 {
		t.Fatalf("want 1 document, got %d", len(docs))
	}
	return docs[0].Object
}

// podSetSummary is what the extraction tests compare: the parts of a pod
// set that placement depends on.
type podSetSummary struct {
	Name     string
	Pointer  string
	Replicas int32
	Resource string
	GPUs     int64
	CPUMilli int64
	MemMiB   int64
}

func summarise(w *Workload) []podSetSummary {
	var out []podSetSummary
	for _, ps := range w.PodSets {
		out = append(out, podSetSummary{ps.Name, ps.Pointer, ps.Replicas, ps.GPU.Resource, ps.GPU.Count, ps.CPUMilli, ps.MemoryBytes >> 20})
	}
	return out
}

const gpuContainer = `
      containers:
        - name: main
          image: ghcr.io/example/train:1
          resources:
            limits: {nvidia.com/gpu: 8, cpu: "90", memory: 900Gi}`

func TestExtractKinds(t *testing.T) {
	tests := map[string]struct {
		manifest string
		class    Class
		want     []podSetSummary
	}{
		"pod": {
			manifest: `apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns}
spec:
  containers:
    - name: a
      image: img
      resources:
        requests: {nvidia.com/gpu: "2", cpu: 500m, memory: 1Gi}
        limits: {nvidia.com/gpu: "2"}
    - name: sidecar
      image: img2
      resources:
        requests: {cpu: 250m, memory: 512Mi}`,
			class: Batch,
			want:  []podSetSummary{{"pod", "", 1, ResourceNvidiaGPU, 2, 750, 1536}},
		},
		"deployment reads replicas": {
			manifest: `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  replicas: 3
  template:
    spec:` + gpuContainer,
			class: Inference,
			want:  []podSetSummary{{"template", "/spec/template", 3, ResourceNvidiaGPU, 8, 90000, 900 * 1024}},
		},
		"deployment without replicas defaults to 1": {
			manifest: `apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:` + gpuContainer,
			class: Inference,
			want:  []podSetSummary{{"template", "/spec/template", 1, ResourceNvidiaGPU, 8, 90000, 900 * 1024}},
		},
		"statefulset": {
			manifest: `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s}
spec:
  replicas: 2
  template:
    spec:` + gpuContainer,
			class: Inference,
			want:  []podSetSummary{{"template", "/spec/template", 2, ResourceNvidiaGPU, 8, 90000, 900 * 1024}},
		},
		"replicaset": {
			manifest: `apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: r}
spec:
  replicas: 5
  template:
    spec:` + gpuContainer,
			class: Inference,
			want:  []podSetSummary{{"template", "/spec/template", 5, ResourceNvidiaGPU, 8, 90000, 900 * 1024}},
		},
		"job uses parallelism": {
			manifest: `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  parallelism: 4
  completions: 10
  template:
    spec:` + gpuContainer,
			class: Batch,
			want:  []podSetSummary{{"template", "/spec/template", 4, ResourceNvidiaGPU, 8, 90000, 900 * 1024}},
		},
		"cronjob": {
			manifest: `apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      parallelism: 2
      template:
        spec:` + strings.ReplaceAll(gpuContainer, "\n", "\n    "),
			class: Batch,
			want:  []podSetSummary{{"template", "/spec/jobTemplate/spec/template", 2, ResourceNvidiaGPU, 8, 90000, 900 * 1024}},
		},
		"pytorchjob master and workers": {
			manifest: `apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: pt}
spec:
  pytorchReplicaSpecs:
    Worker:
      replicas: 3
      template:
        spec:` + strings.ReplaceAll(gpuContainer, "\n", "\n    ") + `
    Master:
      replicas: 1
      template:
        spec:` + strings.ReplaceAll(gpuContainer, "\n", "\n    "),
			class: Training,
			want: []podSetSummary{
				{"Master", "/spec/pytorchReplicaSpecs/Master/template", 1, ResourceNvidiaGPU, 8, 90000, 900 * 1024},
				{"Worker", "/spec/pytorchReplicaSpecs/Worker/template", 3, ResourceNvidiaGPU, 8, 90000, 900 * 1024},
			},
		},
		"raycluster head and worker groups": {
			manifest: `apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: rc}
spec:
  headGroupSpec:
    template:
      spec:
        containers:
          - name: head
            image: ray
            resources: {requests: {cpu: "4", memory: 16Gi}}
  workerGroupSpecs:
    - groupName: gpu
      minReplicas: 2
      template:
        spec:
          containers:
            - name: w
              image: ray
              resources: {limits: {nvidia.com/gpu: 1, cpu: "8", memory: 32Gi}}
    - replicas: 3
      template:
        spec:
          containers:
            - name: w
              image: ray
              resources: {limits: {nvidia.com/gpu: 1}}`,
			class: Training,
			want: []podSetSummary{
				{"head", "/spec/headGroupSpec/template", 1, "", 0, 4000, 16 * 1024},
				{"gpu", "/spec/workerGroupSpecs/0/template", 2, ResourceNvidiaGPU, 1, 8000, 32 * 1024},
				{"1", "/spec/workerGroupSpecs/1/template", 3, ResourceNvidiaGPU, 1, 0, 0},
			},
		},
		"rayjob nests the cluster spec": {
			manifest: `apiVersion: ray.io/v1
kind: RayJob
metadata: {name: rj}
spec:
  entrypoint: python train.py
  rayClusterSpec:
    headGroupSpec:
      template:
        spec:
          containers: [{name: head, image: ray}]
    workerGroupSpecs:
      - groupName: g
        replicas: 4
        template:
          spec:
            containers:
              - name: w
                image: ray
                resources: {limits: {amd.com/gpu: 2}}`,
			class: Training,
			want: []podSetSummary{
				{"head", "/spec/rayClusterSpec/headGroupSpec/template", 1, "", 0, 0, 0},
				{"g", "/spec/rayClusterSpec/workerGroupSpecs/0/template", 4, ResourceAMDGPU, 2, 0, 0},
			},
		},
		"init container larger than the containers": {
			manifest: `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: warm
      image: i
      resources: {requests: {cpu: "6", memory: 2Gi}}
  containers:
    - name: a
      image: i
      resources: {requests: {cpu: "1", memory: 4Gi, nvidia.com/gpu: 1}}`,
			class: Batch,
			want:  []podSetSummary{{"pod", "", 1, ResourceNvidiaGPU, 1, 6000, 4096}},
		},
		"mig slices": {
			manifest: `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  parallelism: 7
  template:
    spec:
      containers:
        - name: a
          image: i
          resources: {limits: {nvidia.com/mig-1g.10gb: 1}}`,
			class: Batch,
			want:  []podSetSummary{{"template", "/spec/template", 7, "nvidia.com/mig-1g.10gb", 1, 0, 0}},
		},
	}
	x := mustExtractor(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := x.Extract(decodeYAML(t, tc.manifest), nil)
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if got := summarise(w); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pod sets:\n got  %+v\n want %+v", got, tc.want)
			}
			if w.Class != tc.class {
				t.Errorf("class = %q, want %q", w.Class, tc.class)
			}
		})
	}
}

func TestExtractMIGProfile(t *testing.T) {
	x := mustExtractor(t, Options{})
	w, err := x.Extract(decodeYAML(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: i
      resources: {limits: {nvidia.com/mig-3g.40gb: 2}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	mig := w.PodSets[0].GPU.MIG
	if mig == nil || mig.Name != "3g.40gb" || mig.PerGPU != 2 || mig.ComputeSlices != 3 || mig.MemoryGB != 40 ||
		!reflect.DeepEqual(mig.Models, []string{"A100-80GB", "H100"}) {
		t.Fatalf("MIG profile = %+v", mig)
	}
	if f := mig.Fraction(); f != 0.5 {
		t.Errorf("fraction = %v, want 0.5", f)
	}
}

func TestExtractErrors(t *testing.T) {
	tests := map[string]struct {
		manifest string
		wantErr  string
	}{
		"two gpu kinds in one container": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {limits: {nvidia.com/gpu: 1, amd.com/gpu: 1}}}`, "one container may use one kind of GPU"},
		"two gpu kinds across containers": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {limits: {nvidia.com/gpu: 1}}}
    - {name: b, image: i, resources: {limits: {amd.com/gpu: 1}}}`, "one pod may use one kind of GPU"},
		"two gpu kinds across pod sets": {`apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: p}
spec:
  pytorchReplicaSpecs:
    Master: {template: {spec: {containers: [{name: a, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]}}}
    Worker: {template: {spec: {containers: [{name: a, image: i, resources: {limits: {nvidia.com/mig-1g.10gb: 1}}}]}}}`, "must use one kind of GPU"},
		"fractional gpu": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {limits: {nvidia.com/gpu: 500m}}}`, "want a whole number of devices"},
		"bad quantity": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {requests: {cpu: lots}}}`, `spec.containers[0].resources.requests.cpu: "lots": want a non-negative quantity`},
		"unknown mig profile": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: i, resources: {limits: {nvidia.com/mig-9g.99gb: 1}}}`, `MIG profile "9g.99gb"`},
		"containers not a list": {`apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: {a: b}}`, "spec.containers: want a list"},
		"negative replicas": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: -1, template: {spec: {containers: []}}}`, "replica count -1"},
		"template not an object": {`apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {template: 7}`, "spec.template: want a pod template object"},
		"metadata not an object": {`apiVersion: v1
kind: Pod
metadata: 5`, "metadata: want an object"},
	}
	x := mustExtractor(t, Options{})
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := x.Extract(decodeYAML(t, tc.manifest), nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			var oe *ObjectError
			if !errors.As(err, &oe) {
				t.Errorf("err is %T, want *ObjectError", err)
			}
		})
	}
}

func TestExtractNotWorkload(t *testing.T) {
	x := mustExtractor(t, Options{})
	_, err := x.Extract(map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}, nil)
	if !errors.Is(err, ErrNotWorkload) {
		t.Fatalf("err = %v, want ErrNotWorkload", err)
	}
	if x.Supports("v1", "ConfigMap") || !x.Supports("kubeflow.org/v1", "PyTorchJob") {
		t.Error("Supports disagrees with the default rules")
	}
}

func TestCustomRule(t *testing.T) {
	rules := append(DefaultRules(), Rule{Group: "example.com", Kind: "Trainer", Class: Training, PodSets: []PodSetRule{
		{Each: "spec.roles.*", Template: "pod", Replicas: "count", DefaultReplicas: 2},
	}})
	x := mustExtractor(t, Options{Rules: rules})
	w, err := x.Extract(decodeYAML(t, `apiVersion: example.com/v1
kind: Trainer
metadata: {name: t}
spec:
  roles:
    a: {count: 3, pod: {spec: {containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 2}}}]}}}
    b: {pod: {spec: {containers: [{name: c, image: i, resources: {limits: {nvidia.com/gpu: 2}}}]}}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []podSetSummary{
		{"a", "/spec/roles/a/pod", 3, ResourceNvidiaGPU, 2, 0, 0},
		{"b", "/spec/roles/b/pod", 2, ResourceNvidiaGPU, 2, 0, 0},
	}
	if got := summarise(w); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if w.TotalGPUReplicas() != 5 {
		t.Errorf("TotalGPUReplicas = %d, want 5", w.TotalGPUReplicas())
	}
}

func TestRuleValidation(t *testing.T) {
	tests := map[string]Rule{
		"no kind":           {PodSets: []PodSetRule{{}}},
		"no pod sets":       {Kind: "X"},
		"bad class":         {Kind: "X", Class: "gaming", PodSets: []PodSetRule{{}}},
		"star in template":  {Kind: "X", PodSets: []PodSetRule{{Template: "a.*"}}},
		"empty segment":     {Kind: "X", PodSets: []PodSetRule{{Each: "spec..x"}}},
		"negative defaults": {Kind: "X", PodSets: []PodSetRule{{DefaultReplicas: -1}}},
	}
	for name, r := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := New(Options{Rules: []Rule{r}}); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestExtractIdentityAndFields(t *testing.T) {
	x := mustExtractor(t, Options{})
	w, err := x.Extract(decodeYAML(t, `apiVersion: v1
kind: Pod
metadata: {generateName: train-, namespace: ml}
spec:
  serviceAccountName: trainer
  hostNetwork: true
  volumes:
    - {name: data, persistentVolumeClaim: {claimName: corpus}}
    - name: scratch
      ephemeral: {volumeClaimTemplate: {spec: {storageClassName: fast-enc}}}
    - {name: tmp, emptyDir: {}}
  containers:
    - name: a
      image: ghcr.io/x/a:1
      securityContext: {privileged: true}
      resources: {limits: {nvidia.com/gpu: 1}}
    - {name: b, image: ghcr.io/x/b:1}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "train-" || w.Namespace != "ml" || w.ID() != "ml/train-" {
		t.Errorf("identity = %q %q %q", w.Name, w.Namespace, w.ID())
	}
	ps := w.PodSets[0]
	if ps.ServiceAccount != "trainer" || !ps.HostNetwork || ps.HostPID || !ps.Privileged {
		t.Errorf("security fields = %+v", ps)
	}
	if !reflect.DeepEqual(ps.Images, []string{"ghcr.io/x/a:1", "ghcr.io/x/b:1"}) {
		t.Errorf("images = %v", ps.Images)
	}
	wantVols := []Volume{
		{Name: "data", Kind: "persistentVolumeClaim", ClaimName: "corpus"},
		{Name: "scratch", Kind: "ephemeral", StorageClass: "fast-enc"},
		{Name: "tmp", Kind: "emptyDir"},
	}
	if !reflect.DeepEqual(ps.Volumes, wantVols) {
		t.Errorf("volumes = %+v", ps.Volumes)
	}
}

func TestAnnotationFallbacks(t *testing.T) {
	x := mustExtractor(t, Options{})
	obj := decodeYAML(t, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  annotations: {quartermaster.io/expected-duration: 2h}
spec:
  template:
    metadata:
      annotations: {quartermaster.io/expected-duration: 9h, quartermaster.io/interruptible: "true"}
    spec:
      containers: [{name: a, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]`)
	w, err := x.Extract(obj, map[string]string{AnnotationTeam: "from-namespace"})
	if err != nil {
		t.Fatal(err)
	}
	if w.ExpectedDuration != 2*time.Hour {
		t.Errorf("object annotation must win over the template's: got %v", w.ExpectedDuration)
	}
	if !w.Interruptible {
		t.Error("template annotation must apply when the object has none")
	}
	if w.Team != "from-namespace" {
		t.Errorf("team = %q, want the namespace label", w.Team)
	}
}

func TestPin(t *testing.T) {
	x := mustExtractor(t, Options{})
	podWith := func(spec string) map[string]any {
		return decodeYAML(t, `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: a, image: i, resources: {limits: {nvidia.com/gpu: 1}}}]
`+spec)
	}
	aws1 := &Target{Cloud: "aws", Region: "us-east-1", InstanceType: "p5.48xlarge", CapacityType: "on-demand"}
	gcp1 := &Target{Cloud: "gcp", Region: "europe-west4", InstanceType: "a3-highgpu-8g", CapacityType: "spot"}
	tests := map[string]struct {
		spec     string
		pinned   bool
		allowAWS bool
		allowGCP bool
	}{
		"nothing":                       {"", false, true, true},
		"node selector on region":       {`  nodeSelector: {topology.kubernetes.io/region: us-east-1, kubernetes.io/arch: amd64}`, true, true, false},
		"selector on other labels only": {`  nodeSelector: {kubernetes.io/arch: amd64}`, false, true, true},
		"two ORed terms": {`  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions: [{key: quartermaster.io/cloud, operator: In, values: [aws]}]
          - matchExpressions: [{key: topology.kubernetes.io/region, operator: In, values: [europe-west4]}]`, true, true, true},
		"NotIn excludes": {`  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions: [{key: quartermaster.io/cloud, operator: NotIn, values: [aws]}]`, true, false, true},
		"selector ANDed into each term": {`  nodeSelector: {quartermaster.io/capacity-type: spot}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions: [{key: quartermaster.io/cloud, operator: In, values: [aws, gcp]}]`, true, false, true},
		"DoesNotExist matches no placed node": {`  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions: [{key: node.kubernetes.io/instance-type, operator: DoesNotExist}]`, true, false, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			w, err := x.Extract(podWith(tc.spec), nil)
			if err != nil {
				t.Fatal(err)
			}
			if w.Pinned() != tc.pinned {
				t.Errorf("Pinned = %v, want %v", w.Pinned(), tc.pinned)
			}
			if got := w.Allows(aws1); got != tc.allowAWS {
				t.Errorf("Allows(aws) = %v, want %v", got, tc.allowAWS)
			}
			if got := w.Allows(gcp1); got != tc.allowGCP {
				t.Errorf("Allows(gcp) = %v, want %v", got, tc.allowGCP)
			}
		})
	}
}

func TestMayRequestGPU(t *testing.T) {
	for raw, want := range map[string]bool{
		`{"kind":"Pod","spec":{"containers":[{"resources":{"limits":{"nvidia.com/gpu":1}}}]}}`: true,
		`{"resources":{"limits":{"nvidia.com/mig-1g.10gb":1}}}`:                                true,
		`{"resources":{"limits":{"amd.com/gpu":1}}}`:                                           true,
		`{"kind":"Pod","spec":{"containers":[{"resources":{"limits":{"cpu":1}}}]}}`:            false,
	} {
		if got := MayRequestGPU([]byte(raw)); got != want {
			t.Errorf("MayRequestGPU(%s) = %v, want %v", raw, got, want)
		}
	}
}

// TestExtractGoNumbers covers objects built in Go (int, int64) rather than
// decoded from JSON (float64).
func TestExtractGoNumbers(t *testing.T) {
	x := mustExtractor(t, Options{})
	obj := map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d"},
		"spec": map[string]any{"replicas": int64(3), "template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"name": "a", "resources": map[string]any{"limits": map[string]any{"nvidia.com/gpu": int64(2), "cpu": 4}}}}}}}}
	w, err := x.Extract(obj, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ps := w.PodSets[0]; ps.Replicas != 3 || ps.GPU.Count != 2 || ps.CPUMilli != 4000 {
		t.Errorf("pod set = %+v", ps)
	}
}
