package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Entry is one file, directory or link of an image's flattened file system.
type Entry struct {
	Header *tar.Header
	// Data is the content of a regular file.
	Data []byte
}

// ReadLayout returns the one image of the OCI image layout in dir and the reference it was written with.
func ReadLayout(dir string) (v1.Image, string, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("reading the layout %s: %w", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return nil, "", fmt.Errorf("reading the index of %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, "", fmt.Errorf("reading the index of %s: %w", dir, err)
	}
	if len(m.Manifests) != 1 {
		return nil, "", fmt.Errorf("layout %s holds %d images, want 1", dir, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return nil, "", fmt.Errorf("reading the image of %s: %w", dir, err)
	}
	return img, m.Manifests[0].Annotations["org.opencontainers.image.ref.name"], nil
}

// Contents is the image's file system, layers applied in order, by absolute path ("/webhook").
func Contents(img v1.Image) (map[string]Entry, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("listing layers: %w", err)
	}
	out := map[string]Entry{}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("opening layer %d: %w", i, err)
		}
		err = readTar(rc, out)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d: %w", i, err)
		}
	}
	return out, nil
}

func readTar(r io.Reader, out map[string]Entry) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := "/" + h.Name
		if len(p) > 1 && p[len(p)-1] == '/' {
			p = p[:len(p)-1]
		}
		e := Entry{Header: h}
		if h.Typeflag == tar.TypeReg {
			if e.Data, err = io.ReadAll(tr); err != nil {
				return err
			}
		}
		out[p] = e
	}
}

// Sizes are the bytes a registry stores and a node pulls (manifest, config and compressed layers) and the bytes
// the layers take unpacked on a node.
func Sizes(img v1.Image) (compressed, uncompressed int64, err error) {
	manifest, err := img.RawManifest()
	if err != nil {
		return 0, 0, err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return 0, 0, err
	}
	compressed = int64(len(manifest) + len(config))
	layers, err := img.Layers()
	if err != nil {
		return 0, 0, err
	}
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			return 0, 0, err
		}
		compressed += size
		rc, err := l.Uncompressed()
		if err != nil {
			return 0, 0, err
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, 0, err
		}
		uncompressed += n
	}
	return compressed, uncompressed, nil
}
