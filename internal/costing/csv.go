package costing

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the catalog file header of contract 4.4.
const CSVHeader = "cloud,region,zone,instance_type,gpu_model,gpu_count,gpu_memory_gib,vcpus,memory_gib,price_hourly,spot_price_hourly,capabilities"

// SourceColumn is the optional trailing column of the CSV format: where each
// row's prices were read. A header with it is CSVHeader + ",source"; files
// without it read as before, and WriteCSV adds it only when some offer has a
// source, so that catalogs without per-row sources stay readable by older
// versions.
const SourceColumn = "source"

// MaxCatalogBytes bounds what a catalog reader accepts; real catalogs are a
// few MiB, so anything larger is a mistake, not data.
const MaxCatalogBytes = 256 << 20

const asOfPrefix = "# as-of:"

// ReadCSV reads a catalog in the project's CSV format. Lines starting with #
// are comments. Before the header, two comments are directives:
//
//	# as-of: YYYY-MM-DD                      the date the prices were read
//	# region: CLOUD/REGION=JURISDICTION      a region the region table lacks
//
// Every offer's region must have a jurisdiction, from regions (nil: the
// embedded table) or a declaration: an offer in an unknown region would
// satisfy no residency rule and be silently unplaceable for every workload
// that has one, and a typo in a region name would go unnoticed.
// Errors name the line and column at fault.
func ReadCSV(r io.Reader, regions *Regions, source string) (*Catalog, error) {
	data, err := readBounded(r)
	if err != nil {
		return nil, err
	}
	if regions == nil {
		regions = DefaultRegions()
	}
	head, err := scanHead(data)
	if err != nil {
		return nil, err
	}
	if regions, err = regions.WithDeclared(head.regions); err != nil {
		return nil, fmt.Errorf("catalog line %d: %w", head.regionLine, err)
	}
	names := NewNames(regions, nil)
	meta := Meta{Source: source, AsOf: head.asOf, Revision: ContentRevision(data)}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	// 0: every record must have as many fields as the header, which has
	// 12, or 13 with the source column.
	cr.FieldsPerRecord = 0
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading catalog header: %w (want %s)", err, CSVHeader)
	}
	got := strings.TrimPrefix(strings.Join(header, ","), "\ufeff")
	withSource := got == CSVHeader+","+SourceColumn
	if got != CSVHeader && !withSource {
		return nil, fmt.Errorf("catalog header %q: want %q (optionally followed by %q)", got, CSVHeader, ","+SourceColumn)
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
		if withSource {
			o.Source = strings.TrimSpace(rec[12])
		}
		if !regions.Known(o.Cloud, o.Region) {
			return nil, fmt.Errorf("catalog line %d: region %q of %s has no jurisdiction: it is not in the region table%s; "+
				"declare it before the header as \"# region: %s/%s=JURISDICTION\" (docs/catalog.md)",
				line, o.Region, o.Cloud, names.regionHint(o.Cloud, o.Region), o.Cloud, o.Region)
		}
		offers = append(offers, o)
	}
	return NewCatalog(offers, regions, meta)
}

// ParseAsOf checks a catalog date: YYYY-MM-DD, a real day.
func ParseAsOf(s string) error {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return fmt.Errorf("as-of %q: want a date YYYY-MM-DD", s)
	}
	return nil
}

const regionPrefix = "# region:"

// catalogHead is what the comment lines before a catalog's header say.
type catalogHead struct {
	asOf       string
	regions    []Region
	regionLine int // the line of the last declaration, for errors
}

// scanHead reads the directives of the comment block before the header.
// A directive after the header is an error rather than ignored, since the
// CSV reader skips every comment: a date or region there would not count.
func scanHead(data []byte) (catalogHead, error) {
	var h catalogHead
	inHead := true
	for n := 1; len(data) > 0; n++ {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '#' {
			inHead = false
			continue
		}
		// "#as-of:" and "#  region:" are directives too, not comments
		// that would be silently skipped.
		text := string(line)
		body := "# " + strings.TrimSpace(text[1:])
		asOf, isAsOf := strings.CutPrefix(body, asOfPrefix)
		decl, isRegion := strings.CutPrefix(body, regionPrefix)
		switch {
		case (isAsOf || isRegion) && !inHead:
			return h, fmt.Errorf("catalog line %d: %q: directives go before the header", n, text)
		case isAsOf && h.asOf != "":
			return h, fmt.Errorf("catalog line %d: as-of is set twice", n)
		case isAsOf:
			h.asOf = strings.TrimSpace(asOf)
			if err := ParseAsOf(h.asOf); err != nil {
				return h, fmt.Errorf("catalog line %d: %w", n, err)
			}
		case isRegion:
			row, err := parseRegionDecl(strings.TrimSpace(decl))
			if err != nil {
				return h, fmt.Errorf("catalog line %d: %w", n, err)
			}
			if slices.ContainsFunc(h.regions, func(r Region) bool { return r.Cloud == row.Cloud && r.Region == row.Region }) {
				return h, fmt.Errorf("catalog line %d: region %s/%s is declared twice", n, row.Cloud, row.Region)
			}
			h.regions = append(h.regions, row)
			h.regionLine = n
		}
	}
	return h, nil
}

// parseRegionDecl parses CLOUD/REGION=JURISDICTION.
func parseRegionDecl(s string) (Region, error) {
	const want = "want CLOUD/REGION=JURISDICTION in lower case, e.g. aws/mars-1=us"
	place, j, ok := strings.Cut(s, "=")
	cloud, region, ok2 := strings.Cut(place, "/")
	row := Region{Cloud: strings.TrimSpace(cloud), Region: strings.TrimSpace(region), Jurisdiction: strings.TrimSpace(j),
		Location: "declared in the catalog"}
	switch {
	case !ok || !ok2:
		return row, fmt.Errorf("region declaration %q: %s", s, want)
	case !slices.Contains(Clouds, row.Cloud):
		return row, fmt.Errorf("region declaration %q: cloud %q: want one of %s%s", s, row.Cloud, strings.Join(Clouds, ", "), suggest(row.Cloud, Clouds))
	case !identifier.MatchString(row.Region):
		return row, fmt.Errorf("region declaration %q: region %q: %s", s, row.Region, want)
	case !jurisdictionName.MatchString(row.Jurisdiction):
		return row, fmt.Errorf("region declaration %q: jurisdiction %q: want a lower-case code of 2 to 8 letters such as us, eu or uk", s, row.Jurisdiction)
	}
	return row, nil
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
		// Never write a file ReadCSV would refuse (qm catalog import --as-of).
		if err := ParseAsOf(c.meta.AsOf); err != nil {
			return fmt.Errorf("writing catalog: %w", err)
		}
		fmt.Fprintf(bw, "%s %s\n", asOfPrefix, c.meta.AsOf)
	}
	for _, r := range c.regions.All() {
		if c.regions.Declared(r.Cloud, r.Region) {
			fmt.Fprintf(bw, "%s %s/%s=%s\n", regionPrefix, r.Cloud, r.Region, r.Jurisdiction)
		}
	}
	if c.meta.Source != "" {
		fmt.Fprintf(bw, "# source: %s\n", strings.ReplaceAll(c.meta.Source, "\n", " "))
	}
	cw := csv.NewWriter(bw)
	withSource := slices.ContainsFunc(c.offers, func(o Offer) bool { return o.Source != "" })
	header := strings.Split(CSVHeader, ",")
	if withSource {
		header = append(header, SourceColumn)
	}
	if err := cw.Write(header); err != nil {
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
		if withSource {
			rec = append(rec, o.Source)
		}
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
