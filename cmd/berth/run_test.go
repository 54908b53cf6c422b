package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/internal/testenv"
)

// runEnv runs the berth binary as a person would, in a cluster of its own
// and with a state directory of its own, and checks when the test ends
// that nothing of the cluster is left on the engine.
type runEnv struct {
	t        *testing.T
	bin      string
	cluster  string
	stateDir string
	dir      string
}

func newRunEnv(t *testing.T) *runEnv {
	t.Helper()
	bin := testenv.EnsureImages(t)
	api := testenv.Docker(t)
	var b [4]byte
	rand.Read(b[:])
	e := &runEnv{t: t, bin: bin, cluster: "run-test-" + hex.EncodeToString(b[:]), stateDir: t.TempDir(), dir: t.TempDir()}
	label := "com.amazonaws.ecs.cluster=" + e.cluster
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		f := filters.NewArgs(filters.Arg("label", label))
		left, _ := api.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
		nets, _ := api.NetworkList(ctx, network.ListOptions{Filters: f})
		vols, _ := api.VolumeList(ctx, volume.ListOptions{Filters: f})
		if n := len(left) + len(nets) + len(vols.Volumes); n > 0 && !t.Failed() {
			t.Errorf("berth run left %d containers, %d networks and %d volumes on the engine", len(left), len(nets), len(vols.Volumes))
		}
		if err := testenv.RemoveLabelled(ctx, api, label); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
	return e
}

// file writes a task definition into the test's directory.
func (e *runEnv) file(name, def string) string {
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(def), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return path
}

func (e *runEnv) command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.bin, append([]string{"run", "--cluster", e.cluster}, args...)...)
	cmd.Env = append(os.Environ(), "BERTH_STATE_DIR="+e.stateDir)
	return cmd
}

// start starts berth and follows its output, standard error included.
func (e *runEnv) start(cmd *exec.Cmd) *lineWatcher {
	e.t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	return watch(stdout)
}

// run runs berth to the end and returns its output and exit code.
func (e *runEnv) run(args ...string) (string, int) {
	e.t.Helper()
	cmd := e.command(args...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		e.t.Fatalf("berth run: %v", err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// lineWatcher collects a running berth's output and tells when a line
// containing some text has appeared.
type lineWatcher struct {
	mu    sync.Mutex
	out   bytes.Buffer
	lines chan string
}

func watch(r io.Reader) *lineWatcher {
	w := &lineWatcher{lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			w.mu.Lock()
			w.out.WriteString(sc.Text() + "\n")
			w.mu.Unlock()
			w.lines <- sc.Text()
		}
		close(w.lines)
	}()
	return w
}

func (w *lineWatcher) waitFor(t *testing.T, text string) {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-w.lines:
			if !ok {
				t.Fatalf("berth ended before printing %q:\n%s", text, w.String())
			}
			if strings.Contains(line, text) {
				return
			}
		case <-timeout:
			t.Fatalf("no line with %q:\n%s", text, w.String())
		}
	}
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

const jobDef = `{"family": "job", "containerDefinitions": [{"name": "job", "image": "berth/demo:latest", "memory": 64,
  "command": ["exit", "3"]}]}`

func TestRunExitsWithTheEssentialContainersExitCode(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	out, code := e.run(e.file("job.json", jobDef))
	if code != 3 {
		t.Fatalf("exit code %d, want 3:\n%s", code, out)
	}
	for _, want := range []string{"(job:1, EC2) started as", "job   | demo: exiting with code 3", "job STOPPED, exit code 3", "task STOPPED", "Essential container in task exited (EssentialContainerExited)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// -q keeps the containers' output and why the task stopped, nothing else.
	out, code = e.run("-q", e.file("job.json", jobDef))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 3 || len(lines) != 2 || !strings.Contains(lines[0], "job   | demo: exiting with code 3") ||
		!strings.Contains(lines[1], "stopped: Essential container in task exited (EssentialContainerExited)") {
		t.Errorf("-q: exit %d, want 3 and two lines:\n%s", code, out)
	}
}

func TestRunRegistersTheFileSoFamilyAndRevisionRunItAgain(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	path := e.file("job.json", jobDef)
	if out, code := e.run(path); code != 3 || !strings.Contains(out, "(job:1, EC2)") {
		t.Fatalf("first run: exit %d:\n%s", code, out)
	}
	if out, code := e.run(path); code != 3 || !strings.Contains(out, "(job:1, EC2)") {
		t.Fatalf("an unchanged file registered a new revision: exit %d:\n%s", code, out)
	}
	if out, code := e.run("job:1"); code != 3 || !strings.Contains(out, "(job:1, EC2)") {
		t.Fatalf("job:1: exit %d:\n%s", code, out)
	}
	if out, code := e.run("job"); code != 3 {
		t.Fatalf("job (latest): exit %d:\n%s", code, out)
	}
	out, code := e.run("nosuch:2")
	if code != exitUsage || !strings.Contains(out, "nosuch:2 is neither a file nor a registered task definition") {
		t.Fatalf("unknown family: exit %d:\n%s", code, out)
	}
	// A definition piped in is registered like a file.
	piped := e.command("-")
	piped.Stdin = strings.NewReader(strings.Replace(jobDef, `"family": "job"`, `"family": "piped"`, 1))
	if out, _ := piped.CombinedOutput(); piped.ProcessState.ExitCode() != 3 || !strings.Contains(string(out), "(piped:1, EC2)") {
		t.Fatalf("berth run - : exit %d:\n%s", piped.ProcessState.ExitCode(), out)
	}
	out, code = e.run("job:7")
	if code != exitUsage || !strings.Contains(out, "job:7 is neither a file nor a registered task definition; the ACTIVE revisions of job are 1") {
		t.Fatalf("unknown revision: exit %d:\n%s", code, out)
	}

	// A changed file is a new revision, and its containers say so.
	e.file("job.json", strings.Replace(jobDef, `"exit", "3"`, `"exit", "4"`, 1))
	if out, code := e.run("--keep", path); code != 4 || !strings.Contains(out, "(job:2, EC2)") {
		t.Fatalf("changed file: exit %d:\n%s", code, out)
	}
	api := testenv.Docker(t)
	byCluster := filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+e.cluster))
	kept, err := api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: byCluster})
	if err != nil || len(kept) != 1 {
		t.Fatalf("want the kept container, found %d (%v)", len(kept), err)
	}
	if v := kept[0].Labels["com.amazonaws.ecs.task-definition-version"]; v != "2" || !strings.HasPrefix(kept[0].Names[0], "/ecs-job-2-job-") {
		t.Errorf("container %s has task-definition-version %q, want revision 2", kept[0].Names[0], v)
	}
	testenv.RemoveLabelled(context.Background(), api, "com.amazonaws.ecs.cluster="+e.cluster)
}

func TestRunRefusesAnInvalidDefinitionBeforeRunningAnything(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	path := e.file("bad.json", `{"family": "bad", "containerDefinitions": [{"name": "a", "image": "berth/demo:latest"}]}`)
	out, code := e.run(path)
	if code != exitInvalid || !strings.Contains(out, "At least one of 'memory' or 'memoryReservation' must be specified. (container-memory-required)") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, code = e.run("--launch-type", "FARGATE", e.file("job.json", jobDef))
	if code != exitInvalid || !strings.Contains(out, "Fargate requires that 'cpu' be defined at the task level.") {
		t.Fatalf("run as Fargate: exit %d:\n%s", code, out)
	}
}

func TestRunPassesEnvironmentToEveryContainer(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	path := e.file("env.json", `{"family": "env", "containerDefinitions": [{"name": "env", "image": "berth/demo:latest", "memory": 64,
	  "environment": [{"name": "FROM_DEFINITION", "value": "yes"}, {"name": "MODE", "value": "production"}], "command": ["env"]}]}`)
	out, code := e.run("--env", "GREETING=hello world", "--env", "MODE=debug", path)
	if code != 0 || !strings.Contains(out, "GREETING=hello world") || !strings.Contains(out, "FROM_DEFINITION=yes") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "MODE=debug") || strings.Contains(out, "MODE=production") {
		t.Errorf("--env did not win over the definition's own MODE, as a RunTask override does:\n%s", out)
	}
	if out, code := e.run("--env", "NOEQUALS", path); code != exitUsage || !strings.Contains(out, `--env "NOEQUALS": want NAME=VALUE`) {
		t.Fatalf("bad --env: exit %d:\n%s", code, out)
	}
}

func TestCtrlCStopsTheTaskAsStopTaskDoes(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	cmd := e.command(e.file("web.json", `{"family": "web", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest",
	  "memory": 64, "stopTimeout": 10, "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`))
	w := e.start(cmd)
	// The demo program is PID 1: until it has set up its handler, the
	// kernel drops SIGTERM, as it would for any container's first process.
	w.waitFor(t, "demo: serving on")
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("berth run: %v\n%s", err, w.String())
	}
	for _, want := range []string{"stopping the task", "web   | demo: received SIGTERM", "Task stopped by user (UserInitiated)"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, w.String())
		}
	}
}

func TestASecondCtrlCKillsTheTask(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	cmd := e.command(e.file("stubborn.json", `{"family": "stubborn", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest",
	  "memory": 64, "stopTimeout": 600, "command": ["sleep", "600", "--ignore-sigterm"]}]}`))
	w := e.start(cmd)
	w.waitFor(t, "demo: sleeping")
	cmd.Process.Signal(syscall.SIGINT)
	w.waitFor(t, "task STOPPING")
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 137 {
		t.Fatalf("exit code %d, want 137 (SIGKILL):\n%s", code, w.String())
	}
	if !strings.Contains(w.String(), "killing the task") {
		t.Errorf("output lacks the kill:\n%s", w.String())
	}
}

func TestKeepLeavesTheStoppedTaskOnTheEngine(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	out, code := e.run("--keep", e.file("job.json", jobDef))
	if code != 3 || !strings.Contains(out, "--keep: the task's containers, networks and volumes stay on the engine") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	api := testenv.Docker(t)
	byCluster := filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+e.cluster))
	left, err := api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: byCluster})
	if err != nil || len(left) != 1 {
		t.Fatalf("want the job's container kept, found %d (%v)", len(left), err)
	}
	// The next berth run removes what dead runs left, but a kept task
	// only once its cleanup wait has passed.
	if out, code := e.run(e.file("job2.json", strings.Replace(jobDef, `"family": "job"`, `"family": "job2"`, 1))); code != 3 {
		t.Fatalf("second run: exit %d:\n%s", code, out)
	}
	if left, _ := api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: byCluster}); len(left) != 1 {
		t.Errorf("the next run removed the kept task: %d containers left", len(left))
	}
	testenv.RemoveLabelled(context.Background(), api, "com.amazonaws.ecs.cluster="+e.cluster)
}

func TestMain(m *testing.M) { testenv.Main(m) }

// A berth run that dies without stopping its task (killed, or its machine
// restarted under it) leaves the task running; the next berth run finds it
// and removes it, so nothing outlives what the user asked for. The killed
// run's task still holds its static host port (a live run's task keeps a
// second task on that port from being placed); the next run removes it
// before placing its own task, which then gets the port.
func TestTheNextRunRemovesWhatAKilledRunLeft(t *testing.T) {
	// Not parallel: every berth run removes what dead runs left, and the
	// count this test checks is of its own orphan only.
	e := newRunEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	mapping := fmt.Sprintf(`"portMappings": [{"containerPort": 8080, "hostPort": %d}]`, port)
	cmd := e.command(e.file("sleeper.json", `{"family": "sleeper", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest",
	  "memory": 64, "command": ["sleep", "600"], `+mapping+`}]}`))
	w := e.start(cmd)
	w.waitFor(t, "task RUNNING")
	job := e.file("job.json", `{"family": "job", "containerDefinitions": [{"name": "job", "image": "berth/demo:latest", "memory": 64,
	  "command": ["exit", "3"], `+mapping+`}]}`)
	if out, code := e.run(job); code != exitTaskFailedToStart || !strings.Contains(out, "RESOURCE:PORTS") {
		t.Errorf("a task wanting the port a live run's task holds: exit %d:\n%s", code, out)
	}
	cmd.Process.Kill()
	cmd.Wait()

	api := testenv.Docker(t)
	byCluster := filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+e.cluster))
	left, err := api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: byCluster})
	if err != nil || len(left) != 1 {
		t.Fatalf("the killed run should have left its container behind, found %d (%v)", len(left), err)
	}
	out, code := e.run(job)
	if code != 3 || !strings.Contains(out, "removed 1 task left by berth run processes that ended without stopping them") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if left, _ := api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: byCluster}); len(left) != 0 {
		t.Errorf("%d containers of the killed run are still on the engine", len(left))
	}
}

func TestRunPlacesTheTaskOnTheLocalInstanceByItsAttributes(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	path := e.file("placed.json", `{"family": "placed", "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
	  "containerDefinitions": [{"name": "job", "image": "berth/demo:latest", "memory": 64, "command": ["exit", "0"]}]}`)
	out, code := e.run(path)
	if code != exitTaskFailedToStart || !strings.Contains(out, "the task could not be placed: ATTRIBUTE: The closest matching (container-instance") {
		t.Fatalf("an unmet constraint: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "started as") {
		t.Errorf("a task that could not be placed was started:\n%s", out)
	}
	if out, code := e.run("--attribute", "ecs.instance-type=t3.micro", path); code != 0 {
		t.Fatalf("with the attribute set: exit %d:\n%s", code, out)
	}
	out, code = e.run(e.file("huge.json", `{"family": "huge", "containerDefinitions": [{"name": "job", "image": "berth/demo:latest", "memory": 100000000, "command": ["exit", "0"]}]}`))
	if code != exitTaskFailedToStart || !strings.Contains(out, "RESOURCE:MEMORY") {
		t.Fatalf("more memory than the engine has: exit %d:\n%s", code, out)
	}
}

// The engine is one container instance for every berth run: an EC2 task
// that wants most of its memory leaves no room for a second one, whichever
// run started the first, while a Fargate task, on capacity of its own, is
// placed all the same.
func TestRunCountsTheMemoryOfTheEnginesOtherEC2Tasks(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	info, err := testenv.Docker(t).Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	most := int(info.MemTotal>>20) * 6 / 10
	big := func(name, command string) string {
		return e.file(name+".json", fmt.Sprintf(`{"family": %q, "containerDefinitions": [{"name": "app", "image": "berth/demo:latest",
		  "memory": %d, "command": %s}]}`, name, most, command))
	}

	first := e.command(big("first", `["sleep", "600"]`))
	w := e.start(first)
	w.waitFor(t, "task RUNNING")

	out, code := e.run(big("second", `["exit", "0"]`))
	if code != exitTaskFailedToStart || !strings.Contains(out, "RESOURCE:MEMORY") || !strings.Contains(out, "has insufficient memory available") {
		t.Errorf("a second EC2 task wanting most of the memory: exit %d:\n%s", code, out)
	}

	// The Fargate size nearest below that memory, with 4 vCPU (8-30 GiB).
	if gib := most / 1024; gib >= 8 && gib <= 30 {
		fargate := e.file("fargate.json", fmt.Sprintf(`{"family": "fargate", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
		  "cpu": "4096", "memory": "%d", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "command": ["exit", "0"]}]}`, gib*1024))
		if out, code := e.run("--launch-type", "FARGATE", fargate); code != 0 {
			t.Errorf("a Fargate task of that size: exit %d:\n%s", code, out)
		}
	} else {
		t.Logf("no Fargate size with 4 vCPU holds %d MiB: the Fargate half is left out", most)
	}

	first.Process.Signal(syscall.SIGINT)
	if err := first.Wait(); err != nil {
		t.Errorf("the first run: %v\n%s", err, w.String())
	}
}
