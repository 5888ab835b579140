package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var update = flag.Bool("update", false, "rewrite docs/report.schema.json")

// A report survives WriteJSON and ReadJSON unchanged, and writing it twice
// gives the same bytes (maps included), so that two runs' reports diff.
func TestJSONRoundTrip(t *testing.T) {
	for name, r := range map[string]*Report{
		"sample":     sampleReport(),
		"with trend": sampleReport(withTrend(5)),
		"many":       sampleReport(withFindings(500), withTeams(60)),
	} {
		t.Run(name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := WriteJSON(&a, r); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("two writes of one report differ")
			}
			if !strings.HasPrefix(a.String(), "{\n  \"version\": 1,\n") || !strings.HasSuffix(a.String(), "}\n") {
				t.Errorf("not indented with the version first:\n%.80s", a.String())
			}
			got, err := ReadJSON(&a)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(r, got); d != "" {
				t.Errorf("round trip (-wrote +read):\n%s", d)
			}
		})
	}
}

// A run that found and read nothing writes [] and {}, not null: the schema
// says arrays and objects, and a consumer iterates without a nil check.
func TestWriteJSONEmptyRun(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, &Report{Version: Version, Trend: &Trend{}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "null") {
		t.Errorf("empty report has a null:\n%s", b.String())
	}
	validate(t, b.Bytes())
	if _, err := ReadJSON(&b); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, nil); err == nil {
		t.Error("a nil report was written")
	}
}

// ReadJSON refuses other formats and versions, saying what the input looks
// like, and reads a newer writer's extra fields.
func TestReadJSON(t *testing.T) {
	tests := map[string]struct {
		in     string
		format bool   // a *FormatError
		want   string // in the error; empty: no error
	}{
		"snapshot line":      {in: `{"kind":"Disk","id":"vol-1","account":"1","cloud":"aws"}` + "\n" + `{"kind":"Disk"}`, want: "decoding report.json"},
		"json lines array":   {in: `[{"version":1}]`, format: true, want: "want a JSON object"},
		"empty":              {in: ``, format: true, want: "want a JSON object"},
		"sarif":              {in: `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[]}`, format: true, want: "SARIF log"},
		"sarif no schema":    {in: `{"version":"2.1.0","runs":[]}`, format: true, want: `version "2.1.0" is not a report.json version`},
		"openreports":        {in: `{"apiVersion":"openreports.io/v1alpha1","kind":"Report","results":[]}`, format: true, want: "Kubernetes resource (openreports.io/v1alpha1 Report)"},
		"no version":         {in: `{"run":{},"findings":[]}`, format: true, want: `no "version" field`},
		"newer version":      {in: `{"version":2,"run":{},"findings":[]}`, format: true, want: "version 2, this build reads version 1"},
		"no findings":        {in: `{"version":1,"run":{}}`, format: true, want: `no "run" or "findings" field`},
		"unknown severity":   {in: `{"version":1,"run":{},"findings":[{"id":"x","severity":"urgent"}]}`, want: `severity "urgent": want one of critical, high, medium, low, info`},
		"wrong type":         {in: `{"version":1,"run":{"start":"yesterday"},"findings":[]}`, want: "decoding report.json"},
		"trailing data":      {in: `{"version":1,"run":{},"findings":[]} {}`, want: "decoding report.json"},
		"unknown fields":     {in: `{"version":1,"run":{"id":"r","futureField":1},"findings":[],"future":{"x":1}}`},
		"null findings":      {in: `{"version":1,"run":{},"findings":null}`},
		"surrounding spaces": {in: "\n  {\"version\":1,\"run\":{},\"findings\":[]}\n\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadJSON(strings.NewReader(tc.in))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("read, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if err != nil && IsFormatError(err) != tc.format {
				t.Errorf("IsFormatError(%v) = %v, want %v", err, !tc.format, tc.format)
			}
		})
	}
}

// FuzzReadJSON: whatever the input, ReadJSON returns a report or an error,
// never panics, and a report it returns writes and reads back the same.
func FuzzReadJSON(f *testing.F) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport(withTrend(4))); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	f.Add([]byte(`{"version":1,"run":{},"findings":[]}`))
	f.Add([]byte(`{"version":1,"run":{},"findings":[{"severity":"high","monthlyCost":1e308}]}`))
	f.Add([]byte(`{"version":"2.1.0"}`))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteJSON(&out, r); err != nil {
			t.Fatalf("a report read could not be written: %v", err)
		}
		again, err := ReadJSON(&out)
		if err != nil {
			t.Fatalf("a report written could not be read: %v\n%s", err, out.String())
		}
		if d := cmp.Diff(normalised(r), again); d != "" {
			t.Errorf("write and read changed the report:\n%s", d)
		}
	})
}

func TestSchemaIsCurrent(t *testing.T) {
	const path = "../../docs/report.schema.json"
	got, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -run TestSchemaIsCurrent -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s is stale: run make generate", path)
	}
	for _, field := range []string{`"findings"`, `"monthlyCost"`, `"byTeam"`, `"forecastMonthEnd"`, `"date-time"`, `"critical"`} {
		if !strings.Contains(string(got), field) {
			t.Errorf("schema lacks %s", field)
		}
	}
}

// What WriteJSON writes is valid against docs/report.schema.json, checked
// by a real JSON Schema (2020-12) validator, and the schema is not vacuous:
// a report with an unknown severity, a missing field or a string for a
// number fails it.
func TestReportsMatchSchema(t *testing.T) {
	for name, r := range map[string]*Report{
		"sample":     sampleReport(),
		"with trend": sampleReport(withTrend(6)),
		"generated":  sampleReport(withFindings(300), withTeams(20)),
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			validate(t, b.Bytes())
		})
	}
	sch := compileSchema(t)
	for name, edit := range map[string]func(m map[string]any){
		"unknown severity": func(m map[string]any) { m["findings"].([]any)[0].(map[string]any)["severity"] = "urgent" },
		"no run":           func(m map[string]any) { delete(m, "run") },
		"other version":    func(m map[string]any) { m["version"] = 2 },
		"cost as string":   func(m map[string]any) { m["costs"].(map[string]any)["totalMonthly"] = "93456.78" },
		"bad start time":   func(m map[string]any) { m["run"].(map[string]any)["start"] = "yesterday" },
		"findings null":    func(m map[string]any) { m["findings"] = nil },
	} {
		t.Run("refuses "+name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, sampleReport()); err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			if err := sch.Validate(m); err == nil {
				t.Error("the schema accepts it")
			}
		})
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../../docs/report.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // date-time is checked, not only annotated
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validate(t *testing.T, data []byte) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := compileSchema(t).Validate(inst); err != nil {
		t.Errorf("report.json does not match docs/report.schema.json: %v", err)
	}
}

func TestFailsOn(t *testing.T) {
	r := sampleReport()                                                     // its worst finding is critical
	noHigh := sampleReport(func(r *Report) { r.Findings = r.Findings[2:] }) // medium and below
	tests := map[string]struct {
		r        *Report
		severity string
		want     bool
		err      string
	}{
		"critical present":        {r: r, severity: "critical", want: true},
		"info: anything fails":    {r: noHigh, severity: "info", want: true},
		"medium present":          {r: noHigh, severity: "medium", want: true},
		"high: only medium below": {r: noHigh, severity: "high", want: false},
		"no findings":             {r: &Report{}, severity: "info", want: false},
		"unknown severity":        {r: r, severity: "severe", err: `--fail-on "severe": want one of critical, high, medium, low, info`},
		"case matters":            {r: r, severity: "HIGH", err: "want one of"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := FailsOn(tc.r, tc.severity)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("FailsOn(%s) = %v, %v; want %v", tc.severity, got, err, tc.want)
			}
		})
	}
}
