package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/berthdev/berth/demo"
)

// linesCount lines of 100 bytes are about ten times what the json-file
// logs of linesDef keep (two files of 1 MiB).
const linesCount = 300000

// linesDef prints linesCount numbered lines. It runs the demo from the
// binary under test, mounted into the image: the engine's berth/demo may
// be rebuilt at any moment by a berth built from another binary, which
// may not know the lines mode.
func linesDef(bin string) string {
	return fmt.Sprintf(`{"family": "lines", "volumes": [{"name": "berth", "host": {"sourcePath": %q}}],
  "containerDefinitions": [{"name": "lines", "image": "berth/demo:latest", "memory": 64,
  "mountPoints": [{"sourceVolume": "berth", "containerPath": "/under-test/berth", "readOnly": true}],
  "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "1m", "max-file": "2"}},
  "entryPoint": ["/under-test/berth", "demo"], "command": ["lines", "%d"]}]}`, bin, linesCount)
}

// berth run -q prints a container's output whole, each line once and in
// order, though the engine rotates the container's logs many times over
// while it prints.
func TestRunPrintsEveryLineOfALargeOutputOnceInOrder(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	cmd := e.command("-q", e.file("lines.json", linesDef(e.bin)))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("berth run: %v", err)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d, want 0; stderr:\n%s\nstdout:\n%.3000s", code, stderr.String(), stdout)
	}
	var printed, other []string
	for _, line := range strings.Split(strings.TrimSuffix(string(stdout), "\n"), "\n") {
		if text, ok := strings.CutPrefix(line, "lines | "); ok {
			printed = append(printed, text)
		} else {
			other = append(other, line)
		}
	}
	if len(other) != 1 || !strings.Contains(other[0], "stopped: Essential container in task exited") {
		t.Errorf("besides the container's output, -q printed %d lines, want only why the task stopped: %.500q", len(other), other)
	}
	if msg := demo.CompareLines(printed, linesCount); msg != "" {
		t.Error(msg)
	}
}
