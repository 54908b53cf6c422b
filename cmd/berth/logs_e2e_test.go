package main

import (
	"bytes"
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
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/internal/testenv"
)

// logsServer is a berth server the test started on the test's state
// directory, and the CLI pointed at it.
type logsServer struct {
	e        *runEnv
	cmd      *exec.Cmd
	out      *lineWatcher
	endpoint string
}

func startLogsServer(t *testing.T, e *runEnv, args ...string) *logsServer {
	t.Helper()
	testenv.HoldVPC(t, testenv.Docker(t))
	cmd := exec.Command(e.bin, append([]string{"server", "--listen", "127.0.0.1:0", "--state", e.stateDir, "--cleanup-wait", "1s"}, args...)...)
	s := &logsServer{e: e, cmd: cmd, out: e.start(cmd)}
	t.Cleanup(s.stop)
	s.out.waitFor(t, "listening on http://")
	line := s.out.String()
	s.endpoint = strings.Fields(line[strings.Index(line, "http://"):])[0]
	return s
}

// stop stops the server as Ctrl-C does, and waits for it.
func (s *logsServer) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.e.ended(s.cmd, s.out)
}

// cluster makes the test's cluster with one instance.
func (s *logsServer) cluster(t *testing.T) {
	t.Helper()
	if _, errOut, code := s.berth(t, "cluster", "create", s.e.cluster); code != 0 {
		t.Fatalf("cluster create: %s", errOut)
	}
	if _, errOut, code := s.berth(t, "instance", "register", "--cluster", s.e.cluster, "--cpu", "1024", "--memory", "512"); code != 0 {
		t.Fatalf("instance register: %s", errOut)
	}
}

// runTask runs the definition in FILE on the test's cluster, waits until
// it runs and returns its ARN.
func (s *logsServer) runTask(t *testing.T, file string) string {
	t.Helper()
	out, errOut, code := s.berth(t, "task", "run", file, "--cluster", s.e.cluster, "--wait", "-o", "json")
	var run api.RunTaskOutput
	if err := json.Unmarshal([]byte(out), &run); code != 0 || err != nil || len(run.Tasks) != 1 || run.Tasks[0].LastStatus != "RUNNING" {
		t.Fatalf("task run: exit %d, %v\n%s%s", code, err, out, errOut)
	}
	return run.Tasks[0].TaskArn
}

// berth runs the CLI against the server and returns its standard output,
// standard error and exit code.
func (s *logsServer) berth(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(s.e.bin, append(args, "--endpoint", s.endpoint)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("berth %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// The server keeps a task's output from its containers' first byte: berth
// task logs -f prints it as the containers write it and ends when the task
// has stopped; the output is still there once the containers are removed
// and after the server restarts, and goes when the task is forgotten. An
// awslogs container's output is kept under ECS's stream name. berth events
// -f sees the task run and stop.
func TestTaskLogsOutliveTheContainersAndTheServer(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	docker := testenv.Docker(t)
	srv := startLogsServer(t, e)
	srv.cluster(t)
	events := exec.Command(e.bin, "events", "-f", "--endpoint", srv.endpoint)
	eventsOut := e.start(events)
	defer func() {
		events.Process.Signal(syscall.SIGTERM)
		e.ended(events, eventsOut)
	}()

	// early writes at once; complain writes to standard error; late, once
	// early is done, waits for the test to give it its line, and its exit
	// stops the task.
	group := "/ecs/" + e.cluster
	def := e.file("talk.json", `{"family": "talk", "volumes": [{"name": "gate"}], "containerDefinitions": [
	  {"name": "early", "image": "berth/demo:latest", "memory": 32, "essential": false, "command": ["lines", "3", "--width", "12"]},
	  {"name": "complain", "image": "berth/demo:latest", "memory": 32, "essential": false, "command": ["exit", "oops"]},
	  {"name": "late", "image": "berth/demo:latest", "memory": 64, "command": ["read", "/gate/line", "--wait", "10m"],
	   "dependsOn": [{"containerName": "early", "condition": "COMPLETE"}],
	   "mountPoints": [{"sourceVolume": "gate", "containerPath": "/gate"}],
	   "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "`+group+`", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}}]}`)
	arn := srv.runTask(t, def)
	id := lastSegment(arn)

	follow := exec.Command(e.bin, "task", "logs", id, "-f", "--cluster", e.cluster, "--endpoint", srv.endpoint)
	followed := e.start(follow)
	followed.waitFor(t, "early    | 3 .........")
	followed.waitFor(t, "late     | demo: waiting up to 10m0s for /gate/line")
	// late's line comes while berth follows.
	openGate(t, docker, arn, "late", "released")
	followed.waitFor(t, "late     | released")
	e.ended(follow, followed)
	if code := follow.ProcessState.ExitCode(); code != 0 {
		t.Errorf("task logs -f ended with %d once the task stopped:\n%s", code, followed)
	}
	eventsOut.waitFor(t, id+"  talk:1                RUNNING → RUNNING")
	eventsOut.waitFor(t, id+"  talk:1                STOPPED → STOPPED       Essential container in task exited")

	// The containers are gone; their output is not. stdout and stderr
	// keep apart.
	waitContainersGone(t, docker, "com.amazonaws.ecs.task-arn="+arn)
	checkLogs := func(when string) {
		t.Helper()
		stdout, stderr, code := srv.berth(t, "task", "logs", id, "--cluster", e.cluster)
		if code != 0 {
			t.Fatalf("task logs %s: exit %d: %s", when, code, stderr)
		}
		checkGolden(t, filepath.Join("testdata", "task-logs-stdout.golden"), stdout)
		checkGolden(t, filepath.Join("testdata", "task-logs-stderr.golden"), stderr)
	}
	checkLogs("after the containers were removed")
	stdout, _, _ := srv.berth(t, "task", "logs", id, "--cluster", e.cluster, "--container", "late", "--timestamps")
	if !regexp.MustCompile(`^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z demo: .+\n)+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z released\n$`).MatchString(stdout) {
		t.Errorf("task logs --container late --timestamps:\n%s", stdout)
	}
	stdout, _, _ = srv.berth(t, "task", "logs", id, "--cluster", e.cluster, "--container", "complain", "-o", "json")
	var line struct{ Time, Container, Stream, Line string }
	if err := json.Unmarshal([]byte(strings.SplitN(stdout, "\n", 2)[0]), &line); err != nil || line.Container != "complain" || line.Stream != "stderr" {
		t.Errorf("task logs -o json: %+v, %v\n%s", line, err, stdout)
	}
	// awslogs: the group, then ECS's stream name PREFIX/CONTAINER/TASK_ID.
	stream := filepath.Join(e.stateDir, "logs", "awslogs", fileNameOf(group), fileNameOf("ecs/late/"+id))
	if _, err := os.Stat(stream); err != nil {
		t.Errorf("late's output is not kept under its awslogs stream: %v", err)
	}
	// And CloudWatch Logs' own client reads it there.
	if _, err := exec.LookPath("aws"); err == nil {
		out, errOut, _ := testenv.AWSCLI(t, srv.endpoint, "logs", "get-log-events", "--log-group-name", group, "--log-stream-name", "ecs/late/"+id, "--start-from-head")
		var got struct{ Events []struct{ Message string } }
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Events) == 0 || got.Events[len(got.Events)-1].Message != "released" {
			t.Errorf("aws logs get-log-events: %v\n%s%s", err, out, errOut)
		}
		out, _, _ = testenv.AWSCLI(t, srv.endpoint, "logs", "describe-log-streams", "--log-group-name", group)
		if !strings.Contains(out, `"logStreamName": "ecs/late/`+id+`"`) {
			t.Errorf("aws logs describe-log-streams:\n%s", out)
		}
	}
	stdout, _, _ = srv.berth(t, "events", "-o", "json")
	var ev api.Event
	if err := json.Unmarshal([]byte(strings.SplitN(stdout, "\n", 2)[0]), &ev); err != nil || ev.Source != "aws.ecs" || ev.DetailType != api.DetailTypeInstance {
		t.Errorf("events -o json, first line: %+v, %v", ev, err)
	}
	// The task's last change reads as EventBridge delivers it: the time in
	// whole seconds, the task's times as ISO-8601 strings.
	stdout, _, _ = srv.berth(t, "events", "-o", "json", "--cluster", e.cluster)
	var last struct {
		DetailType string   `json:"detail-type"`
		Time       string   `json:"time"`
		Resources  []string `json:"resources"`
		Detail     struct {
			TaskArn, ClusterArn, LastStatus, DesiredStatus, StopCode, CreatedAt, StartedAt, StoppedAt, UpdatedAt string
			Version                                                                                              int
		} `json:"detail"`
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if strings.Contains(line, `"detail-type":"`+api.DetailTypeTask+`"`) {
			if err := json.Unmarshal([]byte(line), &last); err != nil {
				t.Errorf("events -o json --cluster: %v\n%s", err, line)
			}
		}
	}
	iso := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(last.Time) || len(last.Resources) != 1 || last.Resources[0] != arn {
		t.Errorf("events -o json --cluster, the task's last change: %+v\n%s", last, stdout)
	}
	if d := last.Detail; d.TaskArn != arn || !strings.HasSuffix(d.ClusterArn, ":cluster/"+e.cluster) || d.LastStatus != "STOPPED" ||
		d.DesiredStatus != "STOPPED" || d.StopCode != "EssentialContainerExited" || d.Version < 2 ||
		!iso.MatchString(d.CreatedAt) || !iso.MatchString(d.StartedAt) || !iso.MatchString(d.StoppedAt) || !strings.HasPrefix(d.UpdatedAt, strings.TrimSuffix(last.Time, "Z")) {
		t.Errorf("events -o json --cluster, the task's last change: %+v", d)
	}

	// A new server on the same state has it all.
	srv.stop()
	srv = startLogsServer(t, e)
	checkLogs("after the server restarted")

	// Once the task is forgotten, so is its output.
	srv.stop()
	srv = startLogsServer(t, e, "--stopped-task-retention", "1ns")
	// The server forgets as it starts, just after it listens.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		_, stderr, code := srv.berth(t, "task", "logs", id, "--cluster", e.cluster)
		if code == exitFailure && strings.Contains(stderr, "ResourceNotFoundException: task "+id+" not found") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task logs of a forgotten task: exit %d: %s", code, stderr)
		}
	}
	if _, err := os.Stat(stream); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the forgotten task's awslogs stream is still kept: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(e.stateDir, "logs", "tasks", "*", id)); len(left) > 0 {
		t.Errorf("the forgotten task's output is still kept: %v", left)
	}
}

// fileNameOf is how the server names a group or stream's file.
func fileNameOf(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "/", "%2F"), ".", "%2E")
}

// openGate has the task's container write text where the demo's read
// waits for it.
func openGate(t *testing.T, docker interface {
	ContainerList(context.Context, container.ListOptions) ([]container.Summary, error)
	ContainerExecCreate(context.Context, string, container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecStart(context.Context, string, container.ExecStartOptions) error
	ContainerExecInspect(context.Context, string) (container.ExecInspect, error)
}, arn, name, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	found, err := docker.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(
		filters.Arg("label", "com.amazonaws.ecs.task-arn="+arn), filters.Arg("label", "com.amazonaws.ecs.container-name="+name))})
	if err != nil || len(found) != 1 {
		t.Fatalf("container %s of the task: %d found, %v", name, len(found), err)
	}
	exec, err := docker.ContainerExecCreate(ctx, found[0].ID, container.ExecOptions{Cmd: []string{"/berth", "demo", "write", "/gate/line", text}})
	if err != nil {
		t.Fatal(err)
	}
	if err := docker.ContainerExecStart(ctx, exec.ID, container.ExecStartOptions{Detach: true}); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := docker.ContainerExecInspect(ctx, exec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Running {
			if info.ExitCode != 0 {
				t.Fatalf("write in container %s: exit %d", name, info.ExitCode)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// A task the server does not hold is an error in the server's words, and
// exit status 1.
func TestTaskLogsOfAnUnknownTask(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	srv := startLogsServer(t, e)
	args := []string{"task", "logs", "0123456789abcdef0123456789abcdef"}
	stdout, stderr, code := srv.berth(t, args...)
	checkGolden(t, filepath.Join("testdata", "task-logs-unknown.golden"),
		fmt.Sprintf("$ berth %s\n%s%sexit status %d\n", strings.Join(args, " "), stdout, stderr, code))
}

// What a task's container writes while no server runs is kept too: the
// next server reads it from the engine's logs, after what it kept, and
// follows the container from there.
func TestTaskLogsKeepWhatContainersWroteWhileNoServerRan(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t)
	docker := testenv.Docker(t)
	srv := startLogsServer(t, e)
	srv.cluster(t)
	def := e.file("gate.json", `{"family": "gate", "volumes": [{"name": "gate"}], "containerDefinitions": [
	  {"name": "gate", "image": "berth/demo:latest", "memory": 64, "command": ["read", "/gate/line", "--wait", "10m"],
	   "mountPoints": [{"sourceVolume": "gate", "containerPath": "/gate"}]}]}`)
	arn := srv.runTask(t, def)
	id := lastSegment(arn)
	follow := exec.Command(e.bin, "task", "logs", id, "-f", "--cluster", e.cluster, "--endpoint", srv.endpoint)
	followed := e.start(follow)
	followed.waitFor(t, "demo: waiting up to 10m0s for /gate/line")
	follow.Process.Signal(syscall.SIGTERM)
	e.ended(follow, followed)

	srv.stop()
	openGate(t, docker, arn, "gate", "written while no server ran")
	srv = startLogsServer(t, e)
	// The task stops once the new server sees its container has exited;
	// -f ends when it has, with every line once.
	follow = exec.Command(e.bin, "task", "logs", id, "-f", "--cluster", e.cluster, "--endpoint", srv.endpoint)
	followed = e.start(follow)
	e.ended(follow, followed)
	want := "demo: waiting up to 10m0s for /gate/line\ndemo: read 28 bytes from /gate/line\nwritten while no server ran\n"
	if got := followed.String(); got != want || follow.ProcessState.ExitCode() != 0 {
		kept, _ := exec.Command("sh", "-c", "cat "+filepath.Join(e.stateDir, "logs", "tasks", e.cluster, id, "gate")+"*").CombinedOutput()
		t.Errorf("task logs -f after the restart: exit %d\n%s\nwant:\n%s\nkept:\n%s", follow.ProcessState.ExitCode(), got, want, kept)
	}
	waitContainersGone(t, docker, "com.amazonaws.ecs.task-arn="+arn)
}
