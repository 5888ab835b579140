//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Ports on the host for webhooks, above the cluster's (see hack/versions.sh).
func webhookPort(i int) int { return cluster.portBase + 10 + i }

// servingCert is a CA and a serving certificate for 127.0.0.1, as the API
// server needs to call a webhook on the host.
type servingCert struct {
	caPEM, certPEM, keyPEM []byte
}

// caBundle is the base64 PEM the webhook configurations carry.
func (c servingCert) caBundle() string { return base64.StdEncoding.EncodeToString(c.caPEM) }

func newServingCert(t testing.TB) servingCert {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "quartermaster-e2e-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return servingCert{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}
}

// review is what the recording webhook remembers of one AdmissionReview.
type review struct {
	Path, Kind, Namespace, Name string
}

// recordingWebhook is a test double of the webhook on the host: it admits
// everything and records what the API server sent, to check the chart's
// webhook configurations (matchConditions, namespace and object exclusions)
// against the real API server. It decides nothing; the real webhook
// (startHostWebhook) does.
type recordingWebhook struct {
	srv *http.Server
	mu  sync.Mutex
	got []review
}

func startRecordingWebhook(t testing.TB, port int, cert servingCert) *recordingWebhook {
	t.Helper()
	pair, err := tls.X509KeyPair(cert.certPEM, cert.keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	w := &recordingWebhook{}
	mux := http.NewServeMux()
	handle := func(rw http.ResponseWriter, r *http.Request) {
		var ar struct {
			Request struct {
				UID       string `json:"uid"`
				Kind      struct{ Kind string }
				Namespace string `json:"namespace"`
				Name      string `json:"name"`
			} `json:"request"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ar); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.got = append(w.got, review{r.URL.Path, ar.Request.Kind.Kind, ar.Request.Namespace, ar.Request.Name})
		w.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(map[string]any{
			"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
			"response": map[string]any{"uid": ar.Request.UID, "allowed": true},
		})
	}
	mux.HandleFunc("/mutate", handle)
	mux.HandleFunc("/validate", handle)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("listening for the recording webhook: %v", err)
	}
	w.srv = &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}}, ReadHeaderTimeout: 5 * time.Second}
	go w.srv.ServeTLS(ln, "", "")
	t.Cleanup(w.stop)
	return w
}

func (w *recordingWebhook) stop() { w.srv.Close() }

// reviews returns what was recorded so far and forgets it.
func (w *recordingWebhook) reviews() []review {
	w.mu.Lock()
	defer w.mu.Unlock()
	got := w.got
	w.got = nil
	return got
}

// hostWebhook is the real webhook binary (cmd/webhook) running on the host,
// where the API server reaches it through the chart's externalURL: KWOK pods
// run no containers, so the chart's own Deployment cannot serve. HTTPS on
// port, metrics on port+1, probes on port+2, all on 127.0.0.1.
type hostWebhook struct {
	url, metricsURL string
	cert            servingCert
	argv            []string
	log             string
	cmd             *exec.Cmd
	client          *http.Client
}

var webhookBuild struct {
	sync.Once
	bin string
	err error
}

// webhookBinary builds cmd/webhook once per test binary.
func webhookBinary(t testing.TB) string {
	t.Helper()
	webhookBuild.Do(func() {
		webhookBuild.bin = filepath.Join(filepath.Dir(cluster.clusterDir), "webhook")
		build := exec.Command("go", "build", "-o", webhookBuild.bin, "./cmd/webhook")
		build.Dir = cluster.repo
		if out, err := build.CombinedOutput(); err != nil {
			webhookBuild.err = fmt.Errorf("building cmd/webhook: %v\n%s", err, out)
		}
	})
	if webhookBuild.err != nil {
		t.Fatal(webhookBuild.err)
	}
	return webhookBuild.bin
}

// startHostWebhook starts cmd/webhook on the host with a fresh serving
// certificate and the cluster's kubeconfig, and waits until /readyz answers.
// args are extra flags such as --catalog or --quota.
func startHostWebhook(t testing.TB, port int, args ...string) *hostWebhook {
	t.Helper()
	dir := t.TempDir()
	cert := newServingCert(t)
	certDir := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"tls.crt": cert.certPEM, "tls.key": cert.keyPEM} {
		if err := os.WriteFile(filepath.Join(certDir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	argv := append([]string{webhookBinary(t), "--bind-address=127.0.0.1", "--port=" + strconv.Itoa(port), "--cert-dir=" + certDir,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port+1), fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", port+2),
		"--kubeconfig=" + cluster.kubeconfig}, args...)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cert.caPEM)
	h := &hostWebhook{
		url: fmt.Sprintf("https://127.0.0.1:%d", port), metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", port+1),
		cert: cert, argv: argv, log: filepath.Join(dir, "webhook.log"),
		client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
	}
	t.Cleanup(func() {
		h.stop()
		log, _ := os.ReadFile(h.log)
		// make test builds the webhook with the race detector (GOFLAGS=-race),
		// which reports on stderr and carries on: a report fails the test.
		if bytes.Contains(log, []byte("WARNING: DATA RACE")) {
			t.Errorf("the webhook reported a data race")
		}
		if t.Failed() {
			t.Logf("webhook log:\n%s", log)
		}
	})
	h.start(t)
	eventually(t, 30*time.Second, "the webhook answers /readyz", h.ready)
	return h
}

// start runs the webhook process (again), appending to its log.
func (h *hostWebhook) start(t testing.TB) {
	t.Helper()
	logFile, err := os.OpenFile(h.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	h.cmd = exec.Command(h.argv[0], h.argv[1:]...)
	h.cmd.Stdout, h.cmd.Stderr = logFile, logFile
	if err := h.cmd.Start(); err != nil {
		t.Fatalf("starting the webhook: %v", err)
	}
}

// ready is nil once the webhook's HTTPS /readyz answers 200.
func (h *hostWebhook) ready() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/readyz", nil)
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// stop kills the webhook process (by its own pid) and waits for it.
func (h *hostWebhook) stop() {
	if h.cmd != nil && h.cmd.Process != nil && h.cmd.ProcessState == nil {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	}
}
