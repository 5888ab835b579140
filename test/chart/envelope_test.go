//go:build e2e

package chart

import (
	"slices"
	"strings"
	"testing"
)

// webhookPod renders the chart and returns the webhook Deployment's pod spec and its container.
func webhookPod(t *testing.T, args ...string) (r rendered, pod, container any) {
	t.Helper()
	r = mustRender(t, args...)
	pod = at(r.get(t, deployment), "spec", "template", "spec")
	return r, pod, at(pod, "containers", "0")
}

// env is a container's environment by name (the whole entry, for valueFrom).
func env(c any) map[string]any {
	out := map[string]any{}
	list, _ := at(c, "env").([]any)
	for _, e := range list {
		out[str(e, "name")] = e
	}
	return out
}

func args(c any) []string {
	var out []string
	list, _ := at(c, "args").([]any)
	for _, a := range list {
		out = append(out, a.(string))
	}
	return out
}

func volume(pod any, name string) any {
	list, _ := at(pod, "volumes").([]any)
	for _, v := range list {
		if str(v, "name") == name {
			return v
		}
	}
	return nil
}

func mountPath(c any, name string) string {
	list, _ := at(c, "volumeMounts").([]any)
	for _, m := range list {
		if str(m, "name") == name {
			return str(m, "mountPath")
		}
	}
	return ""
}

// TestDecisionLog: by default every replica writes its own hash-chained log (named after its pod) on an emptyDir
// with a size limit, rotated as configured; a claim replaces the emptyDir and makes its files the webhook's group's;
// disabled, no flag and no volume.
func TestDecisionLog(t *testing.T) {
	_, pod, c := webhookPod(t)
	a := args(c)
	for _, want := range []string{"--decision-log=/var/log/quartermaster/decisions-$(POD_NAME).log", "--decision-log-max-bytes=104857600", "--decision-log-max-files=8"} {
		if !slices.Contains(a, want) {
			t.Errorf("args %v lack %s", a, want)
		}
	}
	if str(env(c)["POD_NAME"], "valueFrom", "fieldRef", "fieldPath") != "metadata.name" {
		t.Errorf("POD_NAME is not the pod's name: %v", env(c)["POD_NAME"])
	}
	if mountPath(c, "decision-log") != "/var/log/quartermaster" || str(volume(pod, "decision-log"), "emptyDir", "sizeLimit") != "1Gi" {
		t.Errorf("decision-log mount %q, volume %v", mountPath(c, "decision-log"), volume(pod, "decision-log"))
	}
	if at(pod, "securityContext", "fsGroup") != nil {
		t.Error("fsGroup set without a claim")
	}

	_, pod, c = webhookPod(t, "--set", "webhook.decisionLog.existingClaim=decisions", "--set", "webhook.decisionLog.maxFiles=3")
	if str(volume(pod, "decision-log"), "persistentVolumeClaim", "claimName") != "decisions" || at(volume(pod, "decision-log"), "emptyDir") != nil {
		t.Errorf("with a claim: volume %v", volume(pod, "decision-log"))
	}
	if at(pod, "securityContext", "fsGroup") != float64(65532) || !slices.Contains(args(c), "--decision-log-max-files=3") {
		t.Errorf("with a claim: fsGroup %v, args %v", at(pod, "securityContext", "fsGroup"), args(c))
	}

	_, pod, c = webhookPod(t, "--set", "webhook.decisionLog.enabled=false")
	if slices.ContainsFunc(args(c), func(s string) bool { return strings.HasPrefix(s, "--decision-log") }) || volume(pod, "decision-log") != nil ||
		env(c)["POD_NAME"] != nil {
		t.Errorf("decision log disabled but rendered: args %v volume %v", args(c), volume(pod, "decision-log"))
	}
}

// TestGoMemLimit: auto takes the container's memory limit through the downward API, in bytes (Go reads a plain
// number as bytes); a quantity is passed as it is; off leaves it unset; auto without a limit is refused.
func TestGoMemLimit(t *testing.T) {
	_, _, c := webhookPod(t)
	ref := at(env(c)["GOMEMLIMIT"], "valueFrom", "resourceFieldRef")
	if str(ref, "resource") != "limits.memory" || str(ref, "divisor") != "1" || str(ref, "containerName") != "webhook" {
		t.Errorf("GOMEMLIMIT %v, want the webhook container's limits.memory in bytes", env(c)["GOMEMLIMIT"])
	}
	_, _, c = webhookPod(t, "--set", "webhook.goMemLimit=450MiB")
	if str(env(c)["GOMEMLIMIT"], "value") != "450MiB" {
		t.Errorf("explicit GOMEMLIMIT %v", env(c)["GOMEMLIMIT"])
	}
	_, _, c = webhookPod(t, "--set", "webhook.goMemLimit=off")
	if env(c)["GOMEMLIMIT"] != nil {
		t.Errorf("GOMEMLIMIT %v with goMemLimit off", env(c)["GOMEMLIMIT"])
	}
}

// TestSchedulingEnvelope: system-cluster-critical priority and a zone spread by default, both configurable; host
// network with its ports and extra environment for the in-cluster e2e.
func TestSchedulingEnvelope(t *testing.T) {
	_, pod, _ := webhookPod(t)
	if str(pod, "priorityClassName") != "system-cluster-critical" {
		t.Errorf("priorityClassName %q", str(pod, "priorityClassName"))
	}
	spread := at(pod, "topologySpreadConstraints", "0")
	if str(spread, "topologyKey") != "topology.kubernetes.io/zone" || str(spread, "whenUnsatisfiable") != "ScheduleAnyway" ||
		at(spread, "maxSkew") != float64(1) || str(spread, "labelSelector", "matchLabels", "app.kubernetes.io/component") != "webhook" {
		t.Errorf("topology spread %v", spread)
	}
	if at(pod, "hostNetwork") != nil {
		t.Error("hostNetwork by default")
	}

	_, pod, c := webhookPod(t, "--set", "webhook.priorityClassName=", "--set", "webhook.topologySpread.enabled=false",
		"--set", "webhook.hostNetwork=true", "--set", "webhook.replicas=1", "--set", "webhook.port=10443",
		"--set", "webhook.metricsPort=10444", "--set", "webhook.healthPort=10445",
		"--set", "webhook.extraEnv[0].name=KUBERNETES_SERVICE_HOST", "--set", "webhook.extraEnv[0].value=127.0.0.1")
	if at(pod, "priorityClassName") != nil || at(pod, "topologySpreadConstraints") != nil {
		t.Errorf("priority %v, spread %v: want neither", at(pod, "priorityClassName"), at(pod, "topologySpreadConstraints"))
	}
	if at(pod, "hostNetwork") != true || str(pod, "dnsPolicy") != "ClusterFirstWithHostNet" {
		t.Errorf("hostNetwork %v dnsPolicy %v", at(pod, "hostNetwork"), at(pod, "dnsPolicy"))
	}
	a := args(c)
	for _, want := range []string{"--port=10443", "--metrics-bind-address=:10444", "--health-probe-bind-address=:10445"} {
		if !slices.Contains(a, want) {
			t.Errorf("args %v lack %s", a, want)
		}
	}
	if at(c, "ports", "1", "containerPort") != float64(10444) || str(env(c)["KUBERNETES_SERVICE_HOST"], "value") != "127.0.0.1" {
		t.Errorf("ports %v env %v", at(c, "ports"), at(c, "env"))
	}
}

// TestMetricsObjects: a metrics Service by default, pointed at the pods' metrics port; the ServiceMonitor selects it
// alone; the PrometheusRule's alerts are scoped to this release and carry the configured thresholds.
func TestMetricsObjects(t *testing.T) {
	r := mustRender(t)
	svc := r.get(t, "Service/qm-quartermaster-webhook-metrics")
	if str(svc, "spec", "ports", "0", "targetPort") != "metrics" || at(svc, "spec", "ports", "0", "port") != float64(8080) {
		t.Errorf("metrics Service ports %v", at(svc, "spec", "ports"))
	}
	for _, key := range []string{"ServiceMonitor/qm-quartermaster-webhook", "PrometheusRule/qm-quartermaster-webhook"} {
		if r.has(key) {
			t.Errorf("%s rendered by default (it needs the Prometheus Operator's CRDs)", key)
		}
	}

	r = mustRender(t, "--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.serviceMonitor.labels.release=prom",
		"--set", "metrics.prometheusRule.enabled=true", "--set-json", "metrics.prometheusRule.gpuLatencyP99Seconds=0.25",
		"--set", "metrics.prometheusRule.catalogMaxAgeSeconds=86400")
	sm := r.get(t, "ServiceMonitor/qm-quartermaster-webhook")
	if str(sm, "metadata", "labels", "release") != "prom" || str(sm, "spec", "endpoints", "0", "port") != "metrics" ||
		str(sm, "spec", "selector", "matchLabels", "quartermaster.io/metrics") != "true" ||
		str(r.get(t, "Service/qm-quartermaster-webhook-metrics"), "metadata", "labels", "quartermaster.io/metrics") != "true" {
		t.Errorf("ServiceMonitor %v does not select the metrics Service", sm)
	}
	if str(r.get(t, "Service/qm-quartermaster-webhook"), "metadata", "labels", "quartermaster.io/metrics") != "" {
		t.Error("the webhook's HTTPS Service would be scraped too")
	}
	rules, _ := at(r.get(t, "PrometheusRule/qm-quartermaster-webhook"), "spec", "groups", "0", "rules").([]any)
	exprs := map[string]string{}
	for _, rule := range rules {
		exprs[str(rule, "alert")] = str(rule, "expr")
	}
	for alert, want := range map[string][]string{
		"QuartermasterWebhookErrors":        {`result="errored"`},
		"QuartermasterWebhookPanics":        {"quartermaster_webhook_panics_recovered_total"},
		"QuartermasterWebhookSlowDecisions": {`path="gpu"`, "> 0.25"},
		"QuartermasterCatalogStale":         {"quartermaster_catalog_age_seconds", "> 86400"},
		"QuartermasterReloadFailing":        {"quartermaster_webhook_reload_failing", "quartermaster_policy_reload_failing"},
		"QuartermasterDecisionLogFailing":   {"quartermaster_decision_log_write_errors_total"},
	} {
		expr, ok := exprs[alert]
		if !ok {
			t.Errorf("no alert %s", alert)
			continue
		}
		for _, w := range append(want, `job="qm-quartermaster-webhook-metrics"`) {
			if !strings.Contains(expr, w) {
				t.Errorf("%s: %q lacks %s", alert, expr, w)
			}
		}
	}
}

// TestNetworkPolicy: off by default; on, the webhook port is open to the API server's CIDRs only and the metrics
// port to metricsFrom only, for the webhook's pods only.
func TestNetworkPolicy(t *testing.T) {
	const key = "NetworkPolicy/qm-quartermaster-webhook"
	if mustRender(t).has(key) {
		t.Errorf("%s rendered by default", key)
	}
	np := mustRender(t, "--set", "networkPolicy.enabled=true", "--set", "networkPolicy.apiServerCIDRs[0]=172.16.0.0/28",
		"--set-json", `networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]`).get(t, key)
	if str(np, "spec", "podSelector", "matchLabels", "app.kubernetes.io/component") != "webhook" || str(np, "spec", "policyTypes", "0") != "Ingress" {
		t.Errorf("policy selects %v, types %v", at(np, "spec", "podSelector"), at(np, "spec", "policyTypes"))
	}
	webhook, metrics := at(np, "spec", "ingress", "0"), at(np, "spec", "ingress", "1")
	if at(webhook, "ports", "0", "port") != float64(9443) || str(webhook, "from", "0", "ipBlock", "cidr") != "172.16.0.0/28" {
		t.Errorf("webhook port rule %v", webhook)
	}
	if at(metrics, "ports", "0", "port") != float64(8080) || str(metrics, "from", "0", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "monitoring" {
		t.Errorf("metrics port rule %v", metrics)
	}
	if at(np, "spec", "ingress", "2") != nil {
		t.Errorf("more ingress rules than the two: %v", at(np, "spec", "ingress"))
	}
	// No metricsFrom: nobody may scrape (only the webhook port is open).
	np = mustRender(t, "--set", "networkPolicy.enabled=true").get(t, key)
	if at(np, "spec", "ingress", "1") != nil || at(np, "spec", "ingress", "0", "from") != nil {
		t.Errorf("without CIDRs or metricsFrom: %v", at(np, "spec", "ingress"))
	}
}

// TestInventory: the inventory lands in the shared ConfigMap and the --inventory flag; the webhook reads it at start
// only, so its checksum on the pod template changes with it (a rollout) and is absent without one.
func TestInventory(t *testing.T) {
	inv := func(region string) []string {
		return []string{"--set-json", `inventory={"datasets":[{"location":"s3://corpus/","cloud":"aws","region":"` + region + `","encrypted":true}]}`}
	}
	r, _, c := webhookPod(t, inv("eu-west-1")...)
	if !slices.Contains(args(c), "--inventory=/etc/quartermaster/config/inventory.yaml") {
		t.Errorf("args %v lack --inventory", args(c))
	}
	if data := str(r.get(t, "ConfigMap/qm-quartermaster-config"), "data", "inventory.yaml"); !strings.Contains(data, "s3://corpus/") || !strings.Contains(data, "eu-west-1") {
		t.Errorf("inventory.yaml = %q", data)
	}
	sum := func(r rendered) string {
		return str(r.get(t, deployment), "spec", "template", "metadata", "annotations", "checksum/inventory")
	}
	a, b := sum(r), sum(mustRender(t, inv("eu-central-1")...))
	if a == "" || a == b {
		t.Errorf("checksum/inventory %q then %q: want a change with the inventory", a, b)
	}
	r, _, c = webhookPod(t)
	if sum(r) != "" || slices.ContainsFunc(args(c), func(s string) bool { return strings.HasPrefix(s, "--inventory") }) {
		t.Errorf("without an inventory: checksum %q, args %v", sum(r), args(c))
	}
}

// TestWebhookReadsItsInformers: the webhook's role covers every informer internal/clusterstate starts (list and
// watch), ReplicaSets and Jobs included: without them its caches never sync and it never becomes ready.
func TestWebhookReadsItsInformers(t *testing.T) {
	role := mustRender(t).get(t, "ClusterRole/qm-quartermaster-webhook")
	granted := map[string]bool{}
	rules, _ := at(role, "rules").([]any)
	for _, rule := range rules {
		verbs, _ := at(rule, "verbs").([]any)
		if !slices.Contains(verbs, any("list")) || !slices.Contains(verbs, any("watch")) {
			continue
		}
		groups, _ := at(rule, "apiGroups").([]any)
		resources, _ := at(rule, "resources").([]any)
		for _, g := range groups {
			for _, res := range resources {
				granted[g.(string)+"/"+res.(string)] = true
			}
		}
	}
	for _, want := range []string{"/pods", "/nodes", "/namespaces", "/persistentvolumeclaims", "storage.k8s.io/storageclasses", "apps/replicasets", "batch/jobs"} {
		if !granted[want] {
			t.Errorf("the webhook may not list and watch %s", want)
		}
	}
}

// TestInconsistentValues: combinations the schema or the templates refuse, each with a message that names the value.
func TestInconsistentValues(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"policy data without policies":           {[]string{"--set-json", `policyData={"teams.yaml":"teams: {}"}`}, "/policies"},
		"host network, two replicas, soft":       {[]string{"--set", "webhook.hostNetwork=true"}, "podAntiAffinity"},
		"NetworkPolicy on the host network":      {[]string{"--set", "webhook.hostNetwork=true", "--set", "webhook.replicas=1", "--set", "networkPolicy.enabled=true"}, "networkPolicy/enabled"},
		"goMemLimit auto without a limit":        {[]string{"--set", "webhook.resources.limits=null"}, "limits"},
		"bad goMemLimit":                         {[]string{"--set", "webhook.goMemLimit=lots"}, "goMemLimit"},
		"ServiceMonitor without metrics Service": {[]string{"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false"}, "service/enabled"},
		"one port for two servers":               {[]string{"--set", "webhook.metricsPort=9443"}, "must differ"},
		"unknown spread policy":                  {[]string{"--set", "webhook.topologySpread.whenUnsatisfiable=Maybe"}, "whenUnsatisfiable"},
		"inventory dataset without location":     {[]string{"--set-json", `inventory={"datasets":[{"cloud":"aws"}]}`}, "location"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := helmTemplate(t, tc.args...)
			if err == nil {
				t.Fatal("rendered, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v does not mention %s", err, tc.want)
			}
		})
	}
	// The consistent versions render.
	mustRender(t, "--set", "webhook.hostNetwork=true", "--set", "webhook.podAntiAffinity=hard")
	mustRender(t, "--set", "webhook.resources.limits=null", "--set", "webhook.goMemLimit=off")
	mustRender(t, "--set-json", `policyData={"teams.yaml":"teams: {}"}`, "--set-json", `policies={"a.rego":"package quartermaster.a"}`)
}
