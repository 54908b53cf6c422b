package taskdef

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Input limits. ECS caps a registered definition at 64 KiB; files bigger
// than MaxInputSize are surely not task definitions and are refused before
// any parsing work is spent on them.
const (
	MaxInputSize          = 4 << 20
	MaxDepth              = 64
	maxTaskDefinitionSize = 64 << 10
)

// Document is a decoded definition together with where each of its values
// stands in the source, so problems can name a line and column.
type Document struct {
	// Definition is the decoded definition. It is only meaningful once
	// Check has found the document free of schema errors, and once Check
	// has found it valid it holds the normalised form.
	Definition TaskDefinition
	source     []byte
	root       any            // the document as generic JSON, nulls removed
	prefix     string         // "/taskDefinition" for describe output
	offsets    map[string]int // JSON pointer -> offset of its value
	keyOffsets map[string]int // JSON pointer -> offset of its key
	notes      []Problem
	warnings   []Problem
	suggested  map[string]bool // pointers of fields a did-you-mean proposed
	// duplicates are the keys objects of the source hold twice, found by
	// the scan once Decode has seen that there are some.
	duplicates     []duplicateKey
	findDuplicates bool
	// locateWork counts the bytes of source read to turn offsets into
	// lines and columns, so tests can hold that work linear.
	locateWork int
}

// readOnlyFields are the fields describe-task-definition adds. They are
// ignored on input, as ECS's own tooling does when the output is fed back.
var readOnlyFields = []string{"taskDefinitionArn", "revision", "status", "compatibilities", "requiresAttributes", "registeredAt", "registeredBy", "deregisteredAt"}

// emptyAsUnset are optional enum fields that some tools write as "" (and
// omit when sending). ECS's API would refuse the empty string; berth takes
// it as unset and says so.
var emptyAsUnset = map[string]bool{"ipcMode": true, "pidMode": true, "appProtocol": true, "versionConsistency": true, "networkMode": true}

// Decode reads a task definition: the RegisterTaskDefinition input, or the
// output of describe-task-definition. Only unreadable input is an error.
func Decode(data []byte) (*Document, error) {
	if len(data) > MaxInputSize {
		return nil, &InputError{Reason: fmt.Sprintf("input is %d bytes; a task definition is at most 64 KiB, and berth reads at most %d bytes", len(data), MaxInputSize)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	doc := &Document{source: data, suggested: map[string]bool{}}
	root, err := doc.parse()
	if err != nil {
		return nil, err
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, &InputError{Line: 1, Column: 1, Reason: fmt.Sprintf("a task definition is a JSON object, not %s", jsonKind(root))}
	}
	if countKeys(root) != doc.keysInSource() {
		doc.warnings = append(doc.warnings, doc.duplicateKeys()...)
	}
	if inner, ok := obj["taskDefinition"].(map[string]any); ok && len(obj) <= 2 {
		// describe-task-definition output: {"taskDefinition": {...}, "tags": [...]}.
		doc.prefix = "/taskDefinition"
		doc.notes = append(doc.notes, Problem{Pointer: "/taskDefinition", Rule: "describe-output", Message: "describe-task-definition output: the definition inside \"taskDefinition\" is used"})
		if tags, ok := obj["tags"]; ok {
			if _, has := inner["tags"]; !has {
				inner["tags"] = tags
			}
		}
		obj = inner
	}
	var ignored []string
	for _, f := range readOnlyFields {
		if _, ok := obj[f]; ok {
			delete(obj, f)
			ignored = append(ignored, f)
		}
	}
	if len(ignored) > 0 {
		doc.notes = append(doc.notes, doc.at("/"+ignored[0], "read-only-field", fmt.Sprintf("fields set by ECS at registration are ignored: %s", strings.Join(ignored, ", "))))
	}
	doc.dropUnset(obj, "")
	doc.root = obj
	return doc, nil
}

// parse reads the source as generic JSON the fast way. Where that fails,
// or the document nests too deeply, the position-recording scan reads it
// again to say exactly where: the slow path is paid by bad input only.
func (d *Document) parse() (any, error) {
	dec := json.NewDecoder(bytes.NewReader(d.source))
	dec.UseNumber()
	var root any
	err := dec.Decode(&root)
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = errors.New("unexpected data after the end")
		}
	}
	if err == nil && deeperThan(root, MaxDepth) {
		err = errors.New("nested too deeply")
	}
	if err == nil {
		return root, nil
	}
	if scanErr := d.scan(); scanErr != nil {
		return nil, scanErr
	}
	return nil, &InputError{Reason: "not valid JSON: " + err.Error()} // the scan found nothing: a last resort
}

// deeperThan reports whether v nests objects and arrays more than limit
// levels deep.
func deeperThan(v any, limit int) bool {
	if limit < 0 {
		return true
	}
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if deeperThan(e, limit-1) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if deeperThan(e, limit-1) {
				return true
			}
		}
	}
	return false
}

// index records where every value and key stands in the source, once, the
// first time a problem needs a line and column.
func (d *Document) index() {
	if d.offsets != nil {
		return
	}
	if err := d.scan(); err != nil {
		// parse read the same bytes without error; the scan cannot fail on them.
		panic(fmt.Sprintf("taskdef: the position scan failed on JSON that parsed: %v", err))
	}
}

// compactSize is the size of the definition as the API would receive it:
// without the white space a file's indentation adds.
func (d *Document) compactSize() int {
	if len(d.source) <= maxTaskDefinitionSize {
		return len(d.source) // compacting only shrinks it
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, d.source); err != nil {
		return len(d.source)
	}
	return buf.Len()
}

// decodeDefinition decodes the source straight into the model. Fields the
// model lacks (the read-only ones) are skipped and nulls leave fields unset,
// which is what Decode's generic cleanup did for the schema.
func (d *Document) decodeDefinition(def *TaskDefinition) error {
	if d.findDuplicates {
		// Decoding the source would merge the objects of a key given twice
		// into one; the generic document holds the later value alone, as
		// the AWS CLI does.
		data, err := json.Marshal(d.root)
		if err != nil {
			return err
		}
		return json.Unmarshal(data, def)
	}
	if d.prefix == "" {
		return json.Unmarshal(d.source, def)
	}
	var wrapper struct {
		TaskDefinition json.RawMessage `json:"taskDefinition"`
		Tags           []Tag           `json:"tags"`
	}
	if err := json.Unmarshal(d.source, &wrapper); err != nil {
		return err
	}
	if err := json.Unmarshal(wrapper.TaskDefinition, def); err != nil {
		return err
	}
	if len(def.Tags) == 0 {
		def.Tags = wrapper.Tags // describe-task-definition --include TAGS puts them beside
	}
	return nil
}

// dropUnset removes null values (the API treats them as absent) and the
// empty strings of emptyAsUnset fields, recursively.
func (d *Document) dropUnset(v any, ptr string) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			p := ptr + "/" + escapePointer(k)
			if e == nil {
				delete(v, k)
				continue
			}
			if s, ok := e.(string); ok && s == "" && emptyAsUnset[k] {
				delete(v, k)
				d.warnings = append(d.warnings, d.at(p, "empty-enum", fmt.Sprintf("%q is an empty string; taken as unset (the API refuses \"\")", k)))
				continue
			}
			d.dropUnset(e, p)
		}
	case []any:
		for i, e := range v {
			d.dropUnset(e, ptr+"/"+strconv.Itoa(i))
		}
	}
}

// scanFrame is an object or array the scanner is inside of.
type scanFrame struct {
	ptr   string
	isObj bool
	key   string         // the pending key, inside an object
	inKey bool           // the next token of the object is a key (or its end)
	n     int            // values seen so far, inside an array
	keys  map[string]int // offsets of the keys seen so far, when looking for duplicates
}

// scan reads the source token by token, recording the offset of every value
// and key, and reports the first thing that makes it unreadable, located.
// It is iterative, so deep nesting cannot exhaust the stack.
func (d *Document) scan() error {
	d.offsets, d.keyOffsets = map[string]int{}, map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(d.source))
	dec.UseNumber()
	var stack []*scanFrame
	done := false
	// complete notes a finished value in its parent, or as the root.
	complete := func() {
		if len(stack) == 0 {
			done = true
			return
		}
		top := stack[len(stack)-1]
		if top.isObj {
			top.inKey = true
		} else {
			top.n++
		}
	}
	for {
		start := d.skipSpace(int(dec.InputOffset()))
		tok, err := dec.Token()
		if err == io.EOF {
			if !done {
				return d.inputError(len(d.source), "the input ends before the task definition does")
			}
			return nil
		}
		if done {
			reason := "unexpected data after the end of the task definition"
			if hint := d.commentHint(start); hint != "" {
				reason += ": " + hint
			}
			return d.inputError(start, reason)
		}
		if err != nil {
			return d.syntaxError(err, start, len(stack) > 0 && stack[len(stack)-1].isObj)
		}
		var top *scanFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if delim, ok := tok.(json.Delim); ok && (delim == '}' || delim == ']') {
			stack = stack[:len(stack)-1]
			complete()
			continue
		}
		if top != nil && top.isObj && top.inKey {
			top.key = tok.(string)
			top.inKey = false
			ptr := top.ptr + "/" + escapePointer(top.key)
			d.keyOffsets[ptr] = start
			if d.findDuplicates {
				if top.keys == nil {
					top.keys = map[string]int{}
				}
				if earlier, seen := top.keys[top.key]; seen {
					d.duplicates = append(d.duplicates, duplicateKey{ptr: ptr, key: top.key, earlier: earlier, later: start})
				}
				top.keys[top.key] = start
			}
			continue
		}
		ptr := ""
		if top != nil {
			if top.isObj {
				ptr = top.ptr + "/" + escapePointer(top.key)
			} else {
				ptr = top.ptr + "/" + strconv.Itoa(top.n)
			}
		}
		d.offsets[ptr] = start
		if delim, ok := tok.(json.Delim); ok {
			if len(stack) >= MaxDepth {
				return d.inputError(start, fmt.Sprintf("nested deeper than %d levels", MaxDepth))
			}
			stack = append(stack, &scanFrame{ptr: ptr, isObj: delim == '{', inKey: delim == '{'})
			continue
		}
		complete()
	}
}

// duplicateKey is a key an object of the source holds twice.
type duplicateKey struct {
	ptr, key       string
	earlier, later int // offsets of the two keys
}

// countKeys counts the keys of every object in a decoded document, where
// a key given twice counts once.
func countKeys(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		n += len(v)
		for _, e := range v {
			n += countKeys(e)
		}
	case []any:
		for _, e := range v {
			n += countKeys(e)
		}
	}
	return n
}

// keysInSource counts the keys of the objects of the source, a key given
// twice twice: in JSON that parsed, every colon outside a string ends a key.
func (d *Document) keysInSource() int {
	n, inString, escaped := 0, false, false
	for _, c := range d.source {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case !inString && c == ':':
			n++
		}
	}
	return n
}

// duplicateKeys scans the source for the keys objects hold twice and
// warns about each. encoding/json, like the AWS CLI's JSON parser, keeps
// the later value without a word; a key given twice is most often a
// mistake of editing, so berth says which value it used.
func (d *Document) duplicateKeys() []Problem {
	d.findDuplicates = true
	d.offsets = nil
	d.index()
	// Locate both keys of every pair in one pass: the messages name both.
	places := make([]Problem, 2*len(d.duplicates))
	for i, dup := range d.duplicates {
		places[2*i].offset, places[2*i+1].offset = dup.earlier+1, dup.later+1
	}
	d.locateAll(places)
	out := make([]Problem, len(d.duplicates))
	for i, dup := range d.duplicates {
		first, second := places[2*i], places[2*i+1]
		out[i] = Problem{
			Pointer: dup.ptr,
			Rule:    "duplicate-key",
			Message: fmt.Sprintf("key %q is given twice in this object, at %d:%d and at %d:%d; the later value is used, as the AWS CLI uses it", dup.key, first.Line, first.Column, second.Line, second.Column),
			offset:  dup.later + 1,
		}
	}
	return out
}

// skipSpace returns the offset of the next token at or after off: past
// white space and the separators the decoder consumes silently.
func (d *Document) skipSpace(off int) int {
	for off < len(d.source) {
		switch d.source[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
		default:
			return off
		}
	}
	return off
}

// syntaxError locates a syntax error. The streaming decoder reports where
// the token it was reading began; a plain Unmarshal of the same bytes
// reports the offending byte itself, which is what a person needs to see.
// inObject says whether the scan was inside an object (not an array) there.
func (d *Document) syntaxError(err error, start int, inObject bool) error {
	off := start
	var se *json.SyntaxError
	if uerr := json.Unmarshal(d.source, new(any)); errors.As(uerr, &se) {
		err = se
		off = max(int(se.Offset)-1, 0)
	}
	raw := strings.TrimPrefix(err.Error(), "json: ")
	if hint := d.syntaxHint(off, inObject); hint != "" {
		// The decoder's own words stay, after the hint: they are exact
		// where the hint is a guess.
		return d.inputError(off, "not valid JSON: "+hint+" ("+raw+")")
	}
	return d.inputError(off, "not valid JSON: "+raw)
}

// syntaxHint names, in plain words, the mistake that broke the JSON at off
// (the offending byte), for the mistakes people make writing JSON by hand,
// which encoding/json describes only by the character it did not expect.
// It judges from the bytes around off and returns "" when they fit none of
// those mistakes: a wrong guess would mislead more than the bare message.
func (d *Document) syntaxHint(off int, inObject bool) string {
	src := d.source
	if off >= len(src) {
		return "" // the input ended: the scan says so in its own words
	}
	if hint := d.commentHint(off); hint != "" {
		return hint
	}
	prev := off - 1 // the last byte before off that is not white space
	for prev >= 0 && isSpace(src[prev]) {
		prev--
	}
	switch c := src[off]; {
	case c == '\'':
		// Outside a string, where the decoder stopped, a quote can only
		// be meant to open or close one.
		return "single quotes; JSON strings and keys take double quotes"
	case (c == '}' || c == ']') && prev >= 0 && src[prev] == ',':
		return "a comma before " + string(c) + "; JSON allows no trailing comma"
	case inObject && prev >= 0 && (src[prev] == '{' || src[prev] == ','):
		if key := d.bareKey(off); key != "" {
			return fmt.Sprintf("an unquoted key; JSON keys take double quotes: %q", key)
		}
	}
	// A missing comma and a missing colon both leave a value where the
	// decoder wanted a separator: only putting a comma there, and seeing
	// the decoder read on, tells which.
	endsValue := prev >= 0 && strings.IndexByte(`"}]0123456789el`, src[prev]) >= 0 // el: true, false, null
	startsValue := strings.IndexByte(`"{[-0123456789tfn`, src[off]) >= 0
	if endsValue && startsValue && d.readsPastWith(off, ",") {
		if inObject {
			return "a missing comma between two members of an object"
		}
		return "a missing comma between two elements of an array"
	}
	return ""
}

// commentHint says whether a comment starts at off. Comments are the one
// hint that also fits data after the end of the definition.
func (d *Document) commentHint(off int) string {
	rest := d.source[min(off, len(d.source)):]
	switch {
	case bytes.HasPrefix(rest, []byte("//")):
		return "a // comment; JSON has no comments"
	case bytes.HasPrefix(rest, []byte("/*")):
		return "a /* */ comment; JSON has no comments"
	}
	return ""
}

// bareKey returns the word starting at off when a colon follows it, as in
// {family: "web"} (JavaScript's way, which people carry over), or "".
func (d *Document) bareKey(off int) string {
	src := d.source
	end := off
	for end < len(src) && isWordByte(src[end], end == off) {
		end++
	}
	colon := end
	for colon < len(src) && isSpace(src[colon]) {
		colon++
	}
	if end == off || colon == len(src) || src[colon] != ':' {
		return ""
	}
	return string(src[off:end])
}

// readsPastWith reports whether encoding/json, given the source with ins
// inserted at off, reads past the byte that stopped it at off.
func (d *Document) readsPastWith(off int, ins string) bool {
	fixed := make([]byte, 0, len(d.source)+len(ins))
	fixed = append(append(append(fixed, d.source[:off]...), ins...), d.source[off:]...)
	var se *json.SyntaxError
	if err := json.Unmarshal(fixed, new(json.RawMessage)); !errors.As(err, &se) {
		return err == nil
	}
	return int(se.Offset)-1 > off+len(ins)
}

// isWordByte reports whether c can be part of a JavaScript-style bare key:
// a letter, _ or $, or a digit after the first byte.
func isWordByte(c byte, first bool) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || !first && c >= '0' && c <= '9'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

func (d *Document) inputError(off int, reason string) error {
	line, col := d.position(off)
	return &InputError{Line: line, Column: col, Reason: reason}
}

// position turns one byte offset into a 1-based line and column (in
// characters, counting a tab as one).
func (d *Document) position(off int) (line, col int) {
	p := Problem{offset: off + 1}
	d.locate([]*Problem{&p})
	return p.Line, p.Column
}

// locateAll gives every problem of the lists that has an offset its line
// and column.
func (d *Document) locateAll(lists ...[]Problem) {
	var ps []*Problem
	for _, list := range lists {
		for i := range list {
			if list[i].offset > 0 {
				ps = append(ps, &list[i])
			}
		}
	}
	d.locate(ps)
}

// locate turns the offsets of ps into lines and columns in one pass over
// the source, up to the last offset: taken in the order they stand, each
// position carries on counting from the one before. Counting each
// column from its line's start instead costs the length of the line per
// problem, which is quadratic for a minified file full of problems.
func (d *Document) locate(ps []*Problem) {
	slices.SortFunc(ps, func(a, b *Problem) int { return a.offset - b.offset })
	line, col, at := 1, 1, 0
	for _, p := range ps {
		off := min(p.offset-1, len(d.source))
		for at < off {
			r, size := utf8.DecodeRune(d.source[at:])
			at += size
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		// A value starts with an ASCII byte, which no UTF-8 sequence
		// contains, so the walk stops on it exactly; at > off only for an
		// offset inside a character, which no caller passes.
		p.Line, p.Column = line, col
	}
	d.locateWork += at
}

// at makes a problem for the value at ptr (a pointer into the definition,
// without the describe-output prefix), located in the source.
func (d *Document) at(ptr, rule, msg string) Problem {
	full := d.prefix + ptr
	p := Problem{Pointer: full, Rule: rule, Message: msg}
	d.index()
	off, ok := d.offsets[full]
	if !ok {
		off, ok = d.keyOffsets[full]
	}
	if ok {
		p.offset = off + 1
	}
	return p
}

// atKey is at for a problem with an object key itself (an unknown field).
func (d *Document) atKey(ptr, rule, msg string) Problem {
	full := d.prefix + ptr
	p := Problem{Pointer: full, Rule: rule, Message: msg}
	d.index()
	if off, ok := d.keyOffsets[full]; ok {
		p.offset = off + 1
	}
	return p
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "an object"
}
