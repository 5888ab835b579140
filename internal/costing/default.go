package costing

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

//go:embed data/catalog.csv
var defaultCatalogCSV string

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) {
	return ReadCSV(strings.NewReader(defaultCatalogCSV), DefaultRegions(), "embedded default catalog")
})

// DefaultCatalog returns the embedded catalog, parsed once.
func DefaultCatalog() (*Catalog, error) {
	c, err := defaultCatalog()
	if err != nil {
		return nil, fmt.Errorf("embedded catalog: %w", err)
	}
	return c, nil
}
