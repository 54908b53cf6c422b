package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/taskdef"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testTimeout bounds every wait of the integration tests; it is a guard
// against a hang, not a measure of speed.
const testTimeout = 2 * time.Minute

// env is one test's agent on the real engine, with everything it makes
// labelled for the test so the test can check that nothing is left.
type env struct {
	t      *testing.T
	api    client.APIClient
	agent  *agent.Agent
	cfg    agent.Config
	label  string // key=value on everything of the test
	events *recorder
}

// newEnv starts an agent of its own cluster for the test. Its cleanup
// stops the agent and fails the test if any container, network, volume or
// task cgroup of the test is left on the engine.
func newEnv(t *testing.T, configure ...func(*agent.Config)) *env {
	t.Helper()
	api := testenv.Docker(t)
	bin := testenv.EnsureImages(t)
	key, value := testenv.Label(t, api) // removes leftovers last, whatever happens
	cfg := agent.Config{
		Docker:      api,
		Cluster:     value,
		BinaryPath:  bin,
		CleanupWait: time.Millisecond,
		TaskNetwork: "berth-test-" + value,
		SparePause:  true,
		Labels:      map[string]string{key: value},
		Logf:        t.Logf,
	}
	for _, f := range configure {
		f(&cfg)
	}
	e := &env{t: t, api: api, cfg: cfg, label: key + "=" + value}
	e.start()
	t.Cleanup(func() {
		e.agent.Close()
		e.assertNothingLeft()
	})
	return e
}

// start starts (or restarts) the env's agent.
func (e *env) start() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	e.events = newRecorder()
	a, err := agent.New(ctx, e.cfg)
	if err != nil {
		e.t.Fatalf("start the agent: %v", err)
	}
	e.agent = a
	e.events.follow(a)
}

// run starts a task of the definition and returns its ARN.
func (e *env) run(def string, edit ...func(*agent.TaskSpec)) string {
	e.t.Helper()
	spec := agent.TaskSpec{Task: load(e.t, def)}
	for _, f := range edit {
		f(&spec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	st, err := e.agent.StartTask(ctx, spec)
	if err != nil {
		e.t.Fatalf("start task: %v", err)
	}
	return st.ARN
}

// waitStatus waits for the task to reach status and returns it as it was.
func (e *env) waitStatus(arn string, status agent.TaskStatus) agent.TaskState {
	e.t.Helper()
	return e.waitFor(arn, "lastStatus "+status.String(), func(s agent.TaskState) bool { return s.LastStatus >= status })
}

// waitRunning waits for the task to be RUNNING and fails the test if it
// stopped instead.
func (e *env) waitRunning(arn string) agent.TaskState {
	e.t.Helper()
	st := e.waitStatus(arn, agent.TaskRunning)
	if st.LastStatus != agent.TaskRunning {
		e.t.Fatalf("task did not run: %s", describe(st))
	}
	return st
}

// waitFor waits for the first state of the task that satisfies ok.
func (e *env) waitFor(arn, what string, ok func(agent.TaskState) bool) agent.TaskState {
	e.t.Helper()
	st, found := e.events.wait(arn, ok, testTimeout)
	if !found {
		last, _ := e.events.last(arn)
		e.t.Fatalf("task never reached %s; last state: %s", what, describe(last))
	}
	return st
}

// stop stops the task and waits until it is cleaned up.
func (e *env) stop(arn string) agent.TaskState {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.agent.StopTask(ctx, arn, "", ""); err != nil {
		e.t.Fatalf("stop task: %v", err)
	}
	st := e.waitStatus(arn, agent.TaskStopped)
	e.waitStatus(arn, agent.TaskDeleted)
	return st
}

// logs returns what a container of the task printed so far.
func (e *env) logs(arn, name string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rc, err := e.agent.Logs(ctx, arn, name, false)
	if err != nil {
		e.t.Fatalf("logs of %s: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		e.t.Fatalf("read logs of %s: %v", name, err)
	}
	return string(b)
}

// waitForOutput follows a container's output until a line contains text.
func (e *env) waitForOutput(arn, name, text string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	rc, err := e.agent.Logs(ctx, arn, name, true)
	if err != nil {
		e.t.Fatalf("logs of %s: %v", name, err)
	}
	defer rc.Close()
	lines := bufio.NewScanner(rc)
	for lines.Scan() {
		if strings.Contains(lines.Text(), text) {
			return
		}
	}
	e.t.Fatalf("%s never printed %q (%v)", name, text, lines.Err())
}

// assertNothingLeft fails the test if anything of it is on the engine.
func (e *env) assertNothingLeft() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	args := filters.NewArgs(filters.Arg("label", e.label))
	cs, err := e.api.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		e.t.Fatalf("list containers: %v", err)
	}
	for _, c := range cs {
		e.t.Errorf("container %s (%s) was left behind", c.Names, c.State)
	}
	ns, err := e.api.NetworkList(ctx, network.ListOptions{Filters: args})
	if err != nil {
		e.t.Fatalf("list networks: %v", err)
	}
	for _, n := range ns {
		e.t.Errorf("network %s was left behind", n.Name)
	}
	vs, err := e.api.VolumeList(ctx, volume.ListOptions{Filters: args})
	if err != nil {
		e.t.Fatalf("list volumes: %v", err)
	}
	for _, v := range vs.Volumes {
		if v.Labels["berth.scope"] == "task" {
			e.t.Errorf("volume %s was left behind", v.Name)
		}
	}
	if len(cs) > 0 {
		// A task cgroup cannot go while the containers in it run.
		if err := testenv.RemoveLabelled(ctx, e.api, e.label); err != nil {
			e.t.Errorf("remove what the test left: %v", err)
		}
	}
	for _, arn := range e.events.arns() {
		id := arn[strings.LastIndex(arn, "/")+1:]
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "ecs", id))
		for _, d := range dirs {
			e.t.Errorf("cgroup %s was left behind", d)
			removeCgroupDir(e.t, d)
		}
	}
}

// removeCgroupDir removes a cgroup directory left on the host, its child
// cgroups first, so that a failed test does not leave it to the next.
func removeCgroupDir(t *testing.T, dir string) {
	t.Helper()
	children, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, c := range children {
		if fi, err := os.Stat(c); err == nil && fi.IsDir() {
			removeCgroupDir(t, c)
		}
	}
	if err := os.Remove(dir); err != nil {
		t.Logf("remove cgroup %s: %v", dir, err)
	}
}

func load(t testing.TB, def string) *taskdef.Normalized {
	t.Helper()
	task, report, err := taskdef.Load([]byte(def), taskdef.Options{})
	if err != nil {
		t.Fatalf("load task definition: %v", err)
	}
	if task == nil {
		t.Fatalf("task definition is invalid: %+v", report.Errors)
	}
	return task
}

func describe(s agent.TaskState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s desired %s stopCode %q reason %q;", s.LastStatus, s.DesiredStatus, s.StopCode, s.StoppedReason)
	for _, c := range s.Containers {
		code := "-"
		if c.ExitCode != nil {
			code = fmt.Sprint(*c.ExitCode)
		}
		fmt.Fprintf(&b, " %s=%s(exit %s, health %s, reason %q)", c.Name, c.LastStatus, code, c.HealthStatus, c.Reason)
	}
	return b.String()
}

// recorder keeps every state change of an agent, so a test can wait for a
// state that may already have passed.
type recorder struct {
	mu      sync.Mutex
	changes []agent.StateChange
	cond    *sync.Cond
}

func newRecorder() *recorder {
	r := &recorder{}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) follow(a *agent.Agent) {
	ch, _ := a.Subscribe(64)
	go func() {
		for c := range ch {
			r.mu.Lock()
			r.changes = append(r.changes, c)
			r.cond.Broadcast()
			r.mu.Unlock()
		}
	}()
}

func (r *recorder) wait(arn string, ok func(agent.TaskState) bool, limit time.Duration) (agent.TaskState, bool) {
	// The deadline comes before the timer that wakes the wait for it, so
	// that the timer never fires before the deadline has passed (and
	// leaves the wait asleep for good).
	deadline := time.Now().Add(limit)
	timer := time.AfterFunc(limit, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	defer timer.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := 0
	for {
		for ; seen < len(r.changes); seen++ {
			if s := r.changes[seen].Task; s.ARN == arn && ok(s) {
				return s, true
			}
		}
		if !time.Now().Before(deadline) {
			return agent.TaskState{}, false
		}
		r.cond.Wait()
	}
}

func (r *recorder) last(arn string) (agent.TaskState, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.changes) - 1; i >= 0; i-- {
		if r.changes[i].Task.ARN == arn {
			return r.changes[i].Task, true
		}
	}
	return agent.TaskState{}, false
}

func (r *recorder) arns() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, c := range r.changes {
		if !seen[c.Task.ARN] {
			seen[c.Task.ARN] = true
			out = append(out, c.Task.ARN)
		}
	}
	return out
}

func forceRemove(e *env, id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}
