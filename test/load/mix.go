package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// body is one ready-to-send AdmissionReview.
type body struct {
	json    []byte
	wantUID []byte
}

// mix is a fixed set of reviews cycled through by request number, so that
// the sender spends nothing on encoding while it keeps time.
type mix struct {
	gpu, plain []body
	gpuEvery   []bool
}

func newMix(seed int64, n int, gpuFraction float64) (*mix, error) {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	m := &mix{gpuEvery: make([]bool, n)}
	for i := range n {
		gpu := r.Float64() < gpuFraction
		m.gpuEvery[i] = gpu
		uid := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff, r.Uint32()&0xfff, r.Uint64()&0xffffffffffff)
		var obj map[string]any
		if gpu {
			switch i % 3 {
			case 0:
				obj = gpuDeployment(r, i)
			case 1:
				obj = gpuJob(r, i)
			default:
				obj = pytorchJob(r, i)
			}
		} else {
			obj = plainPod(r, i)
		}
		js, err := review(uid, obj)
		if err != nil {
			return nil, err
		}
		b := body{json: js, wantUID: []byte(`"uid":"` + uid + `"`)}
		if gpu {
			m.gpu = append(m.gpu, b)
		} else {
			m.plain = append(m.plain, b)
		}
	}
	if len(m.gpu) == 0 && gpuFraction > 0 || len(m.plain) == 0 && gpuFraction < 1 {
		return nil, fmt.Errorf("request mix of %d has no GPU or no plain requests", n)
	}
	return m, nil
}

// next returns request i's body and whether it is a GPU workload.
func (m *mix) next(i int) (body, bool) {
	j := i % len(m.gpuEvery)
	if m.gpuEvery[j] {
		return m.gpu[j%len(m.gpu)], true
	}
	return m.plain[j%len(m.plain)], false
}

func review(uid string, obj map[string]any) ([]byte, error) {
	apiVersion := obj["apiVersion"].(string)
	group, version := "", apiVersion
	for i := range apiVersion {
		if apiVersion[i] == '/' {
			group, version = apiVersion[:i], apiVersion[i+1:]
		}
	}
	meta := obj["metadata"].(map[string]any)
	kind := obj["kind"].(string)
	return json.Marshal(map[string]any{
		"apiVersion": "admission.k8s.io/v1",
		"kind":       "AdmissionReview",
		"request": map[string]any{
			"uid":             uid,
			"kind":            map[string]any{"group": group, "version": version, "kind": kind},
			"resource":        map[string]any{"group": group, "version": version, "resource": plural(kind)},
			"requestKind":     map[string]any{"group": group, "version": version, "kind": kind},
			"requestResource": map[string]any{"group": group, "version": version, "resource": plural(kind)},
			"name":            meta["name"],
			"namespace":       meta["namespace"],
			"operation":       "CREATE",
			"userInfo":        map[string]any{"username": "system:serviceaccount:argocd:argocd-application-controller", "uid": "5b1c6f0e-1d0e-4a58-9d43-3c1b3a0a7e21", "groups": []any{"system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"}},
			"object":          obj,
			"oldObject":       nil,
			"dryRun":          false,
			"options":         map[string]any{"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "argocd-controller"},
		},
	})
}

func plural(kind string) string {
	switch kind {
	case "PyTorchJob":
		return "pytorchjobs"
	case "Deployment":
		return "deployments"
	case "Job":
		return "jobs"
	}
	return "pods"
}

func managedFields(manager string) []any {
	return []any{map[string]any{"manager": manager, "operation": "Update", "apiVersion": "v1", "time": "2026-12-01T10:00:00Z",
		"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:metadata": map[string]any{"f:labels": map[string]any{".": map[string]any{}, "f:app": map[string]any{}}},
			"f:spec": map[string]any{"f:containers": map[string]any{}}}}}
}

func container(name, image string, requests map[string]any, limits map[string]any) map[string]any {
	return map[string]any{
		"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
		"ports": []any{map[string]any{"containerPort": 8080, "protocol": "TCP", "name": "http"}},
		"env": []any{
			map[string]any{"name": "LOG_LEVEL", "value": "info"},
			map[string]any{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"apiVersion": "v1", "fieldPath": "metadata.name"}}},
			map[string]any{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.observability:4317"},
		},
		"resources":                map[string]any{"requests": requests, "limits": limits},
		"readinessProbe":           map[string]any{"httpGet": map[string]any{"path": "/ready", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
		"volumeMounts":             []any{map[string]any{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}},
		"terminationMessagePath":   "/dev/termination-log",
		"terminationMessagePolicy": "File",
		"securityContext":          map[string]any{"allowPrivilegeEscalation": false, "runAsNonRoot": true, "capabilities": map[string]any{"drop": []any{"ALL"}}},
	}
}

func podSpec(sa string, containers ...any) map[string]any {
	return map[string]any{
		"serviceAccountName": sa, "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
		"terminationGracePeriodSeconds": 30, "enableServiceLinks": false, "priority": 0,
		"securityContext": map[string]any{"fsGroup": 2000, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
		"tolerations": []any{
			map[string]any{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
			map[string]any{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
		},
		"volumes": []any{map[string]any{"name": "kube-api-access", "projected": map[string]any{"defaultMode": 420, "sources": []any{
			map[string]any{"serviceAccountToken": map[string]any{"expirationSeconds": 3607, "path": "token"}},
			map[string]any{"configMap": map[string]any{"name": "kube-root-ca.crt", "items": []any{map[string]any{"key": "ca.crt", "path": "ca.crt"}}}},
		}}}},
		"containers": containers,
	}
}

// plainPod is what a ReplicaSet creates for an ordinary web service.
func plainPod(r *rand.Rand, i int) map[string]any {
	apps := []string{"checkout", "catalog", "search-frontend", "payments", "recommendations", "auth"}
	app := apps[r.IntN(len(apps))]
	hash := fmt.Sprintf("%08x", r.Uint32())
	return map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{
			"generateName": app + "-" + hash[:8] + "-", "namespace": "shop",
			"labels":          map[string]any{"app": app, "pod-template-hash": hash[:8], "app.kubernetes.io/part-of": "shop"},
			"annotations":     map[string]any{"kubectl.kubernetes.io/restartedAt": "2026-11-30T08:00:00Z", "prometheus.io/scrape": "true"},
			"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": app + "-" + hash[:8], "uid": fmt.Sprintf("%x-%d", r.Uint64(), i), "controller": true, "blockOwnerDeletion": true}},
			"managedFields":   managedFields("kube-controller-manager"),
		},
		"spec": podSpec(app,
			container(app, "registry.example.com/shop/"+app+":2.14.1", map[string]any{"cpu": "250m", "memory": "256Mi"}, map[string]any{"memory": "512Mi"}),
			container("istio-proxy", "docker.io/istio/proxyv2:1.24.0", map[string]any{"cpu": "100m", "memory": "128Mi"}, map[string]any{"cpu": "2", "memory": "1Gi"})),
	}
}

func gpuTemplate(r *rand.Rand, sa, image string, gpus int) map[string]any {
	res := map[string]any{"nvidia.com/gpu": gpus, "cpu": fmt.Sprint(8 * gpus), "memory": fmt.Sprintf("%dGi", 64*gpus)}
	return map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": sa}},
		"spec":     podSpec(sa, container("main", image, res, map[string]any{"nvidia.com/gpu": gpus, "memory": fmt.Sprintf("%dGi", 64*gpus)})),
	}
}

func gpuDeployment(r *rand.Rand, i int) map[string]any {
	models := []string{"L4", "A10G,L4", "L40S,L4"}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": fmt.Sprintf("embeddings-%d", i), "namespace": "search",
			"labels": map[string]any{"app": "embeddings"},
			"annotations": map[string]any{"quartermaster.io/team": "search", "quartermaster.io/gpu-models": models[r.IntN(len(models))],
				"quartermaster.io/expected-duration": "720h"},
			"managedFields": managedFields("argocd-controller")},
		"spec": map[string]any{"replicas": 1 + r.IntN(6), "selector": map[string]any{"matchLabels": map[string]any{"app": "embeddings"}},
			"strategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxSurge": "25%", "maxUnavailable": "25%"}},
			"template": gpuTemplate(r, "embeddings", "ghcr.io/example/embeddings:1.9", 1)},
	}
}

func gpuJob(r *rand.Rand, i int) map[string]any {
	gpus := []int{1, 2, 4, 8}[r.IntN(4)]
	tmpl := gpuTemplate(r, "trainer", "ghcr.io/example/vision-train:5.1", gpus)
	tmpl["spec"].(map[string]any)["restartPolicy"] = "OnFailure"
	return map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": fmt.Sprintf("sweep-%d", i), "namespace": "vision",
			"annotations": map[string]any{"quartermaster.io/team": "vision", "quartermaster.io/interruptible": "true",
				"quartermaster.io/gpu-models": "A100-80GB,A100", "quartermaster.io/expected-duration": "12h"},
			"managedFields": managedFields("kubectl")},
		"spec": map[string]any{"parallelism": 2, "completions": 2, "backoffLimit": 4, "template": tmpl},
	}
}

func pytorchJob(r *rand.Rand, i int) map[string]any {
	// At most 8 × 8 = 64 GPUs: the research team's cap in the default policy data.
	workers := 1 + r.IntN(7)
	replica := func(n int) map[string]any {
		return map[string]any{"replicas": n, "restartPolicy": "OnFailure", "template": gpuTemplate(r, "llm", "ghcr.io/example/llm-pretrain:0.4", 8)}
	}
	return map[string]any{
		"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
		"metadata": map[string]any{"name": fmt.Sprintf("llm-pretrain-%d", i), "namespace": "research",
			"annotations": map[string]any{"quartermaster.io/team": "research", "quartermaster.io/gpu-models": "H100,A100-80GB",
				"quartermaster.io/expected-duration": "36h"},
			"managedFields": managedFields("kubectl")},
		"spec": map[string]any{"pytorchReplicaSpecs": map[string]any{"Master": replica(1), "Worker": replica(workers)}},
	}
}
