package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/console"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/taskdef"
)

// A warning the agent records while it runs the task reaches the user,
// once, quiet or not: here, a pull that failed (the registry on
// localhost:1 does not exist) and fell back to the cached image.
func TestRunPrintsTheWarningsTheAgentRecords(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	api := testenv.Docker(t)
	var b [4]byte
	rand.Read(b[:])
	ref := "localhost:1/berth-run-test/cached-" + hex.EncodeToString(b[:]) + ":latest"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := api.ImageTag(ctx, images.DemoRef, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Force: should berth/demo have been rebuilt meanwhile, this tag is
		// the last name of an image other tests' containers may still use;
		// only the tag goes.
		if _, err := api.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true}); err != nil {
			t.Errorf("untag %s: %v", ref, err)
		}
	})
	path := e.file("cached.json", `{"family": "cached", "containerDefinitions": [{"name": "job", "image": "`+ref+`", "memory": 64,
	  "command": ["exit", "0"]}]}`)
	warning := "warning: pull of " + ref + " failed, using the cached image"
	tests := []struct {
		name string
		args []string
	}{
		{"with the changes of state", []string{path}},
		{"quiet", []string{"-q", path}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, code := e.run(tt.args...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			if n := strings.Count(out, warning); n != 1 {
				t.Errorf("the warning is printed %d times, want once:\n%s", n, out)
			}
		})
	}
}

// The definition's own warnings, printed with their pointer and rule before
// the task starts, are not printed again when the task's state carries
// them; the agent's are printed once, when they first appear.
func TestWarningLinesAreTheAgentsOwnOnce(t *testing.T) {
	definition := taskdef.Problem{Pointer: "/taskRoleArn", Message: "berth does not assume IAM roles: containers get no task role credentials.", Rule: "approximated-task-role"}
	first := agent.TaskState{LastStatus: agent.TaskPending, Warnings: []string{definition.Message}}
	pulled := first
	pulled.Warnings = []string{definition.Message, "pull of app:1 failed, using the cached image: refused"}
	running := pulled
	running.LastStatus = agent.TaskRunning
	var buf bytes.Buffer
	out := console.NewPrinter(&buf, []string{"berth"}, false)
	lines := stateLines{}
	for _, st := range []agent.TaskState{first, pulled, running} {
		lines.printWarnings(out, st, []taskdef.Problem{definition})
	}
	want := "berth | warning: pull of app:1 failed, using the cached image: refused\n"
	if got := buf.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
}
