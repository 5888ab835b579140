package main

import (
	"os"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/costing/costingtest"
)

// writeCatalog writes the synthetic catalog of n offers the benchmarks share
// (costingtest.Catalog) in the project's CSV format.
func writeCatalog(path string, n int, seed int64) error {
	cat, err := costingtest.Catalog(n, uint64(seed))
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := costing.WriteCSV(f, cat); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
