//go:build e2e

package e2e

import (
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

func newServingCert(t *testing.T) servingCert {
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

func startRecordingWebhook(t *testing.T, port int, cert servingCert) *recordingWebhook {
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
// run no containers, so the chart's own Deployment cannot serve.
type hostWebhook struct {
	url  string
	cert servingCert
	cmd  *exec.Cmd
}

// startHostWebhook builds and starts cmd/webhook on the host with a fresh
// serving certificate and waits until /readyz answers. The scenarios of issue
// 6 that need the real webhook (mutation through kubectl and helm, denials,
// warnings, quotas, chaos) use it; args are extra flags such as --policies.
func startHostWebhook(t *testing.T, port int, args ...string) *hostWebhook {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "webhook")
	build := exec.Command("go", "build", "-o", bin, "./cmd/webhook")
	build.Dir = cluster.repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/webhook: %v\n%s", err, out)
	}
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
	cmd := exec.Command(bin, append([]string{"--port=" + strconv.Itoa(port), "--cert-dir=" + certDir}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.kubeconfig)
	logFile, err := os.Create(filepath.Join(dir, "webhook.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the webhook: %v", err)
	}
	h := &hostWebhook{url: fmt.Sprintf("https://127.0.0.1:%d", port), cert: cert, cmd: cmd}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			log, _ := os.ReadFile(logFile.Name())
			t.Logf("webhook log:\n%s", log)
		}
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cert.caPEM)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	eventually(t, 30*time.Second, "the webhook answers /readyz", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/readyz", nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	return h
}

// stop ends the webhook process (by its own pid) and waits for it.
func (h *hostWebhook) stop() {
	if h.cmd.Process != nil && h.cmd.ProcessState == nil {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	}
}
