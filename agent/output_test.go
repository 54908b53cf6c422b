package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/demo"
	"github.com/berthdev/berth/internal/testenv"
)

// capture is an OutputWriter that keeps what it is given.
type capture struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	err    error
	closes int
	done   chan struct{}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closes > 0 {
		return 0, errors.New("write after CloseWithError")
	}
	return c.buf.Write(p)
}

func (c *capture) CloseWithError(err error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closes++
	if c.closes == 1 {
		c.err = err
		close(c.done)
	}
	return nil
}

// outputs hands out a capture per container, as a task's Output.
type outputs struct {
	mu    sync.Mutex
	by    map[string]*capture
	asked map[string]bool
}

func newOutputs() *outputs { return &outputs{by: map[string]*capture{}, asked: map[string]bool{}} }

func (o *outputs) get(name string) *capture {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.by[name] == nil {
		o.by[name] = &capture{done: make(chan struct{})}
	}
	return o.by[name]
}

func (o *outputs) output(name string) agent.OutputWriter {
	c := o.get(name)
	o.mu.Lock()
	o.asked[name] = true
	o.mu.Unlock()
	return c
}

func (o *outputs) spec(s *agent.TaskSpec) { s.Output = o.output }

// wait waits for the container's writer to be closed and returns what it
// got and the error it was closed with.
func (o *outputs) wait(t *testing.T, name string) (string, error) {
	t.Helper()
	c := o.get(name)
	select {
	case <-c.done:
	case <-time.After(testTimeout):
		o.mu.Lock()
		asked := o.asked[name]
		o.mu.Unlock()
		t.Fatalf("the output writer of %s was never closed (the agent asked for it: %t)", name, asked)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closes != 1 {
		t.Errorf("the output writer of %s was closed %d times, want once", name, c.closes)
	}
	return c.buf.String(), c.err
}

// checkLines fails the test unless out is exactly `demo lines count`:
// every line once, in order, none missing.
func checkLines(t *testing.T, out string, count int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		lines = nil
	}
	if msg := demo.CompareLines(lines, count); msg != "" {
		t.Fatal(msg)
	}
}

// lineCount lines of 100 bytes are about ten times what the json-file
// logs of linesDef keep (two files of 1 MiB).
const lineCount = 300000

// linesDef prints lineCount numbered lines. It runs the demo from the
// binary under test, mounted into the image: the engine's berth/demo may
// be rebuilt at any moment by a berth built from another binary, which
// may not know the lines mode.
func linesDef(t *testing.T) string {
	return fmt.Sprintf(`{"family": "output-lines", "volumes": [{"name": "berth", "host": {"sourcePath": %q}}],
  "containerDefinitions": [{"name": "lines", "image": "berth/demo:latest", "memory": 64,
  "mountPoints": [{"sourceVolume": "berth", "containerPath": "/under-test/berth", "readOnly": true}],
  "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "1m", "max-file": "2"}},
  "entryPoint": ["/under-test/berth", "demo"], "command": ["lines", "%d"]}]}`, testenv.BerthBinary(t), lineCount)
}

// The engine rotates a container's stored logs; the output a task's
// Output receives does not pass through them: every line arrives once, in
// order, from the first.
func TestOutputHasEveryLineOnceInOrderWhateverTheLogsKeep(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.CleanupWait = time.Hour })
	out := newOutputs()
	arn := e.run(linesDef(t), out.spec)
	got, err := out.wait(t, "lines")
	if err != nil {
		t.Errorf("the output writer was closed with %v, want nil", err)
	}
	checkLines(t, got, lineCount)

	st := e.waitStatus(arn, agent.TaskStopped)
	for _, w := range st.Warnings {
		if strings.Contains(w, "may be incomplete") {
			t.Errorf("the task warns %q", w)
		}
	}
	// The engine's stored logs lost most of it: without the stream, the
	// lines could not all be there.
	if logged := strings.Count(e.logs(arn, "lines"), "\n"); logged >= lineCount {
		t.Errorf("the stored logs kept all %d lines: the test tests nothing", logged)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.agent.RemoveTask(ctx, arn); err != nil {
		t.Fatal(err)
	}
}

// A container the agent never starts (its dependency failed) gets its
// writer closed all the same, with nothing lost: a caller waiting for the
// end of every output is not left waiting.
func TestOutputOfAContainerThatNeverRanEndsWithTheTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := newOutputs()
	arn := e.run(`{"family": "output-never-ran", "containerDefinitions": [
	  {"name": "setup", "image": "berth/demo:latest", "memory": 32, "essential": false, "command": ["exit", "1"]},
	  {"name": "app", "image": "berth/demo:latest", "memory": 32, "command": ["echo", "never"],
	   "dependsOn": [{"containerName": "setup", "condition": "SUCCESS"}]}]}`, out.spec)
	e.waitStatus(arn, agent.TaskStopped)
	if got, err := out.wait(t, "app"); got != "" || err != nil {
		t.Errorf("app, which never ran, got %q and was closed with %v; want nothing and nil", got, err)
	}
	if got, err := out.wait(t, "setup"); !strings.Contains(got, "exiting with code 1") || err != nil {
		t.Errorf("setup's output is %q, closed with %v", got, err)
	}
	e.waitStatus(arn, agent.TaskDeleted)
}

// A TTY's output is not multiplexed: it arrives as the terminal wrote it.
func TestOutputOfAPseudoTerminalArrivesAsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := newOutputs()
	arn := e.run(`{"family": "output-tty", "containerDefinitions": [{"name": "tty", "image": "berth/demo:latest", "memory": 32,
	  "pseudoTerminal": true, "command": ["echo", "through", "a", "terminal"]}]}`, out.spec)
	got, err := out.wait(t, "tty")
	if got != "through a terminal\r\n" || err != nil {
		t.Errorf("got %q, closed with %v; want the line with a terminal's CRLF", got, err)
	}
	e.waitStatus(arn, agent.TaskDeleted)
}

// attachBreaker is the engine's client with the attach refused, or with
// the attached stream ending after its first read, as when the engine
// drops it while the container runs.
type attachBreaker struct {
	engine.Engine
	refuse bool
	used   atomic.Bool
}

func (b *attachBreaker) ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error) {
	b.used.Store(true)
	if b.refuse {
		return types.HijackedResponse{}, errors.New("attach refused by the test")
	}
	resp, err := b.Engine.ContainerAttach(ctx, id, opts)
	if err != nil {
		return resp, err
	}
	resp.Reader = bufio.NewReader(&endAfterFirstRead{r: resp.Reader})
	return resp, nil
}

type endAfterFirstRead struct {
	r    io.Reader
	read bool
}

func (e *endAfterFirstRead) Read(p []byte) (int, error) {
	if e.read {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	e.read = n > 0
	return n, err
}

// An attach the engine refuses or a stream it breaks does not fail the
// task: it runs on, and says that the container's output may be
// incomplete, in its warnings and to the output writer.
func TestABrokenAttachWarnsAndTheTaskRunsOn(t *testing.T) {
	t.Parallel()
	const sleeper = `{"family": "output-broken", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 32,
	  "command": ["sleep", "infinity"]}]}`
	tests := []struct {
		name        string
		refuse      bool
		wantWarning string
	}{
		{"a refused attach falls back to the logs", true, "output of app may be incomplete: attach: attach refused by the test; following its logs instead"},
		{"a stream that ends while the container runs", false, "output of app may be incomplete: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			breaker := &attachBreaker{refuse: tt.refuse}
			e := newEnv(t, func(c *agent.Config) {
				breaker.Engine = c.Docker
				c.Docker = breaker
			})
			out := newOutputs()
			arn := e.run(sleeper, out.spec)
			st := e.waitFor(arn, "a warning about the output", func(s agent.TaskState) bool {
				return s.LastStatus >= agent.TaskRunning && hasWarning(s, tt.wantWarning)
			})
			if !breaker.used.Load() {
				t.Fatal("the agent never attached: the test tests nothing")
			}
			if st.LastStatus != agent.TaskRunning {
				t.Fatalf("the task did not run on: %s", describe(st))
			}
			// The logs followed instead, or the stream before it broke,
			// carried what the container printed first.
			e.waitForOutput(arn, "app", "sleeping until stopped")
			e.stop(arn)
			got, err := out.wait(t, "app")
			var incomplete *agent.OutputIncompleteError
			if !errors.As(err, &incomplete) || incomplete.Container != "app" || !strings.HasPrefix(err.Error(), tt.wantWarning) {
				t.Errorf("the output writer was closed with %v, want an OutputIncompleteError %q", err, tt.wantWarning)
			}
			if !strings.Contains(got, "sleeping until stopped") {
				t.Errorf("the output writer got %q, without the container's first line", got)
			}
		})
	}
}

// Closing the agent ends the streams it copies (the writer is told the
// output may be incomplete); the task runs on, and the next agent resumes
// it without an Output.
func TestClosingTheAgentEndsTheOutputAndTheNextAgentResumesTheTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := newOutputs()
	arn := e.run(`{"family": "output-close", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 32,
	  "command": ["sleep", "infinity"]}]}`, out.spec)
	e.waitRunning(arn)
	e.agent.Close()
	_, err := out.wait(t, "app")
	if !errors.Is(err, agent.ErrClosed) {
		t.Errorf("the output writer was closed with %v, want one wrapping ErrClosed", err)
	}
	e.start()
	if st, ok := e.agent.Task(arn); !ok || st.LastStatus != agent.TaskRunning {
		t.Fatalf("the next agent did not resume the task: %s", describe(st))
	}
	e.stop(arn)
}

// failingWriter takes the first line, then fails, as a reader that has
// gone away does.
type failingWriter struct {
	capture
	failed atomic.Bool
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.failed.Swap(true) {
		return 0, errors.New("reader gone")
	}
	return f.capture.Write(p)
}

// A writer that fails does not hold the container up: the agent reads its
// output on to the end and tells the writer what it missed.
func TestAFailingOutputWriterDoesNotHoldTheContainerUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := &failingWriter{capture: capture{done: make(chan struct{})}}
	arn := e.run(linesDef(t), func(s *agent.TaskSpec) {
		s.Output = func(string) agent.OutputWriter { return w }
	})
	st := e.waitStatus(arn, agent.TaskStopped)
	if c := ctrOf(t, st, "lines"); exitCode(c) != "0" {
		t.Errorf("the container did not print to its end: %s", describe(st))
	}
	select {
	case <-w.done:
	case <-time.After(testTimeout):
		t.Fatal("the output writer was never closed")
	}
	w.mu.Lock()
	err := w.err
	w.mu.Unlock()
	if !strings.Contains(fmt.Sprint(err), "output of lines may be incomplete: write: reader gone") {
		t.Errorf("the writer was closed with %v, want the write's failure", err)
	}
	e.waitStatus(arn, agent.TaskDeleted)
}
