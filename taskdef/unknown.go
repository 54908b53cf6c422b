package taskdef

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/berthdev/berth/internal/typo"
)

var typeOfTaskDefinition = reflect.TypeOf(TaskDefinition{})

// fieldsOf lists the JSON field names of a model struct, cached per type.
var fieldsOf = func() func(reflect.Type) map[string]reflect.Type {
	var cache sync.Map
	return func(t reflect.Type) map[string]reflect.Type {
		if v, ok := cache.Load(t); ok {
			return v.(map[string]reflect.Type)
		}
		m := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				m[name] = f.Type
			}
		}
		cache.Store(t, m)
		return m
	}
}()

// unknownFields finds object keys the ECS API does not define, walking the
// document alongside the model's types, and suggests the field that was
// probably meant. Maps (labels, options) take any key.
func (d *Document) unknownFields() []Problem {
	var out []Problem
	var walk func(v any, t reflect.Type, ptr string)
	walk = func(v any, t reflect.Type, ptr string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			obj, ok := v.(map[string]any)
			if !ok {
				return // a type error, which the schema reports
			}
			fields := fieldsOf(t)
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := ptr + "/" + escapePointer(k)
				ft, ok := fields[k]
				if !ok {
					msg := fmt.Sprintf("unknown field %q", k)
					if s := suggest(k, fields); s != "" {
						msg += fmt.Sprintf("; did you mean %q?", s)
						d.suggested[ptr+"/"+escapePointer(s)] = true
					}
					out = append(out, d.atKey(p, "unknown-field", msg))
					continue
				}
				walk(obj[k], ft, p)
			}
		case reflect.Slice:
			arr, ok := v.([]any)
			if !ok {
				return
			}
			for i, e := range arr {
				walk(e, t.Elem(), ptr+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(d.root, typeOfTaskDefinition, "")
	return out
}

// suggest returns the known field nearest to name: the same letters in
// another case, or within an edit distance that scales with its length.
func suggest(name string, fields map[string]reflect.Type) string {
	limit := min(3, len(name)/3+1)
	best, bestDist := "", limit+1
	for f := range fields {
		if strings.EqualFold(f, name) {
			return f
		}
		dist := typo.Distance(strings.ToLower(name), strings.ToLower(f))
		if dist < bestDist || dist == bestDist && f < best {
			best, bestDist = f, dist
		}
	}
	return best
}
