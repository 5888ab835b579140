package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSubset is the part of the SARIF 2.1.0 schema (OASIS) that the
// consumers read and that WriteSARIF fills: required properties and the
// closed sets of values. The official schema is not vendored; this is
// checked by the same JSON Schema validator as report.json.
const sarifSubset = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["version", "runs"],
  "properties": {
    "version": {"const": "2.1.0"},
    "runs": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
      "type": "object",
      "required": ["tool", "results"],
      "properties": {
        "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
          "type": "object", "required": ["name"],
          "properties": {"name": {"type": "string", "minLength": 1}, "informationUri": {"type": "string", "format": "uri"},
            "rules": {"type": "array", "items": {"type": "object", "required": ["id"],
              "properties": {"id": {"type": "string"}, "shortDescription": {"$ref": "#/$defs/message"},
                "defaultConfiguration": {"type": "object", "properties": {"level": {"$ref": "#/$defs/level"}}}}}}}}}},
        "invocations": {"type": "array", "items": {"type": "object", "required": ["executionSuccessful"],
          "properties": {"startTimeUtc": {"type": "string", "format": "date-time"}, "endTimeUtc": {"type": "string", "format": "date-time"},
            "toolExecutionNotifications": {"type": "array", "items": {"type": "object", "required": ["message"],
              "properties": {"message": {"$ref": "#/$defs/message"}, "level": {"$ref": "#/$defs/level"}}}}}}},
        "results": {"type": "array", "items": {
          "type": "object", "required": ["message"],
          "properties": {
            "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": -1},
            "level": {"$ref": "#/$defs/level"}, "message": {"$ref": "#/$defs/message"},
            "locations": {"type": "array", "items": {"type": "object", "properties": {"logicalLocations": {"type": "array", "items": {
              "type": "object", "properties": {"name": {"type": "string"}, "fullyQualifiedName": {"type": "string"},
                "kind": {"enum": ["function", "member", "module", "namespace", "parameter", "package", "resource", "returnType", "type", "variable",
                  "object", "array", "property", "value", "element", "text", "attribute", "comment", "declaration", "dtd", "processingInstruction"]}}}}}}},
            "partialFingerprints": {"type": "object", "additionalProperties": {"type": "string"}}
          }}}
      }}}
  },
  "$defs": {
    "level": {"enum": ["none", "note", "warning", "error"]},
    "message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}], "properties": {"text": {"type": "string", "minLength": 1}}}
  }
}`

func TestWriteSARIF(t *testing.T) {
	r := sampleReport(func(r *Report) {
		// A second finding of a rule, more severe: the rule takes its level.
		f := r.Findings[2]
		f.ID, f.Severity, f.Resource, f.Message = "f6", "high", "Disk vol-0def", ""
		r.Findings = append(r.Findings, f)
	})
	var b, again bytes.Buffer
	if err := WriteSARIF(&b, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteSARIF(&again, r); err != nil || !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("two writes of one report differ")
	}

	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(sarifSubset))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif-subset.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif-subset.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("the SARIF log breaks the 2.1.0 subset: %v", err)
	}

	// The subset is not vacuous: a bad level or a result without a
	// message fails it.
	for name, edit := range map[string]func(res map[string]any){
		"bad level":  func(res map[string]any) { res["level"] = "fatal" },
		"no message": func(res map[string]any) { delete(res, "message") },
	} {
		var m map[string]any
		if err := json.Unmarshal(b.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		edit(m["runs"].([]any)[0].(map[string]any)["results"].([]any)[0].(map[string]any))
		if err := sch.Validate(m); err == nil {
			t.Errorf("%s: the subset accepts it", name)
		}
	}

	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	var ids []string
	for _, rule := range run.Tool.Driver.Rules {
		ids = append(ids, rule.ID)
	}
	if got := strings.Join(ids, ","); got != "audit-bucket-public,checkpoint-unprotected,idle-gpu,placement-drift,unattached-disk" {
		t.Errorf("rules %s, want one per code, sorted", got)
	}
	levels := map[string]string{}
	for _, res := range run.Results {
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s points at rule %d (%s)", res.RuleID, res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		levels[res.PartialFingerprints["quartermasterFindingId/v1"]] = res.Level
	}
	for id, want := range map[string]string{"f1": "error", "f2": "error", "f3": "warning", "f4": "note", "f5": "note", "f6": "error"} {
		if levels[id] != want {
			t.Errorf("finding %s: level %q, want %q", id, levels[id], want)
		}
	}
	disk := run.Tool.Driver.Rules[4]
	if disk.DefaultConfiguration.Level != "error" || disk.Properties["severity"] != "high" || disk.Properties["security-severity"] != "8.0" {
		t.Errorf("unattached-disk rule: %+v, want the level of its high finding", disk)
	}
	res := run.Results[2]
	loc := res.Locations[0].LogicalLocations[0]
	if loc.Name != "vol-0abc" || loc.FullyQualifiedName != "aws/111122223333/us-east-1/Disk vol-0abc" || loc.Kind != "resource" {
		t.Errorf("logical location %+v", loc)
	}
	if res.Properties["monthlyCostUSD"] != 80.0 || res.Properties["region"] != "us-east-1" {
		t.Errorf("properties %v", res.Properties)
	}
	if run.Results[5].Message.Text != "unattached-disk" {
		t.Errorf("a finding without a message has the message %q, want its code", run.Results[5].Message.Text)
	}
	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.Notifications) != 2 || !strings.Contains(inv.Notifications[0].Message.Text, "account aws/444455556666 failed") {
		t.Errorf("invocation %+v, want unsuccessful with the failed account and the error", inv)
	}
	// The log is not mistaken for report.json.
	if _, err := ReadJSON(&b); !IsFormatError(err) || !strings.Contains(err.Error(), "SARIF log") {
		t.Errorf("ReadJSON of SARIF: %v", err)
	}
}

// With MaxResults the log keeps the most severe findings and says how many
// are left out.
func TestSARIFMaxResults(t *testing.T) {
	r := sampleReport(withFindings(1000))
	var b bytes.Buffer
	if err := (SARIF{MaxResults: 50}).Write(&b, r); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Results) != 50 {
		t.Fatalf("%d results, want 50", len(run.Results))
	}
	for _, res := range run.Results {
		if res.Properties["severity"] != "critical" {
			t.Fatalf("a %v finding kept while critical ones were left out", res.Properties["severity"])
		}
	}
	notes := run.Invocations[0].Notifications
	if last := notes[len(notes)-1].Message.Text; last != "the 50 most severe and costly of 1000 findings; the other 950 are in report.json" {
		t.Errorf("last notification %q", last)
	}
	var all bytes.Buffer
	if err := WriteSARIF(&all, r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(all.String(), `"ruleId"`); n != 1000 {
		t.Errorf("WriteSARIF wrote %d results, want every finding", n)
	}
}
