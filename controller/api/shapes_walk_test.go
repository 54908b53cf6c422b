package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"

	"github.com/berthdev/berth/controller/api"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

var timestampType = reflect.TypeFor[api.Timestamp]()

// jsonMember is one member of an input shape: a field, or the element of
// a list or map on the way to one.
type jsonStep struct {
	name string // field name; "" for a list element, "*" for a map value
}

type shapeMember struct {
	path  string // as the decoder names it: overrides.containerOverrides[0].cpu
	steps []jsonStep
	typ   reflect.Type // pointers removed
}

type jsonField struct {
	name     string
	typ      reflect.Type
	required bool
}

// jsonFields lists the members of a struct type as encoding/json sees them.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() || (f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct) {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type, required: f.Tag.Get("ecs") == "required"})
	}
	return out
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// walkMembers lists every member reachable from t, depth first.
func walkMembers(t reflect.Type) []shapeMember {
	var out []shapeMember
	var walk func(t reflect.Type, path string, steps []jsonStep)
	walk = func(t reflect.Type, path string, steps []jsonStep) {
		t = deref(t)
		if path != "" {
			out = append(out, shapeMember{path: path, steps: append([]jsonStep(nil), steps...), typ: t})
		}
		switch {
		case t == timestampType:
		case t.Kind() == reflect.Struct:
			for _, f := range jsonFields(t) {
				p := f.name
				if path != "" {
					p = path + "." + f.name
				}
				walk(f.typ, p, append(steps, jsonStep{name: f.name}))
			}
		case t.Kind() == reflect.Slice:
			walk(t.Elem(), path+"[0]", append(steps, jsonStep{}))
		case t.Kind() == reflect.Map:
			walk(t.Elem(), path+`["k"]`, append(steps, jsonStep{name: "*"}))
		}
	}
	walk(t, "", nil)
	return out
}

// minimal is a valid value of t: structures hold their required members.
func minimal(t reflect.Type) any {
	t = deref(t)
	switch {
	case t == timestampType:
		return 1764226800.5
	case t.Kind() == reflect.Struct:
		m := map[string]any{}
		for _, f := range jsonFields(t) {
			if f.required {
				m[f.name] = minimal(f.typ)
			}
		}
		return m
	case t.Kind() == reflect.Slice:
		return []any{}
	case t.Kind() == reflect.Map:
		return map[string]any{}
	case t.Kind() == reflect.String:
		return "x"
	case t.Kind() == reflect.Bool:
		return true
	default:
		return 1
	}
}

// withValue is a minimal value of t whose member at steps is v.
func withValue(t reflect.Type, steps []jsonStep, v any) any {
	if len(steps) == 0 {
		return v
	}
	t = deref(t)
	s := steps[0]
	switch t.Kind() {
	case reflect.Slice:
		return []any{withValue(t.Elem(), steps[1:], v)}
	case reflect.Map:
		return map[string]any{"k": withValue(t.Elem(), steps[1:], v)}
	case reflect.Struct:
		m := minimal(t).(map[string]any)
		for _, f := range jsonFields(t) {
			if f.name == s.name {
				m[f.name] = withValue(f.typ, steps[1:], v)
				return m
			}
		}
	}
	panic(fmt.Sprintf("no member %q in %s", s.name, t))
}

// rawJSON is a JSON text placed as is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// wrongValues are values of every JSON type but t's.
func wrongValues(t reflect.Type) []rawJSON {
	t = deref(t)
	switch {
	case t == timestampType:
		return []rawJSON{`"2026-11-27T07:00:00Z"`, `true`, `{}`, `[]`, `1e400`}
	case t.Kind() == reflect.Struct:
		return []rawJSON{`"x"`, `1`, `true`, `[]`}
	case t.Kind() == reflect.Slice:
		return []rawJSON{`"x"`, `1`, `false`, `{}`}
	case t.Kind() == reflect.Map:
		return []rawJSON{`"x"`, `1`, `true`, `[]`}
	case t.Kind() == reflect.String:
		return []rawJSON{`1`, `true`, `{}`, `[]`}
	case t.Kind() == reflect.Bool:
		return []rawJSON{`"true"`, `0`, `{}`, `[]`}
	case t.Kind() == reflect.Int32:
		return []rawJSON{`"1"`, `1.5`, `1e3`, `true`, `{}`, `[]`, `2147483648`, `-2147483649`}
	case t.Kind() == reflect.Int64 || t.Kind() == reflect.Int:
		return []rawJSON{`"1"`, `1.5`, `true`, `{}`, `[]`, `9223372036854775808`}
	case t.Kind() == reflect.Float64:
		return []rawJSON{`"1"`, `true`, `{}`, `[]`, `1e400`}
	}
	panic("no wrong values for " + t.String())
}
