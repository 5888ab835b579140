//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// clientset is a client-go client for the test cluster, for measurements
// where starting a kubectl process per request would drown the signal.
func clientset(t testing.TB) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", cluster.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 1000, 1000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// benchPod is a bare pod, asking for a GPU or not, valid for the policies
// (team, service account, allowed registry).
func benchPod(name string, gpu bool, labels map[string]string) *corev1.Pod {
	res := corev1.ResourceRequirements{}
	if gpu {
		res.Limits = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")}
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{"quartermaster.io/team": "search"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "embeddings",
			Containers:         []corev1.Container{{Name: "c", Image: "ghcr.io/example/embeddings:1.9", Resources: res}},
		},
	}
}

// TestWebhookChaos kills the webhook under a steady stream of creates:
// non-GPU pods and everything in kube-system keep being admitted, GPU pods
// are rejected (failurePolicy Fail: closed) while it is down, and after a
// restart it is ready again quickly and GPU pods are placed again.
func TestWebhookChaos(t *testing.T) {
	h := startAdmission(t, webhookPort(5))
	cs := clientset(t)
	namespace(t, "wh-chaos", "embeddings")
	kubectl(t, "create", "serviceaccount", "embeddings", "-n", "kube-system").must(t, "service account in kube-system")
	t.Cleanup(func() { kubectl(t, "delete", "serviceaccount", "embeddings", "-n", "kube-system") })
	ctx := context.Background()

	stream := startCreateStream(t, cs, "wh-chaos")
	createGPU := func(name string) error {
		_, err := cs.CoreV1().Pods("wh-chaos").Create(ctx, benchPod(name, true, nil), metav1.CreateOptions{})
		return err
	}

	if err := createGPU("before"); err != nil {
		t.Fatalf("GPU pod with the webhook up: %v", err)
	}
	h.stop()
	downAt := time.Now()
	rejected := 0
	for i := 0; time.Since(downAt) < 3*time.Second; i++ {
		err := createGPU(fmt.Sprintf("down-%d", i))
		if err == nil {
			t.Errorf("GPU pod down-%d admitted while the webhook is down (failurePolicy Fail)", i)
		} else if !strings.Contains(err.Error(), "failed calling webhook") {
			t.Errorf("GPU pod down-%d rejected for another reason: %v", i, err)
		} else {
			rejected++
		}
		time.Sleep(200 * time.Millisecond)
	}

	restart := time.Now()
	ready := h.restart(t)
	var admitted time.Duration
	for i := 0; ; i++ {
		if err := createGPU(fmt.Sprintf("after-%d", i)); err == nil {
			admitted = time.Since(restart)
			break
		} else if time.Since(restart) > 30*time.Second {
			t.Fatalf("GPU pods still rejected 30 s after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	created, failures := stream.stop()
	if len(failures) > 0 {
		t.Errorf("%d of %d non-GPU or kube-system creates failed during the chaos, e.g. %s", len(failures), created, failures[0])
	}
	if rejected == 0 || created < 30 {
		t.Errorf("too little traffic to judge: %d GPU rejections, %d stream creates", rejected, created)
	}
	// A generous bound for a loaded 2-core machine; the figure is reported.
	if ready > 10*time.Second {
		t.Errorf("ready %s after the restart, want well under 10 s", ready)
	}
	var pod corev1.Pod
	p, err := cs.CoreV1().Pods("wh-chaos").Get(ctx, "before", metav1.GetOptions{})
	if err == nil {
		pod = *p
	}
	if pod.Annotations["quartermaster.io/decision"] == "" {
		t.Errorf("the GPU pod admitted before the outage was not placed: %v", pod.Annotations)
	}
	t.Logf("chaos: %d stream creates (non-GPU and kube-system), %d failed; %d GPU creates rejected while down; ready %s after restart, first GPU pod admitted %s after restart",
		created, len(failures), rejected, ready.Round(time.Millisecond), admitted.Round(time.Millisecond))
}

// createStream is the steady stream of creates the chaos tests kill the
// webhook under: a non-GPU pod in the test's namespace, a GPU and a non-GPU
// pod in kube-system (never sent to the webhook), every 100 ms.
type createStream struct {
	stopping atomic.Bool
	done     sync.WaitGroup
	mu       sync.Mutex
	created  int
	failures []string
}

// startCreateStream starts the stream; its kube-system pods are deleted when
// the test ends.
func startCreateStream(t testing.TB, cs *kubernetes.Clientset, ns string) *createStream {
	t.Helper()
	ctx := context.Background()
	s := &createStream{}
	var system []string // kube-system pods created, touched only by the stream
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		for i := 0; !s.stopping.Load(); i++ {
			for _, c := range []struct {
				ns  string
				gpu bool
			}{{ns, false}, {"kube-system", true}, {"kube-system", false}} {
				// Named after the test's namespace: another chaos test's
				// kube-system pods may still be terminating.
				name := fmt.Sprintf("%s-stream-%d-%v", ns, i, c.gpu)
				_, err := cs.CoreV1().Pods(c.ns).Create(ctx, benchPod(name, c.gpu, nil), metav1.CreateOptions{})
				s.mu.Lock()
				s.created++
				if err != nil {
					s.failures = append(s.failures, fmt.Sprintf("%s/%s: %v", c.ns, name, err))
				} else if c.ns == "kube-system" {
					system = append(system, name)
				}
				s.mu.Unlock()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		s.stop()
		for _, name := range system {
			cs.CoreV1().Pods("kube-system").Delete(ctx, name, metav1.DeleteOptions{})
		}
	})
	return s
}

// stop ends the stream (idempotent) and returns how many creates it made
// and the ones that failed.
func (s *createStream) stop() (created int, failures []string) {
	s.stopping.Store(true)
	s.done.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created, s.failures
}

// restart starts the killed webhook again and returns how long it took to
// answer /readyz; after 20 s the test fails.
func (h *hostWebhook) restart(t testing.TB) time.Duration {
	t.Helper()
	start := time.Now()
	h.start(t)
	for h.ready() != nil {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("the webhook is not ready 20 s after a restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// BenchmarkWebhookOverhead measures pod-create latency through the API
// server for the same GPU pod three ways, interleaved in one run: with
// Quartermaster in the path, with it skipped (a namespace with the chart's
// exemption label, left out by the namespace selector), and through a no-op reference webhook pair (mutating and
// validating, answering "allowed" without reading the object) registered the
// same way. The reference is the floor any admission webhook costs on this
// cluster (the API server's encoding, TLS and round trips), so the report
// separates what is ours from what is the mechanism's. One iteration is three
// creates, one each way; the pods carry a scheduling gate, so that only the
// create itself is timed.
//
// It is a benchmark, run by `make bench-e2e` (-benchtime=150x), not a test:
// `make test` runs the e2e suite with the race detector in the webhook, which
// would measure the detector.
func BenchmarkWebhookOverhead(b *testing.B) {
	const warmUp = 5 // iterations left out: connections, caches
	h := startAdmission(b, webhookPort(5))
	cs := clientset(b)
	namespace(b, "wh-bench", "embeddings")
	exemptNamespace(b, "wh-bench-exempt", "embeddings")
	ctx := context.Background()
	cert := newServingCert(b)
	noop := startRecordingWebhook(b, webhookPort(40), cert)
	registerReferenceWebhooks(b, webhookPort(40), cert)
	apiBefore, hookBefore := apiserverMetrics(b), h.metrics(b)
	const (
		ours = iota
		none
		reference
	)
	var lat [3][]time.Duration
	n := 0 // iterations
	for b.Loop() {
		for kind := range 3 {
			labels, ns := map[string]string{}, "wh-bench"
			if kind != ours {
				ns = "wh-bench-exempt"
			}
			if kind == reference {
				labels[referenceLabel] = "true"
			}
			pod := benchPod(fmt.Sprintf("bench-%d-%d", n, kind), true, labels)
			// Gated pods are never scheduled: on this one machine the
			// scheduler and KWOK working on earlier pods would otherwise
			// compete with the creates being timed, which in a real cluster
			// run elsewhere.
			pod.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "e2e.quartermaster.io/not-scheduled"}}
			start := time.Now()
			got, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
			d := time.Since(start)
			if err != nil {
				b.Fatalf("creating %s: %v", pod.Name, err)
			}
			if placed := got.Annotations["quartermaster.io/decision"] != ""; placed != (kind == ours) {
				b.Fatalf("pod %s: placed %v, went through Quartermaster %v", pod.Name, placed, kind == ours)
			}
			if n >= warmUp {
				lat[kind] = append(lat[kind], d)
			}
		}
		n++
	}
	b.StopTimer()
	if len(lat[ours]) == 0 {
		b.Fatalf("%d iterations leave no sample after the %d warm-up ones: run with -benchtime=150x", n, warmUp)
	}
	if got := len(noop.reviews()); got < 2*n-10 {
		b.Fatalf("the reference webhook saw %d reviews, want about %d: it was not in the path", got, 2*n)
	}
	q := func(ds []time.Duration, p float64) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[min(len(s)-1, int(p*float64(len(s))))]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	for _, p := range []float64{0.5, 0.99} {
		o, w, r := q(lat[none], p), q(lat[ours], p), q(lat[reference], p)
		b.Logf("overhead p%.0f: pod create %s without a webhook, %s with Quartermaster (ratio %.2f), %s with the no-op reference pair (ratio %.2f); Quartermaster/reference %.2f",
			100*p, ms(o), ms(w), float64(w)/float64(o), ms(r), float64(r)/float64(o), float64(w)/float64(r))
		b.ReportMetric(float64(w)/float64(o), fmt.Sprintf("p%.0f-ratio", 100*p))
		b.ReportMetric(float64(r)/float64(o), fmt.Sprintf("p%.0f-ratio-reference", 100*p))
	}
	b.Logf("overhead: %d samples each", len(lat[ours]))

	// Where the difference goes: the API server's time per call to our
	// webhook (encoding, TLS, round trip, our handler, patch) against our
	// handler's own, and the reference's. The API server's buckets are too
	// coarse (the first ends at 5 ms) for a median, so its side is a mean;
	// ours is the median of fine buckets, which the first, cold calls do
	// not sway as they would a mean.
	apiAfter, hookAfter := apiserverMetrics(b), h.metrics(b)
	const apiCall, handler = "apiserver_admission_webhook_admission_duration_seconds", "quartermaster_webhook_request_duration_seconds"
	observed := func(after, before string, name string, sel map[string]string) histogram {
		return parseHistogram(b, after, name, sel).since(parseHistogram(b, before, name, sel))
	}
	for _, c := range []struct{ apiType, op, name string }{
		{"admit", "mutate", "mutate.quartermaster.io"}, {"validating", "validate", "validate.quartermaster.io"},
	} {
		api := observed(apiAfter, apiBefore, apiCall, map[string]string{"type": c.apiType, "operation": "CREATE", "name": c.name})
		ref := observed(apiAfter, apiBefore, apiCall, map[string]string{"type": c.apiType, "operation": "CREATE", "name": referenceName(c.apiType)})
		own := observed(hookAfter, hookBefore, handler, map[string]string{"operation": c.op, "path": "gpu"})
		b.Logf("overhead: %s call mean %.2f ms seen by the API server (our handler's median %.2f ms); the reference's mean %.2f ms",
			c.op, 1000*api.mean(), 1000*own.quantile(0.5), 1000*ref.mean())
	}
}
