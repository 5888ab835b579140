package miniotest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Options configure one server.
type Options struct {
	// Region is the server's one region (MINIO_SITE_REGION); empty means
	// us-east-1, S3's default.
	Region string
	// KMSKey, when set, names the one key of MinIO's built-in KMS
	// (MINIO_KMS_SECRET_KEY=name:<32 random bytes>): buckets can then have
	// SSE-KMS default encryption under that key, and only that key.
	KMSKey string
	// AccessKey is the root user's access key, which the signatures carry;
	// empty means DefaultAccessKey. A test whose other fakes tell callers
	// apart by access key sets it to one they know.
	AccessKey string
}

// The root user's credentials unless Options say otherwise.
const (
	DefaultAccessKey = "qm-minio-test"
	SecretKey        = "qm-minio-test-secret"
)

// startTimeout bounds a server's start: a couple of seconds idle, more on
// a machine busy compiling.
const startTimeout = time.Minute

// Server is a running MinIO, stopped when the test that started it ends.
type Server struct {
	// URL is the S3 endpoint, http://127.0.0.1:PORT, for path-style
	// requests.
	URL string
	// Region is the region every request must be signed for.
	Region string
	// KMSKey is Options.KMSKey.
	KMSKey string
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey, SecretKey string

	out *logBuffer
}

// logBuffer collects a server's output, for the message of a failed start.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}

// Bin is the MinIO binary the tests run: $QM_TOOLS_BIN/minio, where
// hack/tools.sh links it (default .cache/bin of the module's root). It
// fails the test, saying how to build it, when it is missing.
func Bin(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("QM_TOOLS_BIN")
	if dir == "" {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("finding the MinIO binary: QM_TOOLS_BIN is not set and %v", err)
		}
		dir = filepath.Join(root, ".cache", "bin")
	}
	bin := filepath.Join(dir, "minio")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("MinIO missing at %s: run `make tools-minio` (hack/tools.sh minio) to build it", bin)
	}
	return bin
}

// moduleRoot is the nearest folder up from the working directory (a test's
// package folder) that holds a go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Start starts a server with its own empty drive and waits until it is
// ready. A port another process took between our pick and MinIO's bind is
// retried with another port.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	bin := Bin(t)
	s := &Server{
		Region: o.Region, KMSKey: o.KMSKey,
		AccessKey: o.AccessKey, SecretKey: SecretKey,
	}
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if s.AccessKey == "" {
		s.AccessKey = DefaultAccessKey
	}
	var why string
	for range 3 {
		if why = s.start(t, bin); why == "" {
			return s
		}
		// MinIO's own words for a port taken.
		if !strings.Contains(why, "port is already in use") {
			break
		}
	}
	t.Fatalf("starting MinIO (%s): %s", bin, why)
	return nil
}

// start runs one attempt; it returns why the server is not ready, "" when
// it is.
func (s *Server) start(t testing.TB, bin string) string {
	home := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "http://127.0.0.1:" + port
	cmd := exec.Command(bin, "server", "--quiet",
		"--address", "127.0.0.1:"+port, "--certs-dir", filepath.Join(home, "certs"), filepath.Join(home, "data"))
	// Only what the server needs: nothing of the developer's own MinIO
	// settings (MINIO_*) leaks in.
	cmd.Env = []string{
		"HOME=" + home, "TMPDIR=" + home, "PATH=" + os.Getenv("PATH"),
		"MINIO_ROOT_USER=" + s.AccessKey, "MINIO_ROOT_PASSWORD=" + s.SecretKey,
		"MINIO_SITE_REGION=" + s.Region,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off",
	}
	if s.KMSKey != "" {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			t.Fatal(err)
		}
		cmd.Env = append(cmd.Env, "MINIO_KMS_SECRET_KEY="+s.KMSKey+":"+base64.StdEncoding.EncodeToString(key))
	}
	s.out = &logBuffer{}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			return fmt.Sprintf("it exited (%v): %s", err, s.out.String())
		default:
		}
		resp, err := client.Get(s.URL + "/minio/health/ready")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Cleanup(stop)
			return ""
		}
	}
	stop()
	return fmt.Sprintf("not ready within %s: %s", startTimeout, s.out.String())
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port), nil
}

// Credentials are the root user's, as a provider for aws.Config.
func (s *Server) Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")
}

// Client is an S3 client of the server, signed for its region, for the
// tests' own setup (creating buckets, setting their configuration).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region: s.Region, Credentials: s.Credentials(),
		BaseEndpoint: aws.String(s.URL), UsePathStyle: true,
	})
}
