package costing

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

//go:embed data/regions.csv
var regionsCSV string

// Region is one row of the region table.
type Region struct {
	Cloud        string `json:"cloud"`
	Region       string `json:"region"`
	Jurisdiction string `json:"jurisdiction"`
	Location     string `json:"location"`
}

// Regions is the region to jurisdiction table. Placement uses it to filter by
// jurisdiction; the policy engine hands the same rows to Rego as data, so the
// two never disagree.
type Regions struct {
	rows  []Region
	index map[regionKey]int
	// declared marks the rows a catalog file added (WithDeclared), which
	// WriteCSV writes back into the file.
	declared map[regionKey]bool
}

type regionKey struct{ cloud, region string }

// DefaultRegions returns the embedded table. It panics only if the embedded
// file is broken, which the package tests rule out.
func DefaultRegions() *Regions {
	r, err := ReadRegions(strings.NewReader(regionsCSV))
	if err != nil {
		panic(fmt.Sprintf("embedded regions.csv: %v", err))
	}
	return r
}

// ReadRegions parses a table with the header cloud,region,jurisdiction,location.
// Lines starting with # are comments.
func ReadRegions(r io.Reader) (*Regions, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 4
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading region table header: %w", err)
	}
	if strings.Join(head, ",") != "cloud,region,jurisdiction,location" {
		return nil, fmt.Errorf("region table header %q: want cloud,region,jurisdiction,location", strings.Join(head, ","))
	}
	out := &Regions{index: map[regionKey]int{}}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading region table: %w", err)
		}
		row := Region{Cloud: rec[0], Region: rec[1], Jurisdiction: rec[2], Location: rec[3]}
		if row.Cloud == "" || row.Region == "" || row.Jurisdiction == "" {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("region table line %d: cloud, region and jurisdiction are required", line)
		}
		k := regionKey{row.Cloud, row.Region}
		if _, dup := out.index[k]; dup {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("region table line %d: %s/%s listed twice", line, row.Cloud, row.Region)
		}
		out.index[k] = len(out.rows)
		out.rows = append(out.rows, row)
	}
	return out, nil
}

// Jurisdiction returns the jurisdiction of a region, or "" when the table does
// not know it. An unknown region satisfies no jurisdiction restriction.
func (r *Regions) Jurisdiction(cloud, region string) string {
	if i, ok := r.index[regionKey{cloud, region}]; ok {
		return r.rows[i].Jurisdiction
	}
	return ""
}

// Known reports whether the table has a region.
func (r *Regions) Known(cloud, region string) bool {
	_, ok := r.index[regionKey{cloud, region}]
	return ok
}

// Declared reports whether a catalog file declared the region rather than
// the table listing it.
func (r *Regions) Declared(cloud, region string) bool { return r.declared[regionKey{cloud, region}] }

// WithDeclared returns a copy of the table with rows a catalog file declares
// (docs/catalog.md: "# region: CLOUD/REGION=JURISDICTION"), for regions the
// table does not list. A declaration must not contradict the table: the
// policies read the table, and two answers to "where is this region" would
// let a residency rule and placement disagree. Redeclaring a row with the
// same jurisdiction is allowed.
func (r *Regions) WithDeclared(rows []Region) (*Regions, error) {
	if len(rows) == 0 {
		return r, nil
	}
	out := &Regions{rows: slices.Clone(r.rows), index: maps.Clone(r.index), declared: maps.Clone(r.declared)}
	if out.declared == nil {
		out.declared = map[regionKey]bool{}
	}
	for _, row := range rows {
		k := regionKey{row.Cloud, row.Region}
		if i, ok := out.index[k]; ok {
			if j := out.rows[i].Jurisdiction; j != row.Jurisdiction {
				return nil, fmt.Errorf("region %s/%s is declared in jurisdiction %q but the region table has %q", row.Cloud, row.Region, row.Jurisdiction, j)
			}
			continue
		}
		out.index[k] = len(out.rows)
		out.rows = append(out.rows, row)
		out.declared[k] = true
	}
	return out, nil
}

// All returns the rows in file order. Callers must not modify them.
func (r *Regions) All() []Region { return r.rows }
