package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/quartermaster-io/quartermaster/internal/decisionlog"
)

// TestValidateOrderIsStable: every problem is reported in flag order, the
// same on every run (the bind addresses were once checked in map order).
func TestValidateOrderIsStable(t *testing.T) {
	cfg := NewConfig()
	cfg.MetricsBindAddress, cfg.HealthProbeBindAddress = "x", "y"
	cfg.Engine.Sources.CatalogFormat, cfg.Engine.Nodes.LabelKeys = "z", []string{"bogus=1"}
	want := "--cert-dir is required (a directory with tls.crt and tls.key)\n" +
		"--metrics-bind-address \"x\": want host:port or 0\n" +
		"--health-probe-bind-address \"y\": want host:port or 0\n" +
		"--catalog-format \"z\": want csv or skypilot\n" +
		"--label-profile/--label-key: label key \"bogus\": want one of capacityType, cloud, clusterCloud, instanceType, onDemandValue, region, spotTaint, spotTaintValue, spotValue"
	for i := range 20 {
		if err := cfg.Validate(); err == nil || err.Error() != want {
			t.Fatalf("run %d:\n%v\nwant\n%s", i, err, want)
		}
	}
}

func TestFlagsAndEnvironment(t *testing.T) {
	certs := t.TempDir()
	tests := map[string]struct {
		args    []string
		env     map[string]string
		want    func(*Config) bool
		wantErr string
	}{
		"defaults": {
			args: []string{"--cert-dir", certs},
			want: func(c *Config) bool {
				return c.Port == 9443 && c.Deadline == 500*time.Millisecond && c.DeadlineOutcome == "deny" &&
					c.MetricsBindAddress == ":8080" && c.HealthProbeBindAddress == ":8081" && !c.Standalone
			},
		},
		"standalone": {
			args: []string{"--cert-dir", certs, "--standalone", "--cluster-state", "s.yaml", "--inventory", "i.yaml", "--policies", "p/", "--port", "10443"},
			want: func(c *Config) bool {
				return c.Standalone && c.Engine.Facts.ClusterState == "s.yaml" && c.Engine.Facts.Inventory == "i.yaml" && c.Engine.Policies.Dir == "p/" && c.Port == 10443
			},
		},
		"environment fallback, flag wins": {
			args: []string{"--port", "9444"},
			env:  map[string]string{"QUARTERMASTER_CERT_DIR": certs, "QUARTERMASTER_PORT": "1", "QUARTERMASTER_DEADLINE": "250ms"},
			want: func(c *Config) bool {
				return c.CertDir == certs && c.Port == 9444 && c.Deadline == 250*time.Millisecond
			},
		},
		"every problem at once": {
			args: []string{"--port", "0", "--deadline", "40s", "--deadline-outcome", "maybe", "--cluster-state", "s.yaml", "--metrics-bind-address", "nope"},
			wantErr: "webhook: --cert-dir is required (a directory with tls.crt and tls.key)\n--port 0: want 1-65535\n" +
				"--metrics-bind-address \"nope\": want host:port or 0\n" +
				"--cluster-state and --usage need --standalone (with an API server, informers provide them)\n" +
				"--deadline 40s: want more than 0 and at most 25s (the API server waits at most 30s)\n" +
				"--deadline-outcome \"maybe\": want deny or allow\n",
		},
		"catalog reload interval": {
			args: []string{"--cert-dir", certs, "--catalog", "c.csv", "--quota", "q.yaml", "--catalog-reload-interval", "2s"},
			want: func(c *Config) bool {
				return c.Engine.Sources.Catalog == "c.csv" && c.Engine.Sources.Quota == "q.yaml" && c.Engine.Reload.Catalog == 2*time.Second
			},
		},
		"catalog reload interval from the environment, default 10s": {
			args: []string{"--cert-dir", certs},
			env:  map[string]string{"QUARTERMASTER_CATALOG_RELOAD_INTERVAL": "1m"},
			want: func(c *Config) bool {
				return c.Engine.Reload.Catalog == time.Minute && NewConfig().Engine.Reload.Catalog == 10*time.Second
			},
		},
		"catalog reload interval too short": {
			args:    []string{"--cert-dir", certs, "--catalog-reload-interval", "10ms"},
			wantErr: "webhook: --catalog-reload-interval 10ms: want at least 100ms\n",
		},
		"standalone excludes kubeconfig": {
			args:    []string{"--cert-dir", certs, "--standalone", "--kubeconfig", "k"},
			wantErr: "webhook: --standalone and --kubeconfig exclude each other\n",
		},
		"bad environment value": {
			args:    []string{"--cert-dir", certs},
			env:     map[string]string{"QUARTERMASTER_PORT": "many"},
			wantErr: "webhook: QUARTERMASTER_PORT=\"many\": must be an integer\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var got *Config
			var stderr bytes.Buffer
			code := execute(context.Background(), tc.args, &stderr, func(_ context.Context, c *Config, _ io.Writer) error {
				got = c
				return nil
			})
			if tc.wantErr != "" {
				if code != 1 || stderr.String() != tc.wantErr {
					t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr.String(), tc.wantErr)
				}
				return
			}
			if code != 0 || got == nil || !tc.want(got) {
				t.Fatalf("exit %d, config %+v, stderr %s", code, got, stderr.String())
			}
		})
	}
}

// applyPatch applies a JSON patch to a JSON object, as the API server does.
func applyPatch(t *testing.T, obj string, patch []byte) string {
	t.Helper()
	p, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply([]byte(obj))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeCert(t *testing.T, dir string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// TestStandaloneServes starts the real binary's run in standalone mode and
// talks to it over TLS: a GPU Job that the default policy library admits is
// patched (its team coming from the namespace label), one it forbids is
// denied with the policy's code, probes and metrics answer, TLS 1.1 is
// refused, and the decision log verifies after shutdown.
func TestStandaloneServes(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	state := filepath.Join(dir, "state.yaml")
	os.WriteFile(state, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: vision, labels: {quartermaster.io/team: vision}}\n"), 0o600)
	logPath := filepath.Join(dir, "decisions.log")
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte("rules: [{group: example.com, kind: Trainer, class: training, podSets: [{each: spec.workers.*, template: template, replicas: replicas}]}]\n"), 0o600)
	port, metricsPort, healthPort := freePort(t), freePort(t), freePort(t)
	args := []string{"--cert-dir", dir, "--bind-address", "127.0.0.1", "--port", strconv.Itoa(port),
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(metricsPort), "--health-probe-bind-address", "127.0.0.1:" + strconv.Itoa(healthPort),
		"--standalone", "--cluster-state", state, "--decision-log", logPath, "--workload-rules", rules}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() { done <- execute(ctx, args, &stderr, run) }()

	// A client that would speak HTTP/2 if offered, as the API server would.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	base := "https://127.0.0.1:" + strconv.Itoa(port)
	var resp *http.Response
	var err error
	for i := 0; i < 200; i++ {
		if resp, err = client.Get(base + "/readyz"); err == nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("webhook did not come up: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("readyz %d", resp.StatusCode)
	}
	job := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"e2e-1","kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"CREATE","namespace":"vision","userInfo":{"username":"bob"},"object":` +
		`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"t","namespace":"vision"},"spec":{"template":{"spec":{"serviceAccountName":"trainer","containers":[{"name":"c","image":"ghcr.io/example/train:1","resources":{"limits":{"nvidia.com/gpu":1}}}]}}}}}}`
	resp, err = client.Post(base+"/mutate", "application/json", strings.NewReader(job))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"uid":"e2e-1","allowed":true,"patch":`) {
		t.Fatalf("mutate: %d %s", resp.StatusCode, body)
	}
	if resp.ProtoMajor != 1 {
		t.Errorf("the webhook spoke %s without --enable-http2", resp.Proto)
	}
	var placed struct {
		Response struct {
			Patch []byte `json:"patch"`
		} `json:"response"`
	}
	if err := json.Unmarshal(body, &placed); err != nil {
		t.Fatal(err)
	}
	// The stored Job, as the API server applies the patch; then the same Job
	// labelled (an UPDATE) and judged as final (/validate): the decision is
	// kept both times, with no patch and no policy evaluation (the policy
	// duration count below stays at the two CREATEs).
	storedJob := applyPatch(t, job[strings.Index(job, `"object":`)+len(`"object":`):len(job)-2], placed.Response.Patch)
	labelled := strings.Replace(storedJob, `"metadata":{`, `"metadata":{"labels":{"tier":"gold"},`, 1)
	update := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"e2e-u","kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"UPDATE","namespace":"vision","name":"t","userInfo":{"username":"bob"},"object":` +
		labelled + `,"oldObject":` + storedJob + `}}`
	for _, path := range []string{"/mutate", "/validate"} {
		resp, err = client.Post(base+path, "application/json", strings.NewReader(update))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"e2e-u","allowed":true}}`; string(body) != want {
			t.Fatalf("%s of a labelled, placed Job: %s, want %s", path, body, want)
		}
	}
	// A kind from --workload-rules is placed like a built-in one.
	trainer := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"e2e-3","kind":{"group":"example.com","version":"v1","kind":"Trainer"},"operation":"CREATE","namespace":"vision","userInfo":{"username":"bob"},"object":` +
		`{"apiVersion":"example.com/v1","kind":"Trainer","metadata":{"name":"tr","namespace":"vision"},"spec":{"workers":[{"replicas":2,"template":{"spec":{"serviceAccountName":"trainer","containers":[{"name":"c","image":"ghcr.io/example/train:1","resources":{"limits":{"nvidia.com/gpu":1}}}]}}}]}}}}`
	resp, err = client.Post(base+"/mutate", "application/json", strings.NewReader(trainer))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"uid":"e2e-3","allowed":true,"patch":`) {
		t.Fatalf("Trainer from --workload-rules: %s", body)
	}
	// The same Job from an unapproved registry: the access policy denies it.
	denied := strings.NewReplacer(`"uid":"e2e-1"`, `"uid":"e2e-2"`, "ghcr.io/example/train:1", "docker.io/someone/miner:1").Replace(job)
	resp, err = client.Post(base+"/mutate", "application/json", strings.NewReader(denied))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"allowed":false`) || !strings.Contains(string(body), "access-") {
		t.Fatalf("policy denial: %d %s", resp.StatusCode, body)
	}
	for _, probe := range []string{"/healthz", "/readyz"} {
		r, err := http.Get("http://127.0.0.1:" + strconv.Itoa(healthPort) + probe)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: %v %v", probe, err, r)
		}
		r.Body.Close()
	}
	r, err := http.Get("http://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{
		`quartermaster_webhook_requests_total{kind="Job",operation="mutate",result="patched"} 1`,
		`quartermaster_webhook_requests_total{kind="Job",operation="mutate",result="allowed"} 1`,
		`quartermaster_webhook_requests_total{kind="Job",operation="validate",result="allowed"} 1`,
		`quartermaster_webhook_requests_total{kind="Trainer",operation="mutate",result="patched"} 1`,
		`quartermaster_webhook_decisions_total{capacity_type="on-demand"`,
		`quartermaster_webhook_placement_duration_seconds_count 2`,
		`quartermaster_webhook_policy_duration_seconds_count 3`,
		`quartermaster_webhook_panics_recovered_total 0`,
		`quartermaster_decision_log_queue_length`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get(base + "/healthz"); err == nil {
		t.Error("TLS 1.1 was accepted")
	}

	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	rep, err := decisionlog.VerifyFiles([]string{logPath})
	if err != nil || rep.Problem != nil || rep.Lines != 5 {
		t.Fatalf("decision log: %+v %v", rep, err)
	}
}
