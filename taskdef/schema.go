package taskdef

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// SchemaJSON is berth's JSON Schema (draft 2020-12) for task definitions.
// Editors can use taskdef/schema.json for completion; `berth schema`
// prints this copy.
//
//go:embed schema.json
var SchemaJSON []byte

const schemaURL = "https://berth.dev/schemas/task-definition.json"

// compiledSchema compiles the embedded schema once per process.
var compiledSchema = sync.OnceValues(compileSchema)

func compileSchema() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		return nil, fmt.Errorf("taskdef: embedded schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("taskdef: embedded schema: %w", err)
	}
	return c.Compile(schemaURL)
}

// PrepareSchema compiles the schema in the background, so that the first
// Load of a process, which otherwise compiles it (10 to 20 ms), finds it
// compiled, or compiling, and waits only for the rest: a command that
// validates one definition calls it first thing and reads its file
// meanwhile.
func PrepareSchema() {
	go compiledSchema()
}

var printer = message.NewPrinter(language.English)

// schemaProblems validates the document against the schema and turns each
// leaf error into a Problem. Unknown fields are left to unknownFields, which
// can suggest the field that was meant.
func (d *Document) schemaProblems() []Problem {
	sch, err := compiledSchema()
	if err != nil {
		panic(err) // the embedded schema is part of the build; tests compile it
	}
	err = sch.Validate(d.root)
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []Problem{d.at("", "schema", err.Error())}
	}
	var out []Problem
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		if _, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
			return
		}
		ptr := ""
		for _, tok := range e.InstanceLocation {
			ptr += "/" + escapePointer(tok)
		}
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			// A missing field that an unknown one was taken for is said once,
			// by the did-you-mean.
			req.Missing = slices.DeleteFunc(slices.Clone(req.Missing), func(name string) bool { return d.suggested[ptr+"/"+escapePointer(name)] })
			if len(req.Missing) == 0 {
				return
			}
		}
		p := d.at(ptr, schemaRule(e.ErrorKind), schemaMessage(ptr, e.ErrorKind))
		if key := p.Pointer + p.Message; !seen[key] {
			seen[key] = true
			out = append(out, p)
		}
	}
	walk(verr)
	return out
}

func schemaRule(k jsonschema.ErrorKind) string {
	path := k.KeywordPath()
	if len(path) == 0 {
		return "schema"
	}
	return "schema-" + strings.ToLower(path[len(path)-1])
}

// schemaMessage words a schema error for a person: ECS's own message where
// it has one, else the schema library's, prefixed with the field's name.
func schemaMessage(ptr string, k jsonschema.ErrorKind) string {
	field := fieldName(ptr)
	switch k := k.(type) {
	case *kind.MaxItems:
		if ptr == "/containerDefinitions" {
			return "Too many containers."
		}
	case *kind.Pattern:
		switch field {
		case "family", "name":
			if strings.Contains(ptr, "/portMappings/") {
				return fmt.Sprintf("port mapping name %s must be up to 64 lowercase letters, digits, '_' and '-', not starting with '-'", quoteValue(k.Got))
			}
			return fmt.Sprintf("%s %s must be 1-255 letters (uppercase and lowercase), numbers, underscores and hyphens", field, quoteValue(k.Got))
		}
	case *kind.Required:
		return fmt.Sprintf("missing required field %s", quoteList(k.Missing))
	}
	return field + ": " + withoutDigitGroups(k.LocalizedString(printer))
}

// withoutDigitGroups removes the commas the schema library's printer puts
// in numbers ("65,535"), which read as lists in a field's message.
func withoutDigitGroups(s string) string {
	for {
		t := thousands.ReplaceAllString(s, "$1$2")
		if t == s {
			return s
		}
		s = t
	}
}

var thousands = regexp.MustCompile(`(\d),(\d{3})\b`)

// fieldName is the last named (non-index) token of a pointer.
func fieldName(ptr string) string {
	toks := strings.Split(ptr, "/")
	for i := len(toks) - 1; i > 0; i-- {
		if t := toks[i]; t != "" && (t[0] < '0' || t[0] > '9') {
			return t
		}
	}
	return "task definition"
}

func quoteValue(s string) string { return fmt.Sprintf("%q", s) }

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
