package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"sigs.k8s.io/yaml"

	"github.com/quartermaster-io/quartermaster/internal/image"
)

// PauseRef is the sandbox image's reference; hack/node-up.sh points containerd's sandbox_image at it.
const PauseRef = "localhost/quartermaster/pause:1"

// run builds the binaries, assembles the image and writes it under out.
func run(out string, pause bool) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	ref, file, pkgs := "", "image", []string{"./cmd/webhook", "./cmd/qm", "./cmd/auditor"}
	if pause {
		ref, file, pkgs = PauseRef, "pause", []string{"./hack/pause"}
	} else {
		if ref, err = chartImage(root); err != nil {
			return err
		}
	}
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	bins, err := os.MkdirTemp("", "qm-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bins)
	// Static, reproducible binaries: no cgo, no race detector (whatever GOFLAGS the caller runs with), no paths of
	// this machine, no symbol tables or DWARF (the stack traces of panics keep function names and lines).
	build := exec.Command("go", append([]string{"build", "-trimpath", "-buildvcs=false", "-gcflags=all=-dwarf=false",
		"-ldflags=-s -w", "-o", bins + "/"}, pkgs...)...)
	build.Dir, build.Stdout, build.Stderr = root, os.Stderr, os.Stderr
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=")
	if err := build.Run(); err != nil {
		return fmt.Errorf("building %s: %w", strings.Join(pkgs, " "), err)
	}
	spec := image.Spec{Labels: map[string]string{
		"org.opencontainers.image.source":  "https://github.com/quartermaster-io/quartermaster",
		"org.opencontainers.image.title":   "quartermaster",
		"org.opencontainers.image.version": tag.TagStr(),
	}}
	for _, pkg := range pkgs {
		bin := filepath.Base(pkg)
		data, err := os.ReadFile(filepath.Join(bins, bin))
		if err != nil {
			return err
		}
		spec.Files = append(spec.Files, image.File{Path: "/" + bin, Mode: 0o755, Data: data})
	}
	spec.Entrypoint = []string{spec.Files[0].Path}
	img, err := image.Build(spec)
	if err != nil {
		return err
	}
	if err := image.WriteLayout(filepath.Join(out, file), img, tag); err != nil {
		return err
	}
	if err := image.WriteTarball(filepath.Join(out, file+".tar"), img, tag); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	compressed, unpacked, err := image.Sizes(img)
	if err != nil {
		return err
	}
	fmt.Printf("image   %s\ndigest  %s\nsize    %.1f MiB compressed (%d bytes), %.1f MiB unpacked\nlayout  %s\ntarball %s\n",
		tag, digest, mib(compressed), compressed, mib(unpacked), filepath.Join(out, file), filepath.Join(out, file+".tar"))
	return nil
}

// chartImage is the chart's default image: values.yaml image.repository, tagged with Chart.yaml's appVersion (the
// tag an empty image.tag stands for).
func chartImage(root string) (string, error) {
	var values struct {
		Image struct{ Repository, Tag string }
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	for file, into := range map[string]any{"values.yaml": &values, "Chart.yaml": &chart} {
		data, err := os.ReadFile(filepath.Join(root, "charts", "quartermaster", file))
		if err != nil {
			return "", err
		}
		if err := yaml.Unmarshal(data, into); err != nil {
			return "", fmt.Errorf("reading the chart's %s: %w", file, err)
		}
	}
	tag := values.Image.Tag
	if tag == "" {
		tag = chart.AppVersion
	}
	return values.Image.Repository + ":" + tag, nil
}

// repoRoot is the module root, found from the working directory (go run and go test run in the repository).
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the quartermaster module")
	}
	return filepath.Dir(mod), nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
