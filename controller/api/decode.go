package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/berthdev/berth/internal/typo"
)

// Limits of a request body. ECS caps a task definition at 64 KiB, the
// largest input of these operations; MaxBodySize leaves room for JSON
// escaping and whitespace (a definition written with \u escapes and
// indentation can take several times its compact size) and is still small
// enough that a hostile client cannot make berth hold much. MaxDepth is
// deeper than any input shape nests (a RunTask override is 6 levels, a task
// definition 6) with room to spare.
const (
	MaxBodySize = 1 << 20
	MaxDepth    = 32
)

// Decode reads data as the input shape v (a pointer to a struct) the way
// the operations read their bodies, strictly:
//
//   - data must be one JSON object and nothing after it; an empty body
//     reads as {} (AWS JSON clients send {} for an input with nothing set,
//     some send nothing);
//   - every member must be one the shape has, spelled as the model spells
//     it (JSON in Go matches names without regard to case; the API does
//     not), and appear once;
//   - every value must have the member's type: strings, booleans, integers
//     within the member's range (no fraction, no exponent), finite numbers,
//     timestamps as epoch seconds; null reads as absent, as in AWS JSON;
//   - members the model requires must be present;
//   - nesting is at most MaxDepth deep.
//
// Unknown members are refused rather than ignored: an ECS client that sends
// a member berth does not know is asking for something berth would
// silently not do (a newer ECS feature, a misspelt option), and saying so
// is better than running a task other than the one asked for. They are
// refused as SerializationException, the error AWS JSON services give for
// a body that does not read as the operation's input, not as
// InvalidParameterException, which ECS keeps for values it has read and
// judged.
//
// The error is an *Error of type SerializationException (InvalidParameter
// for a missing required member) naming the member by its path
// (overrides.containerOverrides[0].cpu).
func Decode(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("api.Decode: want a pointer to a struct, got %T", v)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	if err := checkDepth(data, MaxDepth); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	d := &decoder{dec: dec}
	tok, err := d.token()
	if err != nil {
		return err
	}
	if _, ok := tok.(json.Delim); !ok || tok != json.Delim('{') {
		return SerializationException("the body must be a JSON object, got %s", describeToken(tok))
	}
	if err := d.structure(rv.Elem(), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return SerializationException("unexpected data after the JSON object at offset %d", dec.InputOffset())
	}
	return nil
}

type decoder struct {
	dec *json.Decoder
}

// token reads the next token, turning the JSON package's errors into the
// protocol's.
func (d *decoder) token() (json.Token, error) {
	tok, err := d.dec.Token()
	if err == nil {
		return tok, nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, SerializationException("malformed JSON: the body ends before the JSON value does")
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return nil, SerializationException("malformed JSON at offset %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	}
	return nil, SerializationException("malformed JSON: %s", err)
}

var timestampType = reflect.TypeFor[Timestamp]()

// value stores the value starting with tok, read as rv's type.
func (d *decoder) value(tok json.Token, rv reflect.Value, path string) error {
	if tok == nil {
		rv.SetZero()
		return nil
	}
	if rv.Type() == timestampType {
		n, ok := tok.(json.Number)
		if !ok {
			return mismatch(tok, path, "a timestamp (epoch seconds)")
		}
		ts, err := parseEpochSeconds(string(n))
		if err != nil {
			return SerializationException("member %s: %v", path, err)
		}
		rv.Set(reflect.ValueOf(ts))
		return nil
	}
	switch rv.Kind() {
	case reflect.Pointer:
		elem := reflect.New(rv.Type().Elem())
		if err := d.value(tok, elem.Elem(), path); err != nil {
			return err
		}
		rv.Set(elem)
		return nil
	case reflect.Struct:
		if tok != json.Delim('{') {
			return mismatch(tok, path, "a structure")
		}
		return d.structure(rv, path)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return mismatch(tok, path, "a list")
		}
		return d.list(rv, path)
	case reflect.Map:
		if tok != json.Delim('{') {
			return mismatch(tok, path, "a map")
		}
		return d.mapping(rv, path)
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			return mismatch(tok, path, "a string")
		}
		rv.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := tok.(bool)
		if !ok {
			return mismatch(tok, path, "a boolean")
		}
		rv.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := tok.(json.Number)
		if !ok {
			return mismatch(tok, path, "an integer")
		}
		i, err := strconv.ParseInt(string(n), 10, rv.Type().Bits())
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return SerializationException("member %s: %s is out of range for a %d-bit integer", path, n, rv.Type().Bits())
			}
			return SerializationException("member %s: want an integer, got %s", path, n)
		}
		rv.SetInt(i)
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return mismatch(tok, path, "a number")
		}
		f, err := strconv.ParseFloat(string(n), rv.Type().Bits())
		if err != nil {
			return SerializationException("member %s: %s is out of range for a number", path, n)
		}
		rv.SetFloat(f)
		return nil
	}
	// Only a shape of this package with a member of a kind the API does
	// not have gets here; the tests walk every input shape.
	return ServerException("member %s: berth cannot read a %s", path, rv.Type())
}

// structure reads the members of an object whose '{' was read.
func (d *decoder) structure(rv reflect.Value, path string) error {
	fields := fieldsOf(rv.Type())
	seen := make(map[string]bool, len(fields.byName))
	for d.dec.More() {
		tok, err := d.token()
		if err != nil {
			return err
		}
		name, _ := tok.(string) // object keys are always strings
		f, ok := fields.byName[name]
		if !ok {
			return SerializationException("unknown member %s%s", join(path, name), suggest(name, fields))
		}
		member := join(path, name)
		if seen[name] {
			return SerializationException("member %s appears twice", member)
		}
		seen[name] = true
		tok, err = d.token()
		if err != nil {
			return err
		}
		if tok == nil {
			seen[name] = false // null is absent
		}
		if err := d.value(tok, rv.FieldByIndex(f.index), member); err != nil {
			return err
		}
	}
	if _, err := d.token(); err != nil { // '}'
		return err
	}
	for _, name := range fields.required {
		if !seen[name] {
			return InvalidParameterException("member %s is required", join(path, name))
		}
	}
	return nil
}

func (d *decoder) list(rv reflect.Value, path string) error {
	s := reflect.MakeSlice(rv.Type(), 0, 0)
	for i := 0; d.dec.More(); i++ {
		tok, err := d.token()
		if err != nil {
			return err
		}
		elem := reflect.New(rv.Type().Elem()).Elem()
		if err := d.value(tok, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
		s = reflect.Append(s, elem)
	}
	if _, err := d.token(); err != nil { // ']'
		return err
	}
	rv.Set(s)
	return nil
}

func (d *decoder) mapping(rv reflect.Value, path string) error {
	m := reflect.MakeMap(rv.Type())
	for d.dec.More() {
		tok, err := d.token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		member := fmt.Sprintf("%s[%q]", path, key)
		if m.MapIndex(reflect.ValueOf(key)).IsValid() {
			return SerializationException("member %s appears twice", member)
		}
		if tok, err = d.token(); err != nil {
			return err
		}
		elem := reflect.New(rv.Type().Elem()).Elem()
		if err := d.value(tok, elem, member); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(key).Convert(rv.Type().Key()), elem)
	}
	if _, err := d.token(); err != nil { // '}'
		return err
	}
	rv.Set(m)
	return nil
}

// mismatch is the error for a value of the wrong JSON type. For an object
// or array where a scalar belongs it starts with the words AWS JSON
// services use.
func mismatch(tok json.Token, path, want string) error {
	switch tok {
	case json.Delim('{'):
		return SerializationException("Start of structure or map found where not expected: member %s wants %s", path, want)
	case json.Delim('['):
		return SerializationException("Start of list found where not expected: member %s wants %s", path, want)
	}
	return SerializationException("member %s: want %s, got %s", path, want, describeToken(tok))
}

func describeToken(tok json.Token) string {
	switch t := tok.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number (" + string(t) + ")"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case json.Delim:
		switch t {
		case '{':
			return "an object"
		case '[':
			return "a list"
		}
	}
	return fmt.Sprintf("%v", tok)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// suggest names the member meant: one that differs in case only (JSON
// written by hand for Go's case-blind decoder), else the nearest within two
// typing mistakes.
func suggest(name string, fields *fieldSet) string {
	if len(name) > 64 {
		return "" // no member is that long; spare the distance work
	}
	best, bestDistance := "", 3
	for _, known := range fields.names {
		if strings.EqualFold(known, name) {
			return fmt.Sprintf(" (did you mean %s?)", known)
		}
		if d := typo.Distance(strings.ToLower(known), strings.ToLower(name)); d < bestDistance && d < len(known)/2+1 {
			best, bestDistance = known, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

type fieldInfo struct {
	index []int
}

type fieldSet struct {
	byName   map[string]fieldInfo
	names    []string // sorted, so suggestions do not depend on map order
	required []string
}

var fieldCache sync.Map // reflect.Type -> *fieldSet

// fieldsOf lists the JSON members of a struct type, following embedded
// structs as encoding/json does.
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byName: map[string]fieldInfo{}}
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			continue // its fields are listed on their own
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := fs.byName[name]; dup && len(f.Index) > 1 {
			continue // the shallower field wins, as in encoding/json
		}
		fs.byName[name] = fieldInfo{index: f.Index}
		if f.Tag.Get("ecs") == "required" {
			fs.required = append(fs.required, name)
		}
	}
	for name := range fs.byName {
		fs.names = append(fs.names, name)
	}
	slices.Sort(fs.names)
	actual, _ := fieldCache.LoadOrStore(t, fs)
	return actual.(*fieldSet)
}

// checkDepth refuses JSON nested deeper than max before any decoding work
// is spent on it. It counts brackets outside strings; malformed input is
// left for the decoder to name.
func checkDepth(data []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for i, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return SerializationException("JSON nested deeper than %d levels at offset %d", max, i)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
