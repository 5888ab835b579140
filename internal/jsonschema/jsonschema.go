// Package jsonschema derives JSON Schemas (draft 2020-12) from Go types as
// encoding/json encodes them, so that a documented format (the policy
// input, report.json) is generated from the types that produce it and
// cannot drift from them; the callers' tests compare the checked-in schema
// with a fresh one.
package jsonschema

import (
	"reflect"
	"strings"
	"time"
)

// Generator turns Go types into schemas. A field's description comes from
// its `doc` tag, else from Describe; Enum, when set, lists a field's
// allowed values. A field is required unless its json tag says omitempty
// or omitzero: what the encoder always writes, a reader may rely on.
type Generator struct {
	Describe func(t reflect.Type, field string) string
	Enum     func(t reflect.Type, field string) []string
}

var timeType = reflect.TypeFor[time.Time]()

// Of returns the schema of t.
func (g Generator) Of(t reflect.Type) map[string]any {
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.Of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.Of(t.Elem())}
	case reflect.Map:
		if t.Elem().Kind() == reflect.Interface {
			return map[string]any{"type": "object"}
		}
		return map[string]any{"type": "object", "additionalProperties": g.Of(t.Elem())}
	case reflect.Struct:
		return g.object(t)
	}
	return map[string]any{}
}

func (g Generator) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		p := g.Of(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			p["description"] = d
		} else if g.Describe != nil {
			if d := g.Describe(t, name); d != "" {
				p["description"] = d
			}
		}
		if g.Enum != nil {
			if e := g.Enum(t, name); e != nil {
				p["enum"] = e
			}
		}
		props[name] = p
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}
