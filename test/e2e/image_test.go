//go:build e2e

package e2e

import (
	"archive/tar"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/quartermaster-io/quartermaster/internal/image"
)

// built is the image `make image` builds (go run ./hack/image), built once for the package's tests.
type built struct {
	dir     string   // the output folder: image/ (OCI layout), image.tar
	img     v1.Image // read back from the layout
	ref     string   // the reference the layout names
	summary string   // what hack/image printed (reference, digest, sizes)
}

var (
	imageOnce  sync.Once
	imageBuilt built
	imageErr   string
)

// builtImage runs hack/image as `make image` does, into the suite's folder, once.
func builtImage(t testing.TB) built {
	t.Helper()
	imageOnce.Do(func() {
		dir := filepath.Join(filepath.Dir(cluster.clusterDir), "image")
		ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "run", "./hack/image", "--out", dir)
		cmd.Dir = cluster.repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			imageErr = "go run ./hack/image: " + err.Error() + "\n" + string(out)
			return
		}
		img, ref, err := image.ReadLayout(filepath.Join(dir, "image"))
		if err != nil {
			imageErr = err.Error()
			return
		}
		imageBuilt = built{dir: dir, img: img, ref: ref, summary: string(out)}
	})
	if imageErr != "" {
		t.Fatal(imageErr)
	}
	return imageBuilt
}

// TestImage builds the image as `make image` does and checks what a runtime and a security review read: the chart's
// default reference, a numeric non-root user, the webhook as entrypoint, no shell and nothing but our static binaries
// (and the user's passwd entry), each of which runs (--help) on this host as it is in the image.
func TestImage(t *testing.T) {
	b := builtImage(t)
	t.Logf("hack/image:\n%s", b.summary)
	if want := "ghcr.io/quartermaster-io/quartermaster:" + chartAppVersion(t); b.ref != want {
		t.Errorf("layout names %q, want the chart's default image %q", b.ref, want)
	}
	digest, _ := b.img.Digest()
	if !strings.Contains(b.summary, digest.String()) {
		t.Errorf("hack/image did not print the digest %s", digest)
	}
	cfg, err := b.img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || !slices.Equal(cfg.Config.Entrypoint, []string{"/webhook"}) || len(cfg.Config.Cmd) != 0 ||
		cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("config: user %q entrypoint %q cmd %q platform %s/%s", cfg.Config.User, cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.OS, cfg.Architecture)
	}
	files, err := image.Contents(b.img)
	if err != nil {
		t.Fatal(err)
	}
	var regular []string
	for path, e := range files {
		if e.Header.Typeflag == tar.TypeReg {
			regular = append(regular, path)
		}
	}
	slices.Sort(regular)
	if want := []string{"/auditor", "/etc/group", "/etc/passwd", "/qm", "/webhook"}; !slices.Equal(regular, want) {
		t.Errorf("files %v, want exactly %v (no shell, no base)", regular, want)
	}
	for _, sh := range []string{"/bin/sh", "/bin", "/usr/bin/env"} {
		if _, ok := files[sh]; ok {
			t.Errorf("%s is in the image", sh)
		}
	}
	for _, bin := range []string{"/webhook", "/qm", "/auditor"} {
		e := files[bin]
		if e.Header == nil || e.Header.Mode != 0o755 || e.Header.Uid != 0 {
			t.Errorf("%s: %+v, want mode 755 owned by root (not writable by the user it runs as)", bin, e.Header)
			continue
		}
		// Static: no interpreter to look for in an image that has no libc.
		if strings.Contains(string(e.Data[:min(len(e.Data), 4096)]), "ld-linux") {
			t.Errorf("%s asks for a dynamic loader", bin)
		}
		path := filepath.Join(t.TempDir(), filepath.Base(bin))
		if err := os.WriteFile(path, e.Data, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(path, "--help").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Usage") {
			t.Errorf("%s --help: %v\n%s", bin, err, out)
		}
	}
}

// chartAppVersion is Chart.yaml's appVersion, the tag an empty image.tag stands for.
func chartAppVersion(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cluster.repo, "charts", "quartermaster", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "appVersion:"); ok {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	t.Fatal("Chart.yaml has no appVersion")
	return ""
}
