package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestValidateJSONReportsEveryFileForMachines checks the -o json report of
// a mixed run: a valid file, an invalid one and an
// unreadable one, and that the worst verdict decides the exit status.
func TestValidateJSONReportsEveryFileForMachines(t *testing.T) {
	files := []string{
		"../../examples/fargate-web.json",
		"../../examples/invalid/fargate-wrong-memory.json",
		"testdata/does-not-exist.json",
	}
	var out bytes.Buffer
	err := runValidate(nil, &out, files, validateOptions{output: "json"})
	code := exitOK
	var exit *exitError
	if errors.As(err, &exit) {
		code = exit.code
	}
	if code != exitUsage {
		t.Errorf("exit status %d, want %d: an unreadable file outweighs an invalid one", code, exitUsage)
	}
	var reports []fileReport
	if err := json.Unmarshal(out.Bytes(), &reports); err != nil {
		t.Fatalf("-o json printed something that is not JSON: %v\n%s", err, out.String())
	}
	if len(reports) != len(files) {
		t.Fatalf("%d reports for %d files", len(reports), len(files))
	}
	checkGolden(t, filepath.Join("testdata", "validate-json.golden"), fmt.Sprintf("%s# exit status %d\n", out.String(), code))
}

// TestValidateJSONGivesTheTextReportsReason checks that -o json carries, for
// a file that is not a task definition, the reason the text report prints:
// the same position and the same words, hint and all. Only the text's
// "cannot read" for a file that could not be read is the text's own.
func TestValidateJSONGivesTheTextReportsReason(t *testing.T) {
	tests := []struct {
		name, data string // data "" is no file at all
		textPrefix string // what the text report adds before the reason
		want       string
	}{
		{
			name: "trailing-comma.json", data: "{\n  \"family\": \"web\",\n}\n",
			want: "line 3, column 1: not valid JSON: a comma before }; JSON allows no trailing comma (invalid character '}' looking for beginning of object key string)",
		},
		{
			name: "missing-comma.json", data: "{\n  \"family\": \"web\"\n  \"cpu\": \"256\"\n}\n",
			want: "line 3, column 3: not valid JSON: a missing comma between two members of an object (invalid character '\"' after object key:value pair)",
		},
		{
			name: "comment.json", data: "{\n  \"family\": \"web\" // the web tier\n}\n",
			want: "line 2, column 19: not valid JSON: a // comment; JSON has no comments (invalid character '/' after object key:value pair)",
		},
		{
			name: "array.json", data: "[]\n",
			want: "line 1, column 1: a task definition is a JSON object, not an array",
		},
		{
			name: "missing.json", textPrefix: "cannot read: ",
			want: "no such file or directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tt.data != "" {
				if err := os.WriteFile(tt.name, []byte(tt.data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			text := runValidateArgs(t, nil, tt.name)
			if want := tt.name + ": " + tt.textPrefix + tt.want + "\n"; text.stdout != want {
				t.Errorf("text report %q, want %q", text.stdout, want)
			}
			run := runValidateArgs(t, []string{"-o", "json"}, tt.name)
			if run.code != exitUsage || text.code != exitUsage {
				t.Errorf("exit status %d (json), %d (text), want %d", run.code, text.code, exitUsage)
			}
			var reports []fileReport
			if err := json.Unmarshal([]byte(run.stdout), &reports); err != nil || len(reports) != 1 {
				t.Fatalf("-o json printed %q (%v), want one report", run.stdout, err)
			}
			if r := reports[0]; r.Error != tt.want || r.Valid {
				t.Errorf("json report error %q, valid %v; want %q, invalid", r.Error, r.Valid, tt.want)
			}
		})
	}
}
