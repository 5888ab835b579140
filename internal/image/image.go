package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRoot is the user and group the image runs as: distroless's "nonroot", which Kubernetes' runAsNonRoot accepts
// because it is numeric.
const NonRoot = 65532

// File is one file of the image's only layer.
type File struct {
	// Path is absolute inside the image, e.g. /webhook.
	Path string
	// Mode holds the permission bits (0o755 for a binary).
	Mode int64
	// Data is the content.
	Data []byte
}

// Spec describes an image.
type Spec struct {
	// Files are the layer's regular files; their parent directories are added. Besides them the layer always holds
	// /etc/passwd and /etc/group naming the non-root user, and a world-writable /tmp.
	Files []File
	// Entrypoint is the command a container runs unless its pod says otherwise.
	Entrypoint []string
	// Labels are OCI annotations of the config (org.opencontainers.image.*).
	Labels map[string]string
	// Created stamps the config, the history and every file; the zero time means the Unix epoch, so that equal
	// inputs give equal digests.
	Created time.Time
	// Platform defaults to linux/amd64.
	OS, Architecture string
}

// Build assembles the image: one layer on an empty base, OCI media types, user 65532:65532.
func Build(spec Spec) (v1.Image, error) {
	if len(spec.Entrypoint) == 0 {
		return nil, errors.New("building an image: no entrypoint")
	}
	created := spec.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()
	layerTar, err := layerTar(spec.Files, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("making the layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: v1.Time{Time: created}, CreatedBy: "hack/image: " + strings.Join(paths(spec.Files), " "), Comment: "static binaries"}})
	if err != nil {
		return nil, fmt.Errorf("appending the layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = orDefault(spec.OS, "linux"), orDefault(spec.Architecture, "amd64")
	cfg.Created = v1.Time{Time: created}
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", NonRoot, NonRoot),
		Entrypoint: spec.Entrypoint,
		// No shell and no other binaries: PATH is only where ours are, for `kubectl exec ... qm`.
		Env:        []string{"PATH=/"},
		WorkingDir: "/",
		Labels:     spec.Labels,
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, fmt.Errorf("setting the config: %w", err)
	}
	return img, nil
}

// layerTar is the layer's uncompressed tar: directories first, then files, sorted, root-owned, stamped with created.
func layerTar(files []File, created time.Time) ([]byte, error) {
	all := append(slices.Clone(files),
		File{Path: "/etc/passwd", Mode: 0o644, Data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", NonRoot, NonRoot))},
		File{Path: "/etc/group", Mode: 0o644, Data: []byte(fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", NonRoot))},
	)
	dirs := map[string]int64{"/tmp": 0o1777}
	seen := map[string]bool{}
	for _, f := range all {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/" {
			return nil, fmt.Errorf("building an image: file path %q must be absolute and clean", f.Path)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("building an image: %s given twice", f.Path)
		}
		seen[f.Path] = true
		for d := path.Dir(f.Path); d != "/"; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = 0o755
			}
		}
	}
	slices.SortFunc(all, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	dirNames := make([]string, 0, len(dirs))
	for d := range dirs {
		dirNames = append(dirNames, d)
	}
	slices.Sort(dirNames)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range dirNames {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: dirs[d],
			ModTime: created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	for _, f := range all {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(f.Path, "/"), Mode: f.Mode,
			Size: int64(len(f.Data)), ModTime: created, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteLayout writes img as the only image of a fresh OCI image layout in dir (removed first), annotated with its
// reference so that tools importing the layout know its name.
func WriteLayout(dir string, img v1.Image, ref name.Tag) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the old layout: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing the layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": ref.String(),
		"io.containerd.image.name":          ref.String(),
	})); err != nil {
		return fmt.Errorf("writing the image to %s: %w", dir, err)
	}
	return nil
}

// WriteTarball writes img, tagged ref, as a `docker save`-style tarball (manifest.json, config, layers).
func WriteTarball(file string, img v1.Image, ref name.Tag) error {
	if err := tarball.WriteToFile(file, ref, img); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

func paths(files []File) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
