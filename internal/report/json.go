package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// WriteJSON writes r as report.json: indented, with a final newline, and
// deterministic (the same report gives the same bytes, since every list in
// Report is ordered by its producer and encoding/json sorts map keys), so
// that two runs' reports diff cleanly.
func WriteJSON(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("writing report.json: no report")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// The messages and resource names are read by people in a text
	// editor too; \u003c for every < helps nobody.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(normalised(r)); err != nil {
		return fmt.Errorf("writing report.json: %w", err)
	}
	return nil
}

// normalised returns r with every list and map that report.json always
// carries set: a consumer (and the schema) sees [] and {} where Go would
// write null for a run that found nothing.
func normalised(r *Report) *Report {
	c := *r
	c.Findings = nonNil(c.Findings)
	c.Run.Sources = nonNil(c.Run.Sources)
	c.Run.Accounts = nonNil(c.Run.Accounts)
	if c.Run.Resources == nil {
		c.Run.Resources = map[inventory.Kind]int{}
	}
	c.Costs.ByTeam, c.Costs.ByNamespace, c.Costs.ByWorkload = nonNil(c.Costs.ByTeam), nonNil(c.Costs.ByNamespace), nonNil(c.Costs.ByWorkload)
	for _, m := range []*map[string]int{&c.Summary.BySeverity, &c.Summary.ByCategory} {
		if *m == nil {
			*m = map[string]int{}
		}
	}
	if c.Summary.WasteByCheck == nil {
		c.Summary.WasteByCheck = map[string]float64{}
	}
	if c.Trend != nil {
		t := *c.Trend
		t.Points = nonNil(t.Points)
		c.Trend = &t
	}
	return &c
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// FormatError is ReadJSON's answer to a document that is not a report.json
// this build can read: another format (a snapshot, a SARIF log, an
// OpenReports resource), or another version of report.json.
type FormatError struct {
	// Version is the document's report version, 0 when it has none.
	Version int
	Reason  string
}

func (e *FormatError) Error() string { return "not a report.json this build reads: " + e.Reason }

// IsFormatError reports whether err says the input was not a report.json
// of this version, as opposed to a report.json that could not be read.
func IsFormatError(err error) bool {
	var fe *FormatError
	return errors.As(err, &fe)
}

// probe is what ReadJSON looks at before decoding the report itself: enough
// to tell report.json from the other JSON documents an operator may hand it.
type probe struct {
	Version    json.RawMessage `json:"version"`
	Run        json.RawMessage `json:"run"`
	Findings   json.RawMessage `json:"findings"`
	Schema     string          `json:"$schema"`
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
}

// ReadJSON reads a report.json written by WriteJSON (of this Version). It
// ignores fields it does not know, as Version promises readers may, but
// refuses with a *FormatError anything that is not a report.json of this
// version, naming what it looks like instead, and refuses a report whose
// findings carry an unknown severity (FailsOn and the HTML rank by it).
func ReadJSON(r io.Reader) (*Report, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading report.json: %w", err)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, &FormatError{Reason: "want a JSON object (a snapshot is JSON lines; report.json is one object)"}
	}
	var p probe
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("decoding report.json: %w", err)
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var rep Report
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("decoding report.json: %w", err)
	}
	for i, f := range rep.Findings {
		if !slices.Contains(policy.Severities, f.Severity) {
			return nil, fmt.Errorf("decoding report.json: finding %d (%s): severity %q: want one of %s",
				i, f.ID, f.Severity, strings.Join(policy.Severities, ", "))
		}
	}
	return &rep, nil
}

// check names the format of a JSON object that is not a report.json of
// this version.
func (p *probe) check() error {
	switch {
	case strings.Contains(p.Schema, "sarif"):
		return &FormatError{Reason: "this is a SARIF log (" + p.Schema + "); read report.json instead"}
	case p.Kind != "" && p.APIVersion != "":
		return &FormatError{Reason: fmt.Sprintf("this is a Kubernetes resource (%s %s), not report.json", p.APIVersion, p.Kind)}
	case len(p.Version) == 0:
		return &FormatError{Reason: "no \"version\" field"}
	}
	var v int
	if err := json.Unmarshal(p.Version, &v); err != nil {
		return &FormatError{Reason: fmt.Sprintf("version %s is not a report.json version (an integer)", p.Version)}
	}
	switch {
	case v != Version:
		return &FormatError{Version: v, Reason: fmt.Sprintf("version %d, this build reads version %d", v, Version)}
	case len(p.Run) == 0 || len(p.Findings) == 0:
		return &FormatError{Version: v, Reason: "no \"run\" or \"findings\" field"}
	}
	return nil
}
