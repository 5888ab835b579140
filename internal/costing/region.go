package costing

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
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

// All returns the rows in file order. Callers must not modify them.
func (r *Regions) All() []Region { return r.rows }
