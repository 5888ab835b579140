package jsonschema

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

type sample struct {
	Name    string            `json:"name" doc:"Who."`
	Count   int               `json:"count,omitempty"`
	At      time.Time         `json:"at,omitzero"`
	Tags    map[string]string `json:"tags"`
	Any     map[string]any    `json:"any,omitempty"`
	Items   []*item           `json:"items"`
	skipped int
	Hidden  string `json:"-"`
	Kind    string `json:"kind"`
}

type item struct {
	Price float64 `json:"price"`
	OK    bool
}

// The schema says what encoding/json writes: names from tags, required
// unless omitempty or omitzero, hidden and unexported fields absent, times
// as date-time strings, and the callers' descriptions and enums.
func TestOf(t *testing.T) {
	g := Generator{
		Describe: func(t reflect.Type, f string) string {
			if t == reflect.TypeFor[sample]() && f == "kind" {
				return "What."
			}
			return ""
		},
		Enum: func(t reflect.Type, f string) []string {
			if f == "kind" {
				return []string{"a", "b"}
			}
			return nil
		},
	}
	_ = sample{skipped: 1} // an unexported field the encoder never writes
	got, _ := json.Marshal(g.Of(reflect.TypeFor[sample]()))
	want := `{"properties":{"any":{"type":"object"},"at":{"format":"date-time","type":"string"},"count":{"type":"integer"},` +
		`"items":{"items":{"properties":{"OK":{"type":"boolean"},"price":{"type":"number"}},"required":["price","OK"],"type":"object"},"type":"array"},` +
		`"kind":{"description":"What.","enum":["a","b"],"type":"string"},"name":{"description":"Who.","type":"string"},` +
		`"tags":{"additionalProperties":{"type":"string"},"type":"object"}},"required":["name","tags","items","kind"],"type":"object"}`
	if string(got) != want {
		t.Errorf("schema\n got %s\nwant %s", got, want)
	}
}
