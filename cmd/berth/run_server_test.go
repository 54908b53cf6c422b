package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/internal/testenv"
)

// serverFor starts a berth server holding the run environment's state
// directory, as berth server would run beside berth run, and returns its
// URL. When the test ends, the server's stopped tasks are cleaned up (its
// cleanup wait is a second) before it is stopped.
func (e *runEnv) serverFor(t *testing.T) string {
	t.Helper()
	srv := exec.Command(e.bin, "server", "--listen", "127.0.0.1:0", "--state", e.stateDir, "--cleanup-wait", "1s")
	w := e.start(srv)
	w.waitFor(t, "listening on http://")
	line := w.String()
	endpoint := strings.Fields(line[strings.Index(line, "http://"):])[0]
	t.Cleanup(func() {
		waitContainersGone(t, testenv.Docker(t), "com.amazonaws.ecs.cluster="+e.cluster)
		srv.Process.Signal(syscall.SIGTERM)
		e.ended(srv, w)
	})
	return endpoint
}

// serverTasks is the cluster's tasks of a desired status, as the server
// describes them.
func (e *runEnv) serverTasks(t *testing.T, endpoint, status string) []api.Task {
	t.Helper()
	c := client.New(endpoint, "")
	ctx := context.Background()
	list, err := c.ListTasks(ctx, &api.ListTasksInput{Cluster: e.cluster, DesiredStatus: status})
	var ecs *api.Error
	if errors.As(err, &ecs) && ecs.Type == api.TypeClusterNotFound {
		return nil
	}
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	if len(list.TaskArns) == 0 {
		return nil
	}
	res, err := c.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: e.cluster, Tasks: list.TaskArns})
	if err != nil {
		t.Fatalf("DescribeTasks: %v", err)
	}
	return res.Tasks
}

// With a server holding the state directory, berth run runs the task
// there: the cluster gets an instance of this machine's size, the task is
// the server's (ListTasks, aws ecs describe-tasks), and berth run prints
// its state lines and ends with its essential container's exit code as it
// does on its own. The same file runs the same revision again.
func TestRunGoesThroughTheServerHoldingTheStateDirectory(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	endpoint := e.serverFor(t)
	path := e.file("job.json", jobDef)
	out, code := e.run(path)
	if code != 3 {
		t.Fatalf("exit code %d, want 3:\n%s", code, out)
	}
	for _, want := range []string{
		"berth: created cluster " + e.cluster + " on the berth server at " + endpoint,
		"berth: cluster " + e.cluster + " had no container instance: registered ",
		"(job:1, EC2) started as arn:aws:ecs:us-east-1:000000000000:task/" + e.cluster + "/",
		"of the berth server at " + endpoint,
		"job   | demo: exiting with code 3",
		"job STOPPED, exit code 3", "task STOPPED",
		"Essential container in task exited (EssentialContainerExited)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	tasks := e.serverTasks(t, endpoint, "STOPPED")
	if len(tasks) != 1 || tasks[0].StartedBy != runStartedBy || tasks[0].LaunchType != "EC2" {
		t.Fatalf("the server's stopped tasks: %+v", tasks)
	}
	if id := lastSegment(tasks[0].TaskArn); !strings.Contains(out, "task "+id+" stopped") {
		t.Errorf("berth run followed another task than the server's %s:\n%s", id, out)
	}
	// The aws CLI sees it as any ECS task.
	stdout, stderr, err := testenv.AWSCLI(t, endpoint, "ecs", "describe-tasks", "--cluster", e.cluster, "--tasks", tasks[0].TaskArn)
	if err != nil {
		t.Fatalf("aws ecs describe-tasks: %v\n%s", err, stderr)
	}
	var described api.DescribeTasksOutput
	if err := json.Unmarshal([]byte(stdout), &described); err != nil || len(described.Tasks) != 1 {
		t.Fatalf("aws ecs describe-tasks: %v\n%s", err, stdout)
	}
	if got := described.Tasks[0]; got.LastStatus != "STOPPED" || got.StopCode != "EssentialContainerExited" || *got.Containers[0].ExitCode != 3 {
		t.Errorf("aws ecs describe-tasks: %s, %s, exit code %d", got.LastStatus, got.StopCode, *got.Containers[0].ExitCode)
	}

	// The unchanged file is the same revision; the cluster keeps its
	// instance.
	out, code = e.run(path)
	if code != 3 || !strings.Contains(out, "(job:1, EC2)") || strings.Contains(out, "had no container instance") {
		t.Errorf("second run: exit %d:\n%s", code, out)
	}
	if out, code := e.run("job:1"); code != 3 || !strings.Contains(out, "(job:1, EC2)") {
		t.Errorf("job:1: exit %d:\n%s", code, out)
	}
	if out, code := e.run("nosuch"); code != exitUsage || !strings.Contains(out, "nosuch is neither a file nor a task definition registered with the berth server at "+endpoint) {
		t.Errorf("an unknown family: exit %d:\n%s", code, out)
	}
	if tasks := e.serverTasks(t, endpoint, "STOPPED"); len(tasks) != 3 {
		t.Errorf("the server has %d stopped tasks, want the 3 runs'", len(tasks))
	}
	// Tab completes the families and clusters of the server berth run
	// goes through.
	for _, args := range [][]string{{"run", "j"}, {"run", "--cluster", "run-test-"}} {
		complete := exec.Command(e.bin, append([]string{"__complete"}, args...)...)
		complete.Env = append(os.Environ(), "BERTH_STATE_DIR="+e.stateDir)
		got, err := complete.Output()
		if want := map[string]string{"j": "job\n", "run-test-": e.cluster + "\n"}[args[len(args)-1]]; err != nil || !strings.HasPrefix(string(got), want) {
			t.Errorf("completing berth %s: %q (%v), want %q first", strings.Join(args, " "), got, err, want)
		}
	}
}

// Ctrl-C stops a task berth run started through a server as StopTask
// does: the container gets its SIGTERM, the server records the task
// stopped by the user, and berth run ends as it does on its own, with the
// container's exit code.
func TestCtrlCStopsTheServersTaskAsStopTaskDoes(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	endpoint := e.serverFor(t)
	cmd := e.command(e.file("web.json", `{"family": "web", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest",
	  "memory": 64, "stopTimeout": 10, "command": ["serve"], "portMappings": [{"containerPort": 8080}]}]}`))
	w := e.start(cmd)
	// The demo program is PID 1: until it has set up its handler, the
	// kernel drops SIGTERM.
	w.waitFor(t, "web   | demo: serving on")
	cmd.Process.Signal(syscall.SIGINT)
	e.ended(cmd, w)
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d, want the web container's 0:\n%s", code, w)
	}
	for _, want := range []string{"(bindIP 127.0.0.", ", containerPort 8080, protocol tcp)", "stopping the task (Ctrl-C again to kill it)",
		"web   | demo: received SIGTERM", "stopped: Task stopped by user (UserInitiated)"} {
		if !strings.Contains(w.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, w)
		}
	}
	tasks := e.serverTasks(t, endpoint, "STOPPED")
	if len(tasks) != 1 || tasks[0].StopCode != "UserInitiated" || tasks[0].StoppedReason != "Task stopped by user" {
		t.Fatalf("the server's stopped tasks: %+v", tasks)
	}
}

// A second Ctrl-C kills a task that ignores SIGTERM, as it does when berth
// run runs the task on its own: exit status 137.
func TestASecondCtrlCKillsTheServersTask(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	e.serverFor(t)
	// The demo runs from the binary under test, mounted into the image,
	// as linesDef's does: the engine's berth/demo may be rebuilt at any
	// moment by a berth built from another binary.
	cmd := e.command(e.file("stubborn.json", fmt.Sprintf(`{"family": "stubborn", "volumes": [{"name": "berth", "host": {"sourcePath": %q}}],
	  "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 64, "stopTimeout": 600,
	  "mountPoints": [{"sourceVolume": "berth", "containerPath": "/under-test/berth", "readOnly": true}],
	  "entryPoint": ["/under-test/berth", "demo"], "command": ["sleep", "600", "--ignore-sigterm"]}]}`, e.bin)))
	w := e.start(cmd)
	// Until the demo has set up its handler, a SIGTERM ends it (Go's
	// runtime exits with status 2).
	w.waitFor(t, "app   | demo: sleeping")
	cmd.Process.Signal(syscall.SIGINT)
	w.waitFor(t, "task STOPPING")
	cmd.Process.Signal(syscall.SIGINT)
	e.ended(cmd, w)
	if code := cmd.ProcessState.ExitCode(); code != 137 || !strings.Contains(w.String(), "killing the task") {
		t.Fatalf("exit code %d, want 137 (SIGKILL) after killing the task:\n%s", code, w)
	}
}

// berth run --no-server runs the task on its own while a server holds the
// state directory: the server never sees it, and the run keeps its state
// in a store of its own inside the state directory.
func TestNoServerRunsAloneBesideAServer(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	endpoint := e.serverFor(t)
	out, code := e.run("--no-server", e.file("job.json", jobDef))
	if code != 3 || !strings.Contains(out, "(job:1, EC2) started as") || strings.Contains(out, "berth server at "+endpoint+"\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if want := "berth: --no-server: the berth server at " + endpoint; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	if _, err := os.Stat(filepath.Join(e.stateDir, noServerDir, "state.db")); err != nil {
		t.Errorf("the run kept no state of its own: %v", err)
	}
	if tasks := e.serverTasks(t, endpoint, "STOPPED"); len(tasks) != 0 {
		t.Errorf("the server has the --no-server run's task: %+v", tasks)
	}
}

// A server named with --endpoint must answer. --host-ip chooses the
// instance of that host address; --pull, which the server decides, is
// refused, saying what to do.
func TestRunThroughAServerRefusesWhatItCannotHonour(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	path := e.file("job.json", jobDef)
	out, code := e.run("--endpoint", "http://127.0.0.1:1", path)
	if code != exitTaskFailedToStart || !strings.Contains(out, "no berth server answers at http://127.0.0.1:1") {
		t.Errorf("an endpoint nothing answers at: exit %d:\n%s", code, out)
	}
	endpoint := e.serverFor(t)
	// The cluster's one instance, which the first run registers, has a
	// host address of its own; 127.0.0.1 is never one.
	out, code = e.run("--host-ip", "127.0.0.1", path)
	if code != exitTaskFailedToStart || !strings.Contains(out, "not placed: ATTRIBUTE") || !strings.Contains(out, "berth instance list --cluster "+e.cluster+" shows their host addresses") {
		t.Errorf("--host-ip 127.0.0.1: exit %d:\n%s", code, out)
	}
	address := regexp.MustCompile(`registered [0-9a-f]{32} at (127\.0\.\d+\.\d+)`).FindStringSubmatch(out)
	if address == nil {
		t.Fatalf("the instance's host address is not said:\n%s", out)
	}
	if out, code = e.run("--host-ip", address[1], path); code != 3 || !strings.Contains(out, "job STOPPED, exit code 3") {
		t.Errorf("--host-ip %s, the instance's: exit %d:\n%s", address[1], code, out)
	}
	out, code = e.run("--pull", "always", path)
	if code != exitUsage || !strings.Contains(out, "--pull: the berth server at "+endpoint) {
		t.Errorf("--pull: exit %d:\n%s", code, out)
	}
}

// timestamps matches the time --timestamps begins berth's lines with.
var timestamps = regexp.MustCompile(`^berth \| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z `)

// --timestamps begins every line of berth's own with the time, and leaves
// the containers' output as it is, whether berth run runs the task on its
// own or through a server. The golden files hold berth's lines with the
// times, task and instance IDs, cluster and server address taken out.
func TestTimestampsBeginBerthsLines(t *testing.T) {
	t.Parallel()
	for _, through := range []string{"", "server"} {
		t.Run("through "+orDash(through), func(t *testing.T) {
			t.Parallel()
			e := newRunEnv(t)
			golden := "run-timestamps.golden"
			if through == "server" {
				endpoint := e.serverFor(t)
				golden = "run-timestamps-server.golden"
				checkTimestamps(t, e, golden, endpoint)
				return
			}
			checkTimestamps(t, e, golden, "")
		})
	}
}

func checkTimestamps(t *testing.T, e *runEnv, golden, endpoint string) {
	out, code := e.run("--timestamps", e.file("job.json", jobDef))
	if code != 3 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	// The container's output comes as it comes, among the state lines:
	// it is checked apart from them.
	var got []string
	printed := 0
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case line == "job   | demo: exiting with code 3":
			printed++
		case timestamps.MatchString(line):
			got = append(got, timestamps.ReplaceAllString(line, "berth | TIME "))
		case strings.Contains(line, "removed ") && strings.Contains(line, "left by berth run processes"),
			strings.HasPrefix(line, "berth: "):
			// what other tests' killed runs left, and the instance of this
			// machine's size the server got: not this run's story
		default:
			t.Errorf("a line neither the container's nor stamped: %q", line)
		}
	}
	if printed != 1 {
		t.Errorf("the container's line printed %d times, want once, unstamped:\n%s", printed, out)
	}
	normalized := regexp.MustCompile(`[0-9a-f]{32}`).ReplaceAllString(strings.Join(got, "\n")+"\n", "ID")
	normalized = strings.ReplaceAll(normalized, e.cluster, "CLUSTER")
	if endpoint != "" {
		normalized = strings.ReplaceAll(normalized, endpoint, "ENDPOINT")
	}
	checkGolden(t, filepath.Join("testdata", golden), normalized)
}
