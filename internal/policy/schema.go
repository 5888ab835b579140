package policy

import (
	"encoding/json"
	"reflect"

	"github.com/quartermaster-io/quartermaster/internal/jsonschema"
)

// Schema returns the JSON Schema of Input, generated from the Go types so
// that the documented input cannot drift from the real one
// (docs/policy-input.schema.json; TestSchemaIsCurrent compares them).
func Schema() ([]byte, error) {
	s := jsonschema.Generator{}.Of(reflect.TypeFor[Input]())
	s["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	s["$id"] = "https://quartermaster.io/schemas/policy-input.json"
	s["title"] = "Quartermaster policy input"
	s["description"] = "The document Rego policies see as `input` (contract 4.3). Generated from internal/policy.Input: do not edit."
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
