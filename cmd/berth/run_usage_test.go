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
			stdout, msg, code := executeRoot(append([]string{"run"}, tt.args...))
			if code == exitOK {
				t.Fatalf("berth run %q succeeded", tt.args)
			}
			if code != exitUsage {
				t.Errorf("exit status %d, want %d (usage)", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("berth run printed on standard output before refusing its arguments:\n%s", stdout)
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

// executeRoot runs berth with args in this process and returns what it
// printed on standard output, and the message and exit status main would
// give.
func executeRoot(args []string) (stdout, msg string, code int) {
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return out.String(), "", exitOK
	}
	code, msg = exitUsage, err.Error()
	var exit *exitError
	if errors.As(err, &exit) {
		code = exit.code
	}
	return out.String(), msg, code
}

func TestCompletionRefusesAShellItHasNone(t *testing.T) {
	for _, args := range [][]string{{"completion", "tcsh"}, {"completion"}} {
		stdout, msg, code := executeRoot(args)
		got := fmt.Sprintf("$ berth %s\nberth: %s\nexit status %d\n", strings.Join(args, " "), msg, code)
		if stdout != "" {
			t.Errorf("berth %s printed %q on standard output", strings.Join(args, " "), stdout)
		}
		checkGolden(t, filepath.Join("testdata", "usage-"+strings.Join(args, "-")+".golden"), got)
	}
}
