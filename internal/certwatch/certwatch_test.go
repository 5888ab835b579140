package certwatch

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePair writes a self-signed pair for cn into dir.
func writePair(t *testing.T, dir, cn string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func subject(t *testing.T, w *Watcher) string {
	t.Helper()
	c, err := w.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(dir, 0, nil); err == nil {
		t.Fatal("want an error for a directory without a pair")
	}
	writePair(t, dir, "one.example")
	w, err := New(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := subject(t, w); got != "one.example" {
		t.Fatalf("subject %q", got)
	}
	if changed, err := w.Reload(); changed || err != nil {
		t.Fatalf("unchanged files: changed=%v err=%v", changed, err)
	}
	writePair(t, dir, "two.example")
	if changed, err := w.Reload(); !changed || err != nil {
		t.Fatalf("rotated files: changed=%v err=%v", changed, err)
	}
	if got := subject(t, w); got != "two.example" {
		t.Fatalf("after rotation, subject %q", got)
	}
	// A broken rotation keeps the pair in use.
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := w.Reload(); changed || err == nil {
		t.Fatalf("broken key: changed=%v err=%v", changed, err)
	}
	if got := subject(t, w); got != "two.example" {
		t.Fatalf("after a failed reload, subject %q", got)
	}
}
