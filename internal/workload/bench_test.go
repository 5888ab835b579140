package workload

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// largePyTorchJob is a realistic big manifest: Master + Worker with many
// containers, env vars, volumes and affinity, about 30 KiB of JSON.
func largePyTorchJob(b *testing.B) []byte {
	var env strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&env, `{"name":"NCCL_VAR_%d","value":"value-%d"},`, i, i)
	}
	envs := strings.TrimSuffix(env.String(), ",")
	container := `{"name":"c%d","image":"ghcr.io/example/llm-train:2.4","env":[` + envs + `],
	  "resources":{"requests":{"cpu":"10","memory":"100Gi"},"limits":{"nvidia.com/gpu":%d,"cpu":"10","memory":"100Gi"}},
	  "volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"shm","mountPath":"/dev/shm"}]}`
	template := func(gpus int) string {
		var cs []string
		cs = append(cs, fmt.Sprintf(container, 0, gpus))
		for i := 1; i < 4; i++ {
			cs = append(cs, fmt.Sprintf(container, i, 0))
		}
		return `{"metadata":{"labels":{"app":"llm"},"annotations":{"sidecar.istio.io/inject":"false"}},"spec":{
		  "serviceAccountName":"trainer","containers":[` + strings.Join(cs, ",") + `],
		  "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"corpus"}},{"name":"shm","emptyDir":{"medium":"Memory"}}],
		  "affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/arch","operator":"In","values":["amd64"]}]}]}}},
		  "tolerations":[{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}]}}`
	}
	js := `{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","metadata":{"name":"llm","namespace":"research",
	  "annotations":{"quartermaster.io/team":"research","quartermaster.io/gpu-models":"H100,H200","quartermaster.io/expected-duration":"36h",
	  "quartermaster.io/datasets":"s3://corpus-us/v3/","quartermaster.io/data-classification":"internal"}},
	  "spec":{"pytorchReplicaSpecs":{"Master":{"replicas":1,"template":` + template(8) + `},"Worker":{"replicas":31,"template":` + template(8) + `}}}}`
	var check map[string]any
	if err := json.Unmarshal([]byte(js), &check); err != nil {
		b.Fatal(err)
	}
	return []byte(js)
}

// BenchmarkExtractLargePyTorchJob measures decode + extraction, as the
// admission path does it.
func BenchmarkExtractLargePyTorchJob(b *testing.B) {
	raw := largePyTorchJob(b)
	x, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		obj, err := DecodeObject(raw)
		if err != nil {
			b.Fatal(err)
		}
		w, err := x.Extract(obj, nil)
		if err != nil || w.TotalGPUReplicas() != 32 {
			b.Fatalf("extract: %v", err)
		}
	}
}

// BenchmarkMayRequestGPU is the non-GPU fast path's only work.
func BenchmarkMayRequestGPU(b *testing.B) {
	raw := []byte(strings.Repeat(`{"name":"web","image":"nginx","resources":{"requests":{"cpu":"250m"}}},`, 40))
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if MayRequestGPU(raw) {
			b.Fatal("no GPU here")
		}
	}
}
