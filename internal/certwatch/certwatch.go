// Package certwatch serves a TLS key pair from a directory and reloads it
// when the files change, so that cert-manager (or any rotation) renews the
// webhook's certificate without a restart.
//
// It polls rather than using inotify: Kubernetes updates mounted Secrets by
// swapping a symlink, which file watches see inconsistently across
// runtimes, while reading two small files every few seconds costs nothing.
// A pair that fails to load is reported and the previous one kept: a bad
// rotation must not take the webhook down.
package certwatch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// File names inside the certificate directory, as cert-manager and
// kubernetes.io/tls Secrets write them.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// Watcher holds the current key pair.
type Watcher struct {
	certPath, keyPath string
	interval          time.Duration
	onReload          func(error)

	cert atomic.Pointer[tls.Certificate]
	mu   sync.Mutex // serialises reloads
	sum  [sha256.Size]byte
}

// New loads dir/tls.crt and dir/tls.key. interval is how often Start polls
// (default 10 s); onReload, if set, is told of every reload attempt after
// the first (nil error on success).
func New(dir string, interval time.Duration, onReload func(error)) (*Watcher, error) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	if onReload == nil {
		onReload = func(error) {}
	}
	w := &Watcher{certPath: filepath.Join(dir, CertFile), keyPath: filepath.Join(dir, KeyFile), interval: interval, onReload: onReload}
	if _, err := w.Reload(); err != nil {
		return nil, err
	}
	return w, nil
}

// Reload reads the files and swaps in the pair if it changed. It reports
// whether it did.
func (w *Watcher) Reload() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	certPEM, err := os.ReadFile(w.certPath)
	if err != nil {
		return false, fmt.Errorf("reading certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(w.keyPath)
	if err != nil {
		return false, fmt.Errorf("reading key: %w", err)
	}
	sum := sha256.Sum256(bytes.Join([][]byte{certPEM, keyPEM}, []byte{0}))
	if w.cert.Load() != nil && sum == w.sum {
		return false, nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("loading key pair from %s: %w", filepath.Dir(w.certPath), err)
	}
	w.cert.Store(&pair)
	w.sum = sum
	return true, nil
}

// Start polls until ctx ends.
func (w *Watcher) Start(ctx context.Context) {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if changed, err := w.Reload(); changed || err != nil {
				w.onReload(err)
			}
		}
	}
}

// GetCertificate is tls.Config.GetCertificate.
func (w *Watcher) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := w.cert.Load()
	if c == nil {
		return nil, errors.New("no certificate loaded")
	}
	return c, nil
}

// Certificate returns the pair in use.
func (w *Watcher) Certificate() *tls.Certificate { return w.cert.Load() }
