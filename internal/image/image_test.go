package image

import (
	"archive/tar"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func testSpec() Spec {
	return Spec{
		Files: []File{
			{Path: "/webhook", Mode: 0o755, Data: []byte("webhook binary")},
			{Path: "/qm", Mode: 0o755, Data: []byte("qm binary")},
		},
		Entrypoint: []string{"/webhook"},
		Labels:     map[string]string{"org.opencontainers.image.version": "0.1.0"},
	}
}

// TestBuild checks what a runtime reads: OCI media types, the platform, a numeric non-root user, the entrypoint, and
// a file system with the binaries, the user's passwd entry and /tmp, but no shell.
func TestBuild(t *testing.T) {
	img, err := Build(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("manifest media type %s, want OCI", mt)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if cfg.Config.User != "65532:65532" || !slices.Equal(cfg.Config.Entrypoint, []string{"/webhook"}) || cfg.Config.Cmd != nil {
		t.Errorf("user %q entrypoint %q cmd %q", cfg.Config.User, cfg.Config.Entrypoint, cfg.Config.Cmd)
	}
	if cfg.Created.Unix() != 0 {
		t.Errorf("created %s, want the epoch (reproducible)", cfg.Created)
	}
	files, err := Contents(img)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/webhook": "webhook binary", "/qm": "qm binary"} {
		e, ok := files[path]
		if !ok || string(e.Data) != want || e.Header.Mode != 0o755 || e.Header.Uid != 0 {
			t.Errorf("%s: present %v, data %q mode %o uid %d", path, ok, e.Data, e.Header.Mode, e.Header.Uid)
		}
	}
	if e := files["/tmp"]; e.Header == nil || e.Header.Typeflag != tar.TypeDir || e.Header.Mode != 0o1777 {
		t.Errorf("/tmp: %+v", e.Header)
	}
	if !strings.Contains(string(files["/etc/passwd"].Data), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd: %q", files["/etc/passwd"].Data)
	}
	for path := range files {
		if strings.HasPrefix(path, "/bin") || strings.HasPrefix(path, "/usr") || strings.HasSuffix(path, "/sh") {
			t.Errorf("unexpected %s in an image with no base", path)
		}
	}
}

// TestBuildReproducible: the same inputs give the same digest, another binary another one.
func TestBuildReproducible(t *testing.T) {
	a, _ := Build(testSpec())
	b, _ := Build(testSpec())
	other := testSpec()
	other.Files[1].Data = []byte("qm binary, rebuilt")
	c, _ := Build(other)
	da, _ := a.Digest()
	db, _ := b.Digest()
	dc, _ := c.Digest()
	if da != db || da == dc {
		t.Errorf("digests %s, %s (same inputs), %s (other binary)", da, db, dc)
	}
}

// TestBuildRejects: what Build refuses, with a message naming the problem.
func TestBuildRejects(t *testing.T) {
	tests := map[string]struct {
		mutate  func(*Spec)
		wantErr string
	}{
		"no entrypoint":   {func(s *Spec) { s.Entrypoint = nil }, "no entrypoint"},
		"relative path":   {func(s *Spec) { s.Files[0].Path = "webhook" }, `"webhook" must be absolute`},
		"unclean path":    {func(s *Spec) { s.Files[0].Path = "/a/../webhook" }, "must be absolute and clean"},
		"duplicate":       {func(s *Spec) { s.Files[1].Path = "/webhook" }, "/webhook given twice"},
		"passwd replaced": {func(s *Spec) { s.Files[1].Path = "/etc/passwd" }, "/etc/passwd given twice"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			spec := testSpec()
			tc.mutate(&spec)
			_, err := Build(spec)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestWriteAndRead: the layout names the image and reads back to the same digest; the tarball carries the tag.
func TestWriteAndRead(t *testing.T) {
	img, err := Build(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.NewTag("ghcr.io/quartermaster-io/quartermaster:0.1.0")
	dir := t.TempDir()
	if err := WriteLayout(filepath.Join(dir, "image"), img, ref); err != nil {
		t.Fatal(err)
	}
	// Written twice: the second write replaces the first rather than adding a second image.
	if err := WriteLayout(filepath.Join(dir, "image"), img, ref); err != nil {
		t.Fatal(err)
	}
	back, gotRef, err := ReadLayout(filepath.Join(dir, "image"))
	if err != nil {
		t.Fatal(err)
	}
	// Validated as written: digests, sizes and diff IDs agree (the in-memory image differs from its own raw
	// manifest by an empty annotation map, which validate's deep comparison would flag).
	if err := validate.Image(back); err != nil {
		t.Fatalf("invalid image: %v", err)
	}
	want, _ := img.Digest()
	if got, _ := back.Digest(); got != want || gotRef != ref.String() {
		t.Errorf("layout: digest %s ref %q, want %s %q", got, gotRef, want, ref)
	}
	if err := WriteTarball(filepath.Join(dir, "image.tar"), img, ref); err != nil {
		t.Fatal(err)
	}
	fromTar, err := tarball.ImageFromPath(filepath.Join(dir, "image.tar"), &ref)
	if err != nil {
		t.Fatal(err)
	}
	// docker save's format stores the config and layers, not the manifest: compare the config.
	wantCfg, _ := img.ConfigName()
	if got, _ := fromTar.ConfigName(); got != wantCfg {
		t.Errorf("tarball config %s, want %s", got, wantCfg)
	}
	compressed, unpacked, err := Sizes(img)
	if err != nil || compressed <= 0 || unpacked <= compressed/2 {
		t.Errorf("sizes %d, %d, %v", compressed, unpacked, err)
	}
}
