package report

import (
	"encoding/json"
	"reflect"

	"github.com/quartermaster-io/quartermaster/internal/audit"
	"github.com/quartermaster-io/quartermaster/internal/inventory"
	"github.com/quartermaster-io/quartermaster/internal/jsonschema"
	"github.com/quartermaster-io/quartermaster/internal/policy"
)

// SchemaID is the $id of report.json's schema (docs/report.schema.json).
const SchemaID = "https://quartermaster.io/schemas/report.json"

// Schema returns the JSON Schema (draft 2020-12) of report.json, generated
// from the Go types so that the documented format cannot drift from the
// written one (docs/report.schema.json; TestSchemaIsCurrent compares them).
// Objects allow properties the schema does not name, as Version promises.
func Schema() ([]byte, error) {
	s := jsonschema.Generator{
		Describe: func(t reflect.Type, field string) string { return descriptions[t][field] },
		Enum:     func(t reflect.Type, field string) []string { return enums[t][field] },
	}.Of(reflect.TypeFor[Report]())
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = SchemaID
	s["title"] = "Quartermaster audit report (report.json)"
	s["description"] = "One audit run: what it read, what it found, what the GPUs cost, and the trend (contract 4.6). " +
		"Generated from internal/report.Report: do not edit."
	props := s["properties"].(map[string]any)
	props["version"] = map[string]any{"const": Version, "description": "The format version; readers refuse another."}
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// enums are the fields whose values are a closed set, by owning type and
// JSON name: a consumer can switch over them.
var enums = map[reflect.Type]map[string][]string{
	reflect.TypeFor[audit.Finding](): {
		"severity": policy.Severities,
		"category": {audit.CategoryCompliance, audit.CategoryWaste, audit.CategoryDrift, audit.CategoryBackup, audit.CategoryCost},
		"cloud":    clouds,
	},
	reflect.TypeFor[inventory.AccountResult](): {
		"status": {inventory.StatusScanned, inventory.StatusResumed, inventory.StatusFailed},
	},
	reflect.TypeFor[inventory.Account](): {"cloud": clouds},
}

var clouds = []string{string(inventory.CloudAWS), string(inventory.CloudAzure), string(inventory.CloudGCP), string(inventory.CloudKube)}

// descriptions explain the fields whose encoding is not obvious from their
// type, for the types this package does not own (its own carry a doc tag).
var descriptions = map[reflect.Type]map[string]string{
	reflect.TypeFor[audit.Finding](): {
		"id":          "Stable across runs for the same problem on the same resource.",
		"resource":    "\"Kind id\", e.g. \"Disk vol-0abc\".",
		"monthlyCost": "What the finding costs per month in USD; absent when it has no price.",
	},
	reflect.TypeFor[inventory.AccountResult](): {
		"duration": "The account's scan time in nanoseconds.",
		"error":    "Why the account failed; a failed account is listed, never left out.",
	},
}
