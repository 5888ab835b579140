package history

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// Emulators: Azurite (Azure Blob), from the npm registry (`make
// tools-emulators` installs it under bin/emulators, and `make test-go` points
// QM_EMULATORS_BIN at it). The tests look for azurite-blob in
// $QM_EMULATORS_BIN, then on PATH, and fail the Azurite cases, saying so,
// when it is absent; the httptest servers in fakes_test.go cover the same
// cases everywhere. S3's real server is MinIO, in minio_test.go (built with
// the minio tag: make test-minio).

// azuriteKey is Azurite's published development account key.
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

type emulators struct {
	azuriteURL, azuriteWhy string
	n                      atomic.Int64 // per-store prefixes
}

func lookEmulator(name string) (string, error) {
	if dir := os.Getenv("QM_EMULATORS_BIN"); dir != "" {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

// startEmulators starts each emulator found, for the whole test.
func startEmulators(t *testing.T) *emulators {
	e := &emulators{}
	if bin, err := lookEmulator("azurite-blob"); err != nil {
		e.azuriteWhy = "azurite-blob not found (set QM_EMULATORS_BIN or run make tools-emulators)"
	} else {
		port := freePort(t)
		exited := start(t, bin, "--inMemoryPersistence", "--blobHost", "127.0.0.1", "--blobPort", port,
			"--skipApiVersionCheck", "--silent")
		e.azuriteURL = "http://127.0.0.1:" + port + "/devstoreaccount1"
		e.azuriteWhy = waitPort(port, exited)
	}
	return e
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// start runs an emulator until the test ends; the channel is closed when
// it exits, with its output kept for the message.
func start(t *testing.T, bin string, args ...string) <-chan string {
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	exited := make(chan string, 1)
	go func() {
		err := cmd.Wait()
		exited <- fmt.Sprintf("%s exited (%v): %s", filepath.Base(bin), err, out.String())
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return exited
}

// waitPort waits up to 30 s for a listener; it returns why not.
func waitPort(port string, exited <-chan string) string {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case why := <-exited:
			return why
		default:
		}
		if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
			c.Close()
			return ""
		}
	}
	return "the emulator did not listen on " + port + " within 30s"
}

// plantVia plants raw objects through the store's own bucket adapter.
func plantVia(t *testing.T, s Store) func(string, []byte) {
	return func(name string, data []byte) {
		if err := s.(*store).b.write(t.Context(), name, data); err != nil {
			t.Fatalf("planting %s: %v", name, err)
		}
	}
}

func (e *emulators) azurite(t *testing.T, clock func() time.Time) harness {
	if e.azuriteURL == "" || e.azuriteWhy != "" {
		t.Fatal(e.azuriteWhy)
	}
	cred, err := azblob.NewSharedKeyCredential("devstoreaccount1", azuriteKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azblob.NewClientWithSharedKeyCredential(e.azuriteURL, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateContainer(t.Context(), "runs", nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatalf("creating the container: %v", err)
	}
	u := fmt.Sprintf("azblob://devstoreaccount1/runs/qm/h%d", e.n.Add(1))
	s, err := Open(t.Context(), u, Options{Endpoint: e.azuriteURL, AzureSharedKey: cred, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	plantVia(t, s)("older/"+objectName("nested", t0), []byte("not ours"))
	return harness{store: s, plant: plantVia(t, s)}
}
