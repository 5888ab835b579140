package policy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ToValue converts a Go value to the AST value Rego evaluates, as JSON
// encoding would (json tags, omitempty), but directly: OPA's own
// ast.InterfaceToValue round-trips structs through encoding/json, which
// costs several times more on the request path (BenchmarkToValue).
func ToValue(v any) (ast.Value, error) {
	return toValue(reflect.ValueOf(v))
}

type fieldInfo struct {
	index     int
	key       string
	name      *ast.Term
	omitEmpty bool
}

var jsonNumber = reflect.TypeFor[json.Number]()

var fieldCache sync.Map // reflect.Type → []fieldInfo

func fieldsOf(t reflect.Type) []fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]fieldInfo)
	}
	var out []fieldInfo
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		out = append(out, fieldInfo{index: i, key: name, name: ast.StringTerm(name), omitEmpty: strings.Contains(opts, "omitempty")})
	}
	fieldCache.Store(t, out)
	return out
}

func toValue(v reflect.Value) (ast.Value, error) {
	switch v.Kind() {
	case reflect.Invalid:
		return ast.NullValue, nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ast.NullValue, nil
		}
		return toValue(v.Elem())
	case reflect.String:
		if v.Type() == jsonNumber {
			return ast.Number(v.String()), nil
		}
		return ast.String(v.String()), nil
	case reflect.Bool:
		return ast.Boolean(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return ast.Number(strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return ast.Number(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return ast.FloatNumberTerm(v.Float()).Value, nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return ast.NullValue, nil
		}
		// One allocation for all the element terms rather than one each:
		// the input is dropped as a whole after the request anyway.
		block := make([]ast.Term, v.Len())
		terms := make([]*ast.Term, v.Len())
		for i := range terms {
			e, err := toValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			block[i].Value = e
			terms[i] = &block[i]
		}
		return ast.NewArray(terms...), nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map with %s keys cannot be policy input", v.Type().Key())
		}
		if v.IsNil() {
			return ast.NullValue, nil
		}
		kvs := make([][2]*ast.Term, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			e, err := toValue(it.Value())
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, [2]*ast.Term{ast.StringTerm(it.Key().String()), ast.NewTerm(e)})
		}
		return ast.NewObject(kvs...), nil
	case reflect.Struct:
		kvs, err := structFields(v)
		if err != nil {
			return nil, err
		}
		return ast.NewObject(kvs...), nil
	}
	return nil, fmt.Errorf("%s cannot be policy input", v.Type())
}

// structFields converts the fields of a struct as JSON would encode them.
func structFields(v reflect.Value) ([][2]*ast.Term, error) {
	return selectedFields(v, allFields, "")
}

// selectedFields converts the fields of a struct as JSON would encode them,
// only those sel selects, and not skip.
func selectedFields(v reflect.Value, sel *inputFields, skip string) ([][2]*ast.Term, error) {
	fields := fieldsOf(v.Type())
	n := len(fields)
	if !sel.all {
		n = 0
		for _, f := range fields {
			if f.key != skip && sel.keys[f.key] != nil {
				n++
			}
		}
	}
	kvs := make([][2]*ast.Term, 0, n+1) // +1: room for input.placement
	block := make([]ast.Term, n)        // the value terms, allocated together
	for _, f := range fields {
		if f.key == skip {
			continue
		}
		below := sel.child(f.key)
		if below == nil {
			continue
		}
		fv := v.Field(f.index)
		if f.omitEmpty && fv.IsZero() || f.omitEmpty && (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0 {
			continue
		}
		e, err := selectedValue(fv, below)
		if err != nil {
			return nil, err
		}
		t := &block[len(kvs)]
		t.Value = e
		kvs = append(kvs, [2]*ast.Term{f.name, t})
	}
	return kvs, nil
}

// selectedValue converts v as toValue does, leaving out the struct fields
// and map keys sel does not select.
func selectedValue(v reflect.Value, sel *inputFields) (ast.Value, error) {
	if sel.all {
		return toValue(v)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ast.NullValue, nil
		}
		return selectedValue(v.Elem(), sel)
	case reflect.Struct:
		kvs, err := selectedFields(v, sel, "")
		if err != nil {
			return nil, err
		}
		return ast.NewObject(kvs...), nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map with %s keys cannot be policy input", v.Type().Key())
		}
		if v.IsNil() {
			return ast.NullValue, nil
		}
		kvs := make([][2]*ast.Term, 0, len(sel.keys))
		for k, below := range sel.keys {
			e := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))
			if !e.IsValid() {
				continue
			}
			ev, err := selectedValue(e, below)
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(ev)})
		}
		return ast.NewObject(kvs...), nil
	}
	return toValue(v)
}
