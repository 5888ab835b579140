package costing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ImportReport says what an importer kept and what it dropped, and why, so
// that nothing is lost silently.
type ImportReport struct {
	Rows    int            `json:"rows"`
	Offers  int            `json:"offers"`
	Skipped map[string]int `json:"skipped,omitempty"`
	// SpotDropped counts offers whose spot price was missing or not below
	// on-demand and so were kept as on-demand only.
	SpotDropped int `json:"spotDropped,omitempty"`
}

// SkipUnknownRegion is the ImportReport reason of rows in a region the
// region table does not list.
const SkipUnknownRegion = "region not in the region table (no jurisdiction)"

func (r *ImportReport) skip(reason string) {
	if r.Skipped == nil {
		r.Skipped = map[string]int{}
	}
	r.Skipped[reason]++
}

// skyRow is one parsed row of a SkyPilot vms.csv.
type skyRow struct {
	instanceType, accel, region, zone string
	count, vcpus, mem, price, spot    float64
	gpuMemGiB                         float64
	// skip, when set, is why the row cannot become an offer.
	skip string
}

var sizeInMiB = regexp.MustCompile(`SizeInMiB['"]?\s*:\s*([0-9]+)`)

// gcpAttachHost is the N1 host a GCP GPU that attaches to any N1 machine is
// priced with when imported: 8 vCPUs per GPU, the shape GCP documents as the
// usual one for T4 and V100.
func gcpAttachHost(count int) string { return "n1-standard-" + strconv.Itoa(min(8*count, 96)) }

// ReadSkyPilot reads one cloud's SkyPilot catalog (vms.csv). It handles the
// format's quirks: GCP host rows priced without their GPU are joined to the
// GPU's own row; GPUs that attach to N1 hosts are paired with one; TPU rows
// (placeholder prices) and CPU-only rows are skipped; a missing spot price, or
// one not below on-demand, leaves the offer on-demand only. Zones are folded
// into their region at the lowest price. Rows in a region the region table
// (nil: the embedded one) does not list are dropped: with no jurisdiction
// they would satisfy no residency rule (ReadCSV, where a file can declare a
// region, refuses them instead). The report counts every dropped row.
func ReadSkyPilot(r io.Reader, cloud string, regions *Regions, source string) (*Catalog, ImportReport, error) {
	var rep ImportReport
	if regions == nil {
		regions = DefaultRegions()
	}
	if !slices.Contains(Clouds, cloud) {
		return nil, rep, fmt.Errorf("cloud %q: want one of %s", cloud, strings.Join(Clouds, ", "))
	}
	data, err := readBounded(r)
	if err != nil {
		return nil, rep, err
	}
	rows, err := parseSkyRows(data, &rep)
	if err != nil {
		return nil, rep, err
	}
	if cloud == GCP {
		rows = joinGCP(rows, &rep)
	}
	agg := map[string]*Offer{}
	var order []string
	for _, row := range rows {
		switch {
		case row.skip != "":
			rep.skip(row.skip)
			continue
		case row.accel == "":
			rep.skip("no accelerator")
			continue
		case !regions.Known(cloud, row.region):
			rep.skip(SkipUnknownRegion)
			continue
		case strings.HasPrefix(strings.ToLower(row.accel), "tpu"):
			rep.skip("tpu (placeholder price)")
			continue
		case row.instanceType == "":
			rep.skip("gpu row without a host")
			continue
		case row.count <= 0 || row.count != math.Trunc(row.count):
			rep.skip("fractional gpu")
			continue
		case !(row.price > 0):
			rep.skip("missing price")
			continue
		case !(row.vcpus > 0) || !(row.mem > 0):
			rep.skip("missing vcpus or memory")
			continue
		}
		spot := row.spot
		if !(spot > 0) || spot >= row.price {
			spot = 0
		}
		model := CanonicalGPUModel(row.accel)
		mem := row.gpuMemGiB
		if mem == 0 {
			mem = GPUMemoryGiB(model)
		}
		key := row.region + "/" + row.instanceType + "/" + strconv.Itoa(int(row.count)) + "x" + model
		if o, ok := agg[key]; ok {
			o.PriceHourly = min(o.PriceHourly, row.price)
			if spot > 0 && (o.SpotPriceHourly == 0 || spot < o.SpotPriceHourly) {
				o.SpotPriceHourly = spot
			}
			continue
		}
		agg[key] = &Offer{Cloud: cloud, Region: row.region, InstanceType: row.instanceType, GPUModel: model,
			GPUCount: int(row.count), GPUMemoryGiB: mem, VCPUs: row.vcpus, MemoryGiB: row.mem,
			PriceHourly: row.price, SpotPriceHourly: spot}
		order = append(order, key)
	}
	offers := make([]Offer, 0, len(order))
	for _, k := range order {
		o := agg[k]
		// Zones fold at their lowest prices independently: one zone's
		// cheap on-demand price can fall to or below another zone's spot
		// price, and spot must stay cheaper than on-demand.
		if o.SpotPriceHourly >= o.PriceHourly {
			o.SpotPriceHourly = 0
		}
		if o.SpotPriceHourly == 0 {
			rep.SpotDropped++
		}
		offers = append(offers, *o)
	}
	rep.Offers = len(offers)
	c, err := NewCatalog(offers, regions, Meta{Source: source, Revision: ContentRevision(data)})
	if err != nil {
		return nil, rep, err
	}
	return c, rep, nil
}

func parseSkyRows(data []byte, rep *ImportReport) ([]skyRow, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading SkyPilot header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"instancetype", "acceleratorname", "acceleratorcount", "vcpus", "memorygib", "price", "spotprice", "region"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("SkyPilot header %q: no %s column", strings.Join(head, ","), need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0
		}
		return v
	}
	var rows []skyRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading SkyPilot catalog: %w", err)
		}
		rep.Rows++
		row := skyRow{
			instanceType: get(rec, "instancetype"), accel: get(rec, "acceleratorname"),
			region: get(rec, "region"), zone: get(rec, "availabilityzone"),
			count: num(get(rec, "acceleratorcount")), vcpus: num(get(rec, "vcpus")), mem: num(get(rec, "memorygib")),
			price: num(get(rec, "price")), spot: num(get(rec, "spotprice")),
		}
		if m := sizeInMiB.FindStringSubmatch(get(rec, "gpuinfo")); m != nil && row.count > 0 {
			if mib, err := strconv.ParseFloat(m[1], 64); err == nil {
				row.gpuMemGiB = math.Round(mib/1024*10) / 10
			}
		}
		if row.region == "" {
			rep.skip("no region")
			continue
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// joinGCP adds each GPU row's price to the host rows that carry that GPU, and
// pairs the GPUs that attach to any N1 host with one.
func joinGCP(rows []skyRow, rep *ImportReport) []skyRow {
	type gpuKey struct {
		accel, region, zone string
		count               float64
	}
	type hostKey struct{ instanceType, region, zone string }
	gpus := map[gpuKey]skyRow{}
	hosts := map[hostKey]skyRow{}
	var out []skyRow
	for _, r := range rows {
		switch {
		case r.instanceType == "" && r.accel != "":
			gpus[gpuKey{r.accel, r.region, r.zone, r.count}] = r
		case r.accel == "":
			hosts[hostKey{r.instanceType, r.region, r.zone}] = r
		default:
			out = append(out, r)
		}
	}
	joined := map[gpuKey]bool{}
	for i := range out {
		h := &out[i]
		if strings.HasPrefix(strings.ToLower(h.accel), "tpu") {
			continue
		}
		k := gpuKey{h.accel, h.region, h.zone, h.count}
		g, ok := gpus[k]
		if !ok {
			h.skip = "gcp host without a gpu price row" // the host price alone would understate the cost
			continue
		}
		joined[k] = true
		h.price += g.price
		if h.spot > 0 && g.spot > 0 {
			h.spot += g.spot
		} else {
			h.spot = 0
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(gpus), func(a, b gpuKey) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	}) {
		if joined[k] || strings.HasPrefix(strings.ToLower(k.accel), "tpu") {
			if !joined[k] {
				out = append(out, gpus[k]) // counted as tpu below
			}
			continue
		}
		g := gpus[k]
		host, ok := hosts[hostKey{gcpAttachHost(int(g.count)), g.region, g.zone}]
		if !ok {
			rep.skip("gcp gpu without an n1 host row")
			continue
		}
		row := g
		row.instanceType = host.instanceType
		row.vcpus, row.mem = host.vcpus, host.mem
		row.price = host.price + g.price
		row.spot = 0
		if host.spot > 0 && g.spot > 0 {
			row.spot = host.spot + g.spot
		}
		out = append(out, row)
	}
	for range hosts {
		rep.skip("no accelerator")
	}
	return out
}
