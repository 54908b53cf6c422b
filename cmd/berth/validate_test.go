package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of the validate tests from the current output")

// The negative corpus lives with the package whose rules it exercises.
// Tests run berth validate from that directory, so the file names in the
// output are the short, stable testdata/invalid/NAME.json.
const taskdefDir = "../../taskdef"

// A case NAME.json may have a sidecar NAME.args holding the flags berth
// validate needs for it, on one line (for example "--launch-type FARGATE"
// for a definition that is only invalid under Fargate).
//
// NAME.golden holds the command line, the exact standard output and the
// exit status:
//
//	$ berth validate --launch-type FARGATE testdata/invalid/NAME.json
//	testdata/invalid/NAME.json:3:3: /networkMode: ... (fargate-network-mode)
//	testdata/invalid/NAME.json: invalid: 1 error
//	exit status 1

// validateRun is one run of berth validate: its flags, file, output and
// exit status.
type validateRun struct {
	args   []string
	file   string
	stdout string
	code   int
}

func (r validateRun) transcript() string {
	cmdline := append([]string{"$ berth validate"}, r.args...)
	cmdline = append(cmdline, r.file)
	return fmt.Sprintf("%s\n%sexit status %d\n", strings.Join(cmdline, " "), r.stdout, r.code)
}

// runValidateArgs parses args as berth validate's flags, then calls
// runValidate on file with empty standard input.
func runValidateArgs(t *testing.T, args []string, file string) validateRun {
	t.Helper()
	cmd := newValidateCommand()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("flags %q: %v", args, err)
	}
	var opts validateOptions
	var err error
	if opts.launchType, err = cmd.Flags().GetString("launch-type"); err != nil {
		t.Fatal(err)
	}
	if opts.output, err = cmd.Flags().GetString("output"); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	err = runValidate(strings.NewReader(""), &stdout, []string{file}, opts)
	return validateRun{args: args, file: file, stdout: stdout.String(), code: exitCode(t, err)}
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return exitOK
	}
	var exit *exitError
	if !errors.As(err, &exit) {
		t.Fatalf("runValidate returned %v (%T), not an exit status", err, err)
	}
	return exit.code
}

// sidecarArgs reads the flags for case NAME.json from NAME.args, if any.
func sidecarArgs(t *testing.T, jsonFile string) []string {
	t.Helper()
	data, err := os.ReadFile(strings.TrimSuffix(jsonFile, ".json") + ".args")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

// checkGolden compares got with the golden file, or rewrites it under
// -update.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/berth -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended)\n--- want\n%s--- got\n%s", golden, want, got)
	}
}

// casesIn lists the NAME.json files of a corpus directory, relative to the
// current directory, and fails on sidecars and goldens without a case.
func casesIn(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	names := map[string]bool{}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			files = append(files, filepath.Join(dir, e.Name()))
			names[name] = true
		}
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if (ext == ".args" || ext == ".golden") && !names[strings.TrimSuffix(e.Name(), ext)] {
			t.Errorf("%s/%s has no %s.json beside it", dir, e.Name(), strings.TrimSuffix(e.Name(), ext))
		}
	}
	if len(files) == 0 {
		t.Fatalf("no cases in %s", dir)
	}
	return files
}

// problemRule matches the rule name at the end of a problem line.
var problemRule = regexp.MustCompile(`^\S+:\d+:\d+: \S+: .* \(([a-z0-9-]+)\)$|^\S+: /\S*: .* \(([a-z0-9-]+)\)$`)

// errorRules returns the rule names of the error lines of one validate
// output (warnings and notes are not errors).
func errorRules(stdout string) []string {
	var rules []string
	for line := range strings.Lines(stdout) {
		line = strings.TrimSuffix(line, "\n")
		if strings.Contains(line, ": warning: ") || strings.Contains(line, ": note: ") {
			continue
		}
		if m := problemRule.FindStringSubmatch(line); m != nil {
			rules = append(rules, m[1]+m[2])
		}
	}
	return rules
}

// definedRules finds the names of taskdef's rules in its source: the
// string literal given as the rule of every c.fail(ptr, "rule", ...) call.
func definedRules(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "fail" {
				return true
			}
			lit, ok := call.Args[1].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: a fail call whose rule is not a string literal; the rule coverage check cannot see it", fset.Position(call.Pos()))
				return true
			}
			rule, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			seen[rule] = true
			return true
		})
	}
	rules := make([]string, 0, len(seen))
	for r := range seen {
		rules = append(rules, r)
	}
	slices.Sort(rules)
	if len(rules) < 10 {
		t.Fatalf("found only %d rules in %s; has the way rules report changed?", len(rules), dir)
	}
	return rules
}

// schemaRules are the kinds of schema error the corpus must show, beside
// every rule of taskdef.
var schemaRules = []string{
	"unknown-field",
	"schema-required",
	"schema-type",
	"schema-enum",
	"schema-pattern",
	"schema-minimum",
	"schema-maximum",
	"schema-maxitems",
	"integer-type",
	"integer-range",
}

func TestValidateGolden(t *testing.T) {
	rules := definedRules(t, taskdefDir)
	t.Chdir(taskdefDir)
	covered := map[string][]string{}
	for _, file := range casesIn(t, filepath.Join("testdata", "invalid")) {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			run := runValidateArgs(t, sidecarArgs(t, file), file)
			if run.code != exitInvalid {
				t.Errorf("exit status %d, want %d (invalid):\n%s", run.code, exitInvalid, run.stdout)
			}
			found := errorRules(run.stdout)
			if len(found) == 0 {
				t.Errorf("no problem line names a rule:\n%s", run.stdout)
			}
			for _, r := range found {
				covered[r] = append(covered[r], name)
			}
			checkGolden(t, strings.TrimSuffix(file, ".json")+".golden", run.transcript())
		})
	}
	t.Run("every rule has a negative case", func(t *testing.T) {
		for _, r := range append(rules, schemaRules...) {
			if len(covered[r]) == 0 {
				t.Errorf("rule %s fails no definition in testdata/invalid: add a NAME.json that breaks it", r)
			}
		}
	})
}

// TestValidateValidTwins checks the corrected twins of negative cases pass.
func TestValidateValidTwins(t *testing.T) {
	t.Chdir(taskdefDir)
	for _, file := range casesIn(t, filepath.Join("testdata", "valid")) {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			run := runValidateArgs(t, sidecarArgs(t, file), file)
			if run.code != exitOK {
				t.Errorf("exit status %d, want %d (valid):\n%s", run.code, exitOK, run.stdout)
			}
		})
	}
}

// TestValidateUnreadable feeds berth validate input that is not a task
// definition at all. Each must end with exit status 2 and a message naming
// the file and, for broken JSON, the line and column where reading stopped,
// then, for the mistakes people make writing JSON by hand, what the mistake
// is in plain words.
func TestValidateUnreadable(t *testing.T) {
	goldenDir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) func(t *testing.T) string {
		return func(t *testing.T) string {
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
			return name
		}
	}
	tests := []struct {
		name string
		// setup creates the input in the current (temporary) directory and
		// returns the argument to pass.
		setup func(t *testing.T) string
		// at is the "line L, column C" the message must name, when the
		// input is located.
		at string
		// cannotRead is set when the file itself cannot be read, and the
		// message must say so; otherwise it was read and is not JSON or
		// not a task definition, and the message must not.
		cannotRead bool
		// hint is the plain-words name of the mistake the message must
		// give, before encoding/json's own words.
		hint string
	}{
		{name: "binary", setup: write("binary.json", []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\xff\xfe")), at: "line 1, column 1"},
		{name: "empty", setup: write("empty.json", nil), at: "line 1, column 1"},
		{name: "only-whitespace", setup: write("blank.json", []byte("\n\n   \n")), at: "line 4, column 1"},
		{name: "too-large", setup: func(t *testing.T) string {
			f, err := os.Create("huge.json")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// 50 MB: an object whose padding never ends. berth must refuse
			// it by size, without reading it all.
			if _, err := f.WriteString(`{"family": "huge", "padding": "`); err != nil {
				t.Fatal(err)
			}
			chunk := bytes.Repeat([]byte("x"), 1<<20)
			for range 50 {
				if _, err := f.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.WriteString("\"}\n"); err != nil {
				t.Fatal(err)
			}
			return "huge.json"
		}, cannotRead: true},
		{name: "deeply-nested", setup: write("nested.json", bytes.Repeat([]byte("["), 100000)), at: "line 1, column 65"},
		{name: "deeply-nested-inside-a-definition", setup: write("nested-field.json", []byte(`{"family": "deep", "containerDefinitions": `+strings.Repeat(`[`, 100000))), at: "line 1, column 107"},
		{name: "directory", setup: func(t *testing.T) string {
			if err := os.Mkdir("task.json", 0o755); err != nil {
				t.Fatal(err)
			}
			return "task.json"
		}, cannotRead: true},
		{name: "missing-file", setup: func(t *testing.T) string { return "missing.json" }, cannotRead: true},
		{name: "empty-standard-input", setup: func(t *testing.T) string { return "-" }, at: "line 1, column 1"},
		{name: "trailing-object", setup: write("two-objects.json", []byte("{\n  \"family\": \"a\",\n  \"containerDefinitions\": []\n}\n{\"family\": \"b\"}\n")), at: "line 5, column 1"},
		{name: "trailing-garbage", setup: write("trailing-garbage.json", []byte("{\n  \"family\": \"a\",\n  \"containerDefinitions\": []\n} EOF\n")), at: "line 4, column 3"},
		{name: "array", setup: write("array.json", []byte("[\n  {\"family\": \"a\", \"containerDefinitions\": []}\n]\n")), at: "line 1, column 1"},
		{name: "string", setup: write("string.json", []byte("\"family\"\n")), at: "line 1, column 1"},
		{name: "null", setup: write("null.json", []byte("null\n")), at: "line 1, column 1"},
		{name: "missing-comma", setup: write("missing-comma.json", []byte("{\n  \"family\": \"web\",\n  \"containerDefinitions\": [\n    {\"name\": \"web\" \"image\": \"nginx\"}\n  ]\n}\n")), at: "line 4, column 20", hint: "a missing comma between two members of an object"},
		{name: "trailing-comma", setup: write("trailing-comma.json", []byte("{\n  \"family\": \"web\",\n  \"containerDefinitions\": [\n    {\"name\": \"web\", \"image\": \"nginx\",}\n  ]\n}\n")), at: "line 4, column 38", hint: "a comma before }; JSON allows no trailing comma"},
		{name: "unquoted-key", setup: write("unquoted-key.json", []byte("{\n  family: \"web\"\n}\n")), at: "line 2, column 3", hint: `an unquoted key; JSON keys take double quotes: "family"`},
		{name: "single-quotes", setup: write("single-quotes.json", []byte("{\n  \"family\": 'web'\n}\n")), at: "line 2, column 13", hint: "single quotes; JSON strings and keys take double quotes"},
		{name: "comment", setup: write("comment.json", []byte("{\n  // the web tier\n  \"family\": \"web\"\n}\n")), at: "line 2, column 3", hint: "a // comment; JSON has no comments"},
		{name: "trailing-comma-in-array", setup: write("trailing-comma-in-array.json", []byte("{\n  \"family\": \"web\",\n  \"containerDefinitions\": [\n    {\"name\": \"web\", \"image\": \"nginx\"},\n  ]\n}\n")), at: "line 5, column 3", hint: "a comma before ]; JSON allows no trailing comma"},
		{name: "missing-comma-at-end-of-line", setup: write("missing-comma-at-end-of-line.json", []byte("{\n  \"family\": \"web\"\n  \"containerDefinitions\": []\n}\n")), at: "line 3, column 3", hint: "a missing comma between two members of an object"},
		{name: "missing-comma-in-array", setup: write("missing-comma-in-array.json", []byte("{\n  \"family\": \"web\",\n  \"containerDefinitions\": [\n    {\"name\": \"web\", \"image\": \"nginx\", \"command\": [\"sleep\" \"60\"]}\n  ]\n}\n")), at: "line 4, column 59", hint: "a missing comma between two elements of an array"},
		{name: "single-quoted-key", setup: write("single-quoted-key.json", []byte("{\n  'family': \"web\"\n}\n")), at: "line 2, column 3", hint: "single quotes; JSON strings and keys take double quotes"},
		{name: "block-comment", setup: write("block-comment.json", []byte("{\n  \"family\": \"web\", /* the web tier */\n  \"containerDefinitions\": []\n}\n")), at: "line 2, column 20", hint: "a /* */ comment; JSON has no comments"},
		{name: "comment-after-the-end", setup: write("comment-after-the-end.json", []byte("{\n  \"family\": \"web\",\n  \"containerDefinitions\": []\n}\n// the web tier\n")), at: "line 5, column 1", hint: "a // comment; JSON has no comments"},
		// A missing colon leaves a value where a separator belongs too,
		// but is no missing comma: no hint is better than a wrong one.
		{name: "missing-colon", setup: write("missing-colon.json", []byte("{\n  \"family\" \"web\"\n}\n")), at: "line 2, column 12"},
		{name: "truncated", setup: write("truncated.json", []byte("{\n  \"family\": \"web\",\n  \"containerDefinitions\": [\n    {\"name\": \"web\"")), at: "line 4, column 19"},
		{name: "bad-literal", setup: write("bad-literal.json", []byte("{\n  \"family\": \"web\",\n  \"enableFaultInjection\": tru\n}\n")), at: "line 3, column 30"},
		{name: "bad-number", setup: write("bad-number.json", []byte("{\n  \"family\": \"web\",\n  \"containerDefinitions\": [{\"name\": \"web\", \"image\": \"nginx\", \"memory\": 12x}]\n}\n")), at: "line 3, column 74"},
		{name: "bad-escape", setup: write("bad-escape.json", []byte("{\n  \"family\": \"web\\q\"\n}\n")), at: "line 2, column 18"},
		{name: "tab-in-string", setup: write("tab-in-string.json", []byte("{\n  \"family\": \"web\tapp\"\n}\n")), at: "line 2, column 17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			file := tt.setup(t)
			run := runValidateArgs(t, nil, file)
			if run.code != exitUsage {
				t.Errorf("exit status %d, want %d (unreadable)", run.code, exitUsage)
			}
			prefix := file + ": "
			switch {
			case tt.cannotRead:
				prefix += "cannot read: "
			case tt.at != "":
				// Where reading stopped comes first, right after the file.
				prefix += tt.at + ": "
			}
			if !strings.HasPrefix(run.stdout, prefix) || strings.Count(run.stdout, "\n") != 1 {
				t.Errorf("output %q is not one line starting %q", run.stdout, prefix)
			}
			if !tt.cannotRead && strings.Contains(run.stdout, "cannot read") {
				t.Errorf("output %q says the file cannot be read, but it was read", run.stdout)
			}
			if tt.hint != "" && !strings.Contains(run.stdout, ": "+tt.hint) {
				t.Errorf("output %q does not name the mistake: %s", run.stdout, tt.hint)
			}
			checkGolden(t, filepath.Join(goldenDir, "unreadable-"+tt.name+".golden"), run.transcript())
		})
	}
}

// TestValidateUsage covers calls that are wrong whatever the file says.
func TestValidateUsage(t *testing.T) {
	tests := []struct {
		name string
		opts validateOptions
		want string
	}{
		{name: "an unknown launch type is refused", opts: validateOptions{launchType: "fargate", output: "text"}, want: `--launch-type must be EC2 or FARGATE, not "fargate"`},
		{name: "an unknown output format is refused", opts: validateOptions{output: "yaml"}, want: `--output must be text or json, not "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout bytes.Buffer
			err := runValidate(strings.NewReader(""), &stdout, []string{"task.json"}, tt.opts)
			var exit *exitError
			if !errors.As(err, &exit) || exit.code != exitUsage || exit.msg != tt.want {
				t.Errorf("runValidate = %v, want exit status %d with %q", err, exitUsage, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("wrote %q before refusing the call", stdout.String())
			}
		})
	}
}
