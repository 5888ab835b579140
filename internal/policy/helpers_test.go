package policy

import (
	"bytes"
	"context"
	"io/fs"
	"sync"
	"testing"

	"github.com/quartermaster-io/quartermaster/policies"
)

var (
	libraryOnce sync.Once
	library     *Bundle
	libraryErr  error
)

// loadLibrary compiles the embedded library once per test binary.
func loadLibrary(t testing.TB) *Bundle {
	t.Helper()
	libraryOnce.Do(func() { library, libraryErr = Load(context.Background(), policies.FS(), Options{}) })
	if libraryErr != nil {
		t.Fatalf("loading the embedded library: %v", libraryErr)
	}
	return library
}

func codes(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Code
	}
	return out
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func libraryFS() fs.FS { return policies.FS() }
