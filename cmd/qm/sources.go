package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"

	"github.com/quartermaster-io/quartermaster/internal/costing"
	"github.com/quartermaster-io/quartermaster/internal/placement"
	"github.com/quartermaster-io/quartermaster/internal/quota"
	"github.com/quartermaster-io/quartermaster/internal/workload"
)

// sourceFlags are the data every placing command reads: catalog, quotas and
// usage.
type sourceFlags struct {
	catalog       string
	catalogFormat string
	catalogCloud  string
	quota         string
	usage         string
	workloadRules string
	// labels are the node label keys the extractor reads pins with; zero
	// is the quartermaster profile.
	labels workload.LabelKeys
}

func (f *sourceFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.catalog, "catalog", "", "offer catalog file (default: the embedded catalog)")
	fs.StringVar(&f.catalogFormat, "catalog-format", "csv", "catalog file format: csv (contract 4.4) or skypilot (vms.csv)")
	fs.StringVar(&f.catalogCloud, "catalog-cloud", "", "the cloud of a skypilot catalog: aws, azure or gcp")
	fs.StringVar(&f.quota, "quota", "", "GPU quota file: quotas: [{cloud, region, gpuModel, gpus}]")
	fs.StringVar(&f.usage, "usage", "", "GPUs already in use, in the quota file's shape")
	fs.StringVar(&f.workloadRules, "workload-rules", "", "workload rules file describing more kinds (CRDs): rules: [{group, kind, class, podSets}]")
}

func (f *sourceFlags) loadCatalog() (*costing.Catalog, error) {
	if f.catalog == "" {
		return costing.DefaultCatalog()
	}
	return loadCatalogFile(f.catalog, f.catalogFormat, f.catalogCloud)
}

func loadCatalogFile(path, format, cloud string) (*costing.Catalog, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening catalog: %w", err)
	}
	defer file.Close()
	switch format {
	case "csv":
		c, err := costing.ReadCSV(file, costing.DefaultRegions(), path)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", path, err)
		}
		return c, nil
	case "skypilot":
		c, _, err := costing.ReadSkyPilot(file, cloud, costing.DefaultRegions(), path)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", path, err)
		}
		return c, nil
	}
	return nil, fmt.Errorf("catalog format %q: want csv or skypilot", format)
}

// readCounts reads a quota or usage file, checking its entries against the
// catalog's regions and GPU models.
func readCounts(path, kind string, names *costing.Names) (quota.GPUCounts, error) {
	if path == "" {
		return nil, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening %s file: %w", kind, err)
	}
	defer file.Close()
	c, err := quota.ReadGPUCounts(file, kind, names)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func (f *sourceFlags) loadPlacer() (*placement.Placer, quota.GPUCounts, error) {
	cat, err := f.loadCatalog()
	if err != nil {
		return nil, nil, err
	}
	quotas, err := readCounts(f.quota, "quota", cat.Names())
	if err != nil {
		return nil, nil, err
	}
	usage, err := readCounts(f.usage, "usage", cat.Names())
	if err != nil {
		return nil, nil, err
	}
	return placement.New(cat, quotas), usage, nil
}

// loadEngine is what every placing command starts with: the placer over the
// catalog and quotas, the usage, and an extractor that accepts the catalog's
// jurisdictions in residency annotations.
func (f *sourceFlags) loadEngine() (*placement.Placer, quota.GPUCounts, *workload.Extractor, error) {
	placer, usage, err := f.loadPlacer()
	if err != nil {
		return nil, nil, nil, err
	}
	rules, err := workload.ReadRulesFile(f.workloadRules)
	if err != nil {
		return nil, nil, nil, err
	}
	x, err := workload.New(workload.Options{Jurisdictions: jurisdictions(placer.Catalog()), Rules: workload.WithDefaultRules(rules), Labels: f.labels})
	if err != nil {
		return nil, nil, nil, err
	}
	return placer, usage, x, nil
}
