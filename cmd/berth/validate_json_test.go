package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
