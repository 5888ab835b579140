package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

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

// converter builds AST values with fewer allocations than one per term: it
// hands out terms from blocks, keeps object pairs on one scratch stack
// (ast.NewObject copies them), and reuses OPA's interned values for common
// strings and small integers. A converter serves one conversion.
type converter struct {
	terms []ast.Term     // the current block of terms
	ptrs  []*ast.Term    // the current block of array element slots
	pairs [][2]*ast.Term // scratch: the pairs of the objects being built
}

// termBlock is how many terms a converter allocates at once: most inputs
// fit in a few blocks.
const termBlock = 16

func (c *converter) term(v ast.Value) *ast.Term {
	if len(c.terms) == cap(c.terms) {
		c.terms = make([]ast.Term, 0, termBlock)
	}
	c.terms = append(c.terms, ast.Term{Value: v})
	return &c.terms[len(c.terms)-1]
}

// slots returns n element slots for an array. Their capacity is n, so an
// append to the array copies rather than overwrite its neighbours.
func (c *converter) slots(n int) []*ast.Term {
	if n > termBlock {
		return make([]*ast.Term, n)
	}
	if cap(c.ptrs)-len(c.ptrs) < n {
		c.ptrs = make([]*ast.Term, 0, termBlock)
	}
	i := len(c.ptrs)
	c.ptrs = c.ptrs[:i+n]
	return c.ptrs[i : i+n : i+n]
}

func (c *converter) object(start int) ast.Value {
	obj := ast.NewObject(c.pairs[start:]...)
	clear(c.pairs[start:])
	c.pairs = c.pairs[:start]
	return obj
}

// floatValue is f as JSON would encode it, interned when it is a small
// whole number (as GPU counts and hours usually are).
func floatValue(f float64) ast.Value {
	if f > 0 && f <= 512 && f == math.Trunc(f) || f == 0 && !math.Signbit(f) {
		return ast.InternedValue(int(f))
	}
	return ast.FloatNumberTerm(f).Value
}

// toValue converts a Go value to the AST value Rego evaluates, as JSON
// encoding would (json tags, omitempty), but directly: OPA's own
// ast.InterfaceToValue round-trips structs through encoding/json, which
// costs several times more on the request path (BenchmarkToValue).
func toValue(v reflect.Value) (ast.Value, error) {
	var c converter
	return c.value(v, allFields)
}

func (c *converter) value(v reflect.Value, sel *inputFields) (ast.Value, error) {
	switch v.Kind() {
	case reflect.Invalid:
		return ast.NullValue, nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return ast.NullValue, nil
		}
		return c.value(v.Elem(), sel)
	case reflect.String:
		if v.Type() == jsonNumber {
			return ast.Number(v.String()), nil
		}
		return ast.InternedValue(v.String()), nil
	case reflect.Bool:
		return ast.InternedValue(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return ast.InternedValue(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if u := v.Uint(); u <= math.MaxInt64 {
			return ast.InternedValue(int64(u)), nil
		}
		return ast.Number(strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return floatValue(v.Float()), nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return ast.NullValue, nil
		}
		switch {
		case sel.all:
		case sel.elem != nil && len(sel.keys) == 0:
			sel = sel.elem // what rules read of every element
		default:
			sel = allFields // a list read by field name: convert it all
		}
		terms := c.slots(v.Len())
		for i := range terms {
			e, err := c.value(v.Index(i), sel)
			if err != nil {
				return nil, err
			}
			terms[i] = c.term(e)
		}
		return ast.NewArray(terms...), nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map with %s keys cannot be policy input", v.Type().Key())
		}
		if v.IsNil() {
			return ast.NullValue, nil
		}
		start := len(c.pairs)
		if sel.all || sel.elem != nil {
			below := allFields
			if !sel.all && len(sel.keys) == 0 {
				below = sel.elem // what rules read of every value
			}
			it := v.MapRange()
			for it.Next() {
				e, err := c.value(it.Value(), below)
				if err != nil {
					return nil, err
				}
				c.pairs = append(c.pairs, [2]*ast.Term{c.term(ast.String(it.Key().String())), c.term(e)})
			}
			return c.object(start), nil
		}
		for k, below := range sel.keys {
			e := v.MapIndex(reflect.ValueOf(k).Convert(v.Type().Key()))
			if !e.IsValid() {
				continue
			}
			ev, err := c.value(e, below)
			if err != nil {
				return nil, err
			}
			c.pairs = append(c.pairs, [2]*ast.Term{c.term(ast.String(k)), c.term(ev)})
		}
		return c.object(start), nil
	case reflect.Struct:
		if sel.elem != nil {
			sel = allFields // a field named by a variable: any field
		}
		start := len(c.pairs)
		if err := c.fields(v, sel, ""); err != nil {
			return nil, err
		}
		return c.object(start), nil
	}
	return nil, fmt.Errorf("%s cannot be policy input", v.Type())
}

// fields pushes the pairs of the fields of a struct as JSON would encode
// them, only those sel selects, and not skip.
func (c *converter) fields(v reflect.Value, sel *inputFields, skip string) error {
	for _, f := range fieldsOf(v.Type()) {
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
		e, err := c.value(fv, below)
		if err != nil {
			return err
		}
		c.pairs = append(c.pairs, [2]*ast.Term{f.name, c.term(e)})
	}
	return nil
}

// selectedFields converts the fields of a struct that sel selects, but
// not skip, into pairs the caller keeps.
func selectedFields(v reflect.Value, sel *inputFields, skip string) ([][2]*ast.Term, error) {
	var c converter
	if err := c.fields(v, sel, skip); err != nil {
		return nil, err
	}
	// +1: room for input.placement, added by the caller.
	return append(make([][2]*ast.Term, 0, len(c.pairs)+1), c.pairs...), nil
}

// selectedValue converts v as toValue does, leaving out the struct fields
// and map keys sel does not select.
func selectedValue(v reflect.Value, sel *inputFields) (ast.Value, error) {
	var c converter
	return c.value(v, sel)
}
