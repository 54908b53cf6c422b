package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every mistake in berth run's own arguments is refused before the engine
// is asked anything or any state is written, with exit status 2 and a
// message naming the flag and its rule. testdata/run-usage-NAME.golden holds the command line, what
// berth prints on standard error and the exit status.
func TestRunRefusesBadArgumentsNamingTheFlag(t *testing.T) {
	// The definition would run: only the flags are wrong.
	const def = "../../examples/one-shot-job.json"
	stateDir := t.TempDir()
	t.Setenv("BERTH_STATE_DIR", stateDir)
	tests := []struct {
		name string
		args []string
	}{
		{"no-definition", nil},
		{"two-definitions", []string{def, def}},
		{"unknown-flag", []string{"--cpu", "2", def}},
		{"launch-type", []string{"--launch-type", "EXTERNAL", def}},
		{"env-without-equals", []string{"--env", "MODE", def}},
		{"env-without-name", []string{"--env", "=debug", def}},
		{"pull", []string{"--pull", "never", def}},
		{"host-ip", []string{"--host-ip", "localhost", def}},
		{"host-ip-not-on-this-machine", []string{"--host-ip", "192.0.2.1", def}}, // TEST-NET-1: assigned to no one
		{"cluster-slash", []string{"--cluster", "team/dev", def}},
		{"cluster-empty", []string{"--cluster", "", def}},
		{"cluster-too-long", []string{"--cluster", strings.Repeat("c", 256), def}},
		{"attribute-without-equals", []string{"--attribute", "gpu", def}},
		{"attribute-name", []string{"--attribute", "instance type=m5.large", def}},
		{"attribute-value", []string{"--attribute", "zones=us-east-1a,us-east-1b", def}},
		{"attribute-value-space", []string{"--attribute", "stack=prod ", def}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newRootCommand()
			var stdout, stderr bytes.Buffer
			root.SetOut(&stdout)
			root.SetErr(&stderr)
			root.SetArgs(append([]string{"run"}, tt.args...))
			err := root.Execute()
			if err == nil {
				t.Fatalf("berth run %q succeeded", tt.args)
			}
			// As main reports it.
			code, msg := exitUsage, err.Error()
			var exit *exitError
			if errors.As(err, &exit) {
				code = exit.code
			}
			if code != exitUsage {
				t.Errorf("exit status %d, want %d (usage)", code, exitUsage)
			}
			if stdout.Len() > 0 {
				t.Errorf("berth run printed on standard output before refusing its arguments:\n%s", stdout.String())
			}
			cmdline := strings.Join(append([]string{"$ berth run"}, quoteArgs(tt.args)...), " ")
			got := fmt.Sprintf("%s\nberth: %s\nexit status %d\n", cmdline, msg, code)
			if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
				t.Errorf("a refused call wrote state: %v", entries)
			}
			checkGolden(t, filepath.Join("testdata", "run-usage-"+tt.name+".golden"), got)
		})
	}
}

// quoteArgs quotes the arguments a shell would split or drop.
func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " ,") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}
