package costing

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// CSVHeader is the catalog file header of contract 4.4.
const CSVHeader = "cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities"

// MaxCatalogBytes bounds what a catalog reader accepts; real catalogs are a
// few MiB, so anything larger is a mistake, not data.
const MaxCatalogBytes = 256 << 20

const asOfPrefix = "# as-of:"

// ReadCSV reads a catalog in the project's CSV format. Lines starting with #
// are comments; a comment "# as-of: YYYY-MM-DD" sets the catalog's date.
// Errors name the line and column at fault.
func ReadCSV(r io.Reader, regions *Regions, source string) (*Catalog, error) {
	data, err := readBounded(r)
	if err != nil {
		return nil, err
	}
	meta := Meta{Source: source, AsOf: scanAsOf(data), Revision: ContentRevision(data)}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.FieldsPerRecord = 12
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading catalog header: %w", err)
	}
	if got := strings.TrimPrefix(strings.Join(head, ","), "\ufeff"); got != CSVHeader {
		return nil, fmt.Errorf("catalog header %q: want %q", got, CSVHeader)
	}
	var offers []Offer
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading catalog: %w", err)
		}
		line, _ := cr.FieldPos(0)
		o, err := parseCSVOffer(rec)
		if err != nil {
			return nil, fmt.Errorf("catalog line %d: %w", line, err)
		}
		offers = append(offers, o)
	}
	return NewCatalog(offers, regions, meta)
}

func parseCSVOffer(rec []string) (Offer, error) {
	o := Offer{
		Cloud:        strings.TrimSpace(rec[0]),
		Region:       strings.TrimSpace(rec[1]),
		Zone:         strings.TrimSpace(rec[2]),
		InstanceType: strings.TrimSpace(rec[3]),
		GPUModel:     CanonicalGPUModel(rec[4]),
	}
	var err error
	if o.GPUCount, err = strconv.Atoi(strings.TrimSpace(rec[5])); err != nil {
		return o, fmt.Errorf("gpu_count %q: want an integer", rec[5])
	}
	fields := []struct {
		name string
		raw  string
		dst  *float64
		opt  bool
	}{
		{"gpu_memory_gib", rec[6], &o.GPUMemoryGiB, true},
		{"vcpus", rec[7], &o.VCPUs, false},
		{"memory_gib", rec[8], &o.MemoryGiB, false},
		{"price_hourly", rec[9], &o.PriceHourly, false},
		{"spot_price_hourly", rec[10], &o.SpotPriceHourly, true},
	}
	for _, f := range fields {
		raw := strings.TrimSpace(f.raw)
		if raw == "" && f.opt {
			continue
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return o, fmt.Errorf("%s %q: want a number", f.name, f.raw)
		}
		*f.dst = v
	}
	if caps := strings.TrimSpace(rec[11]); caps != "" {
		for _, c := range strings.Split(caps, ";") {
			if c = strings.TrimSpace(c); c != "" {
				o.Capabilities = append(o.Capabilities, c)
			}
		}
	}
	if err := o.validate(); err != nil {
		return o, err
	}
	return o, nil
}

// WriteCSV writes a catalog in the project's CSV format, as-of line first.
func WriteCSV(w io.Writer, c *Catalog) error {
	bw := bufio.NewWriter(w)
	if c.meta.AsOf != "" {
		fmt.Fprintf(bw, "%s %s\n", asOfPrefix, c.meta.AsOf)
	}
	if c.meta.Source != "" {
		fmt.Fprintf(bw, "# source: %s\n", strings.ReplaceAll(c.meta.Source, "\n", " "))
	}
	cw := csv.NewWriter(bw)
	if err := cw.Write(strings.Split(CSVHeader, ",")); err != nil {
		return fmt.Errorf("writing catalog header: %w", err)
	}
	ff := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	for i := range c.offers {
		o := &c.offers[i]
		spot := ""
		if o.HasSpot() {
			spot = ff(o.SpotPriceHourly)
		}
		rec := []string{o.Cloud, o.Region, o.Zone, o.InstanceType, o.GPUModel, strconv.Itoa(o.GPUCount),
			ff(o.GPUMemoryGiB), ff(o.VCPUs), ff(o.MemoryGiB), ff(o.PriceHourly), spot, strings.Join(o.Capabilities, ";")}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("writing offer %s: %w", o.Key(), err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("writing catalog: %w", err)
	}
	return bw.Flush()
}

func readBounded(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxCatalogBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading catalog: %w", err)
	}
	if len(data) > MaxCatalogBytes {
		return nil, fmt.Errorf("catalog is larger than %d MiB", MaxCatalogBytes>>20)
	}
	return data, nil
}

// scanAsOf finds the first "# as-of: DATE" comment line.
func scanAsOf(data []byte) string {
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] != '#' {
			if len(line) > 0 {
				return "" // comments after the header do not count
			}
			continue
		}
		if s, ok := strings.CutPrefix(string(line), asOfPrefix); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}
