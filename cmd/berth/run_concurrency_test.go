package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

// runsAtOnce starts n berth runs of args at the same moment and returns
// each one's output and exit code once it has either ended or started its
// task; the runs still going are then stopped with Ctrl-C and waited for.
type concurrentRun struct {
	cmd     *exec.Cmd
	watcher *lineWatcher
	started bool
	code    int
	done    chan struct{}
}

func (e *runEnv) runsAtOnce(n int, args ...string) []*concurrentRun {
	e.t.Helper()
	runs := make([]*concurrentRun, n)
	for i := range runs {
		r := &concurrentRun{cmd: e.command(args...), done: make(chan struct{})}
		r.watcher = e.start(r.cmd)
		runs[i] = r
	}
	e.t.Cleanup(func() {
		for _, r := range runs {
			r.cmd.Process.Signal(syscall.SIGINT)
		}
		for _, r := range runs {
			r.wait()
		}
	})
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.started = r.watcher.until("task RUNNING")
			if !r.started {
				r.wait()
			}
		}()
	}
	wg.Wait()
	return runs
}

func (r *concurrentRun) wait() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Wait()
	r.code = r.cmd.ProcessState.ExitCode()
	close(r.done)
}

// until reports whether a line containing text appears before berth ends.
func (w *lineWatcher) until(text string) bool {
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				return false
			}
			if strings.Contains(line, text) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

// Berth runs started at the same moment place their tasks on the one local
// instance in turn: two of them never both take the last of its memory. Of
// thirty runs each wanting just under half the engine's memory, at most two
// run; every other one is refused with RESOURCE:MEMORY. (Other tests'
// tasks on the engine can only leave less room, never more.)
func TestConcurrentRunsNeverOverCommitTheInstancesMemory(t *testing.T) {
	// Not parallel: it wants most of the engine's memory for itself.
	e := newRunEnv(t)
	info, err := testenv.Docker(t).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	half := int(info.MemTotal>>20)/2 - 64
	def := e.file("half.json", fmt.Sprintf(`{"family": "half", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest",
	  "memory": %d, "command": ["sleep", "600"]}]}`, half))
	runs := e.runsAtOnce(30, def)
	started := 0
	for _, r := range runs {
		switch {
		case r.started:
			started++
		case r.code != exitTaskFailedToStart || !strings.Contains(r.watcher.String(), "RESOURCE:MEMORY"):
			t.Errorf("a run that did not start: exit %d, want %d and RESOURCE:MEMORY:\n%s", r.code, exitTaskFailedToStart, r.watcher)
		}
	}
	if started > 2 {
		t.Errorf("%d tasks of %d MiB each started on an instance of %d MiB", started, half, info.MemTotal>>20)
	}
}

// Of thirty runs at once wanting one static host port, one gets it; the
// others are refused by placement with RESOURCE:PORTS, not by the engine
// with "address already in use".
func TestConcurrentRunsWantingOneStaticPortGetItOnce(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	def := e.file("port.json", fmt.Sprintf(`{"family": "port", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest",
	  "memory": 32, "command": ["sleep", "600"], "portMappings": [{"containerPort": 8080, "hostPort": %d}]}]}`, port))
	started := 0
	for _, r := range e.runsAtOnce(30, def) {
		switch {
		case r.started:
			started++
		case r.code != exitTaskFailedToStart || !strings.Contains(r.watcher.String(), "RESOURCE:PORTS"):
			t.Errorf("a run that did not start: exit %d, want %d and RESOURCE:PORTS:\n%s", r.code, exitTaskFailedToStart, r.watcher)
		}
	}
	if started != 1 {
		t.Errorf("%d tasks started with host port %d, want 1", started, port)
	}
}

// Thirty berth runs at once share one state store: each holds it only for
// the moments it reads or writes, so none fails to get it, whichever
// launch type.
func TestThirtyRunsAtOnceShareTheStateStore(t *testing.T) {
	definitions := map[string]string{
		// Small enough that thirty fit on the instance at once.
		"EC2": `{"family": "quick", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 16, "command": ["exit", "0"]}]}`,
		"FARGATE": `{"family": "quick", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
		  "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "command": ["exit", "0"]}]}`,
	}
	for _, launchType := range []string{"EC2", "FARGATE"} {
		t.Run(launchType, func(t *testing.T) {
			e := newRunEnv(t)
			def := e.file("quick.json", definitions[launchType])
			var wg sync.WaitGroup
			outs := make([]string, 30)
			codes := make([]int, 30)
			for i := range outs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					outs[i], codes[i] = e.run("-q", "--launch-type", launchType, def)
				}()
			}
			wg.Wait()
			for i, code := range codes {
				if code != 0 {
					t.Errorf("run %d of 30: exit %d:\n%s", i+1, code, outs[i])
				}
			}
		})
	}
}

// Thirty berth runs at once through a server, on a cluster without
// container instances: the server registers one instance of this machine's
// size between them (its check and its registration one step), not one
// each, and every run's task runs there; the file is registered once.
func TestThirtyRunsAtOnceThroughAServerRegisterOneInstance(t *testing.T) {
	e := newRunEnv(t)
	endpoint := e.startServer("--cleanup-wait", "1s")
	def := e.file("quick.json", `{"family": "quick", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 16, "command": ["exit", "0"]}]}`)
	var wg sync.WaitGroup
	outs := make([]string, 30)
	codes := make([]int, 30)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], codes[i] = e.run("-q", def)
		}()
	}
	wg.Wait()
	registered := 0
	for i, code := range codes {
		if code != 0 {
			t.Errorf("run %d of 30: exit %d:\n%s", i+1, code, outs[i])
		}
		if strings.Contains(outs[i], "had no container instance: registered") {
			registered++
		}
	}
	out, err := exec.Command(e.bin, "instance", "list", "--cluster", e.cluster, "--endpoint", endpoint, "-o", "json").Output()
	if err != nil {
		t.Fatalf("instance list: %v", err)
	}
	var instances []struct{ ContainerInstanceArn string }
	if err := json.Unmarshal(out, &instances); err != nil {
		t.Fatalf("instance list -o json: %v\n%s", err, out)
	}
	if len(instances) != 1 || registered != 1 {
		t.Errorf("%d instances registered, %d runs said they registered one: want 1 and 1\n%s", len(instances), registered, out)
	}
	for _, in := range instances {
		exec.Command(e.bin, "instance", "deregister", in.ContainerInstanceArn, "--force", "--cluster", e.cluster, "--endpoint", endpoint).Run()
	}
	// One file, one revision, however many runs registered it at once.
	out, err = exec.Command(e.bin, "taskdef", "list", "--family", "quick", "--endpoint", endpoint, "-o", "json").Output()
	if err != nil {
		t.Fatalf("taskdef list: %v", err)
	}
	var revisions struct{ TaskDefinitionArns []string }
	if err := json.Unmarshal(out, &revisions); err != nil || len(revisions.TaskDefinitionArns) != 1 {
		t.Errorf("revisions of the one file: %v (%v), want 1", revisions.TaskDefinitionArns, err)
	}
}

// The local instance registers the capabilities of berth's agent, as the
// ECS agent registers its own: a constraint on one berth has holds, one on
// what berth does not do (task IAM roles) places the task nowhere.
func TestTheLocalInstanceRegistersTheAgentsCapabilities(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	def := func(attribute string) string {
		return e.file(strings.ReplaceAll(attribute, ".", "-")+".json", `{"family": "capable", "placementConstraints": [{"type": "memberOf", "expression": "attribute:`+attribute+` exists"}],
		  "containerDefinitions": [{"name": "job", "image": "berth/demo:latest", "memory": 16, "command": ["exit", "0"]}]}`)
	}
	if out, code := e.run(def("ecs.capability.container-health-check")); code != 0 {
		t.Errorf("a capability berth has: exit %d:\n%s", code, out)
	}
	if out, code := e.run(def("com.amazonaws.ecs.capability.task-iam-role")); code != exitTaskFailedToStart || !strings.Contains(out, "ATTRIBUTE") {
		t.Errorf("a capability berth lacks: exit %d:\n%s", code, out)
	}
}
