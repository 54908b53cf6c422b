package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/internal/testenv"
)

// busyDef is a task that burns a CPU in one container and holds 96 MiB in
// another, reserving 1024 CPU units and 256 MiB.
const busyDef = `{"family": "busy", "cpu": "1024", "memory": "256", "containerDefinitions": [
  {"name": "burn", "image": "berth/demo:latest", "command": ["cpu", "--workers", "1"]},
  {"name": "hold", "image": "berth/demo:latest", "command": ["mem", "96m", "--hold"]}]}`

// clusterServer is a real berth server on loopback, with the test's
// cluster and one m5.large instance in it; it stops when the test ends.
type clusterServer struct {
	e        *runEnv
	endpoint string
	instance string
}

// newClusterServer starts the server, with args beside its own.
func newClusterServer(t *testing.T, args ...string) *clusterServer {
	t.Helper()
	e := newRunEnv(t) // removes what carries the cluster's label
	srv := exec.Command(e.bin, append([]string{"server", "--listen", "127.0.0.1:0", "--state", e.stateDir, "--cleanup-wait", "1s"}, args...)...)
	w := e.start(srv)
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		e.ended(srv, w)
	})
	w.waitFor(t, "listening on http://")
	line := w.String()
	s := &clusterServer{e: e, endpoint: strings.Fields(line[strings.Index(line, "http://"):])[0]}
	s.berth(t, "cluster", "create", e.cluster)
	out := s.berth(t, "instance", "register", "--cluster", e.cluster, "--zone", "us-east-1a", "--instance-type", "m5.large", "-o", "json")
	if i := strings.Index(out, `"containerInstanceArn": "`); i >= 0 {
		arn := out[i+len(`"containerInstanceArn": "`):]
		arn = arn[:strings.IndexByte(arn, '"')]
		s.instance = arn[strings.LastIndexByte(arn, '/')+1:]
	}
	if s.instance == "" {
		t.Fatalf("instance register -o json:\n%s", out)
	}
	return s
}

// berth runs a client command against the server, and fails the test if
// it fails.
func (s *clusterServer) berth(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(s.e.bin, append(args, "--endpoint", s.endpoint)...).CombinedOutput()
	if err != nil {
		t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runBusy runs the busy task on EC2 and returns its ID once it runs.
func (s *clusterServer) runBusy(t *testing.T) string {
	t.Helper()
	out := s.berth(t, "task", "run", s.e.file("busy.json", busyDef), "--cluster", s.e.cluster, "--launch-type", "EC2", "--wait", "-o", "json")
	i := strings.Index(out, `"taskArn": "`)
	if i < 0 {
		t.Fatalf("task run:\n%s", out)
	}
	arn := out[i+len(`"taskArn": "`):]
	arn = arn[:strings.IndexByte(arn, '"')]
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// berth top and berth cost against a real server with a running task: top
// shows the instance's bars and the task's use once sampled, cost bills
// the m5.large; top without --once, piped, prints frame after frame
// without terminal codes until interrupted.
func TestTopAndCostShowARealClustersTasks(t *testing.T) {
	t.Parallel()
	s := newClusterServer(t)
	id := s.runBusy(t)

	// The wait guards against a hang; it is no measure of speed.
	var frame string
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		frame = s.berth(t, "top", "--once", "--cluster", s.e.cluster)
		if row := lineWith(frame, id); row != "" && !strings.Contains(row, " -/1024 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("berth top never showed the task's CPU:\n%s", frame)
		}
	}
	for _, want := range []string{"cluster " + s.e.cluster + ": 1 instance, 1 task running; stats of ", "us-east-1a   m5.large   1"} {
		if !strings.Contains(frame, want) {
			t.Errorf("berth top --once has no %q:\n%s", want, frame)
		}
	}
	row := strings.Fields(lineWith(frame, id))
	// TASK DEFINITION LAUNCH INSTANCE CPU CPU% MEMORY MEM%
	if len(row) != 8 || row[1] != "busy:1" || row[2] != "EC2" || row[3] != s.instance || !strings.HasSuffix(row[4], "/1024") || !strings.HasSuffix(row[6], "/256") {
		t.Errorf("task row %q", row)
	}
	if inst := lineWith(frame, s.instance+"   us-east-1a"); !strings.Contains(inst, "/1024/2048") || !strings.Contains(inst, "/256/") || !strings.Contains(inst, "#") {
		t.Errorf("instance row %q: want the task's use and reservation of the m5.large's 2048 units", inst)
	}
	if strings.Contains(frame, "\x1b") {
		t.Errorf("berth top --once, piped, printed terminal codes:\n%q", frame)
	}

	live := exec.Command(s.e.bin, "top", "--cluster", s.e.cluster, "--endpoint", s.endpoint)
	w := s.e.start(live)
	w.waitFor(t, "cluster "+s.e.cluster+":")
	w.waitFor(t, "cluster "+s.e.cluster+":") // the second frame
	live.Process.Signal(syscall.SIGINT)
	s.e.ended(live, w)
	if code := live.ProcessState.ExitCode(); code != 0 || strings.Contains(w.String(), "\x1b") {
		t.Errorf("berth top, piped, then Ctrl-C: exit %d, want 0 and frames without terminal codes:\n%q", code, w.String())
	}

	cost := s.berth(t, "cost", "--cluster", s.e.cluster)
	if !strings.Contains(cost, "prices: us-east-1, taken ") || !strings.Contains(cost, "\nEC2           1 instance ") || strings.Contains(cost, "left out") {
		t.Errorf("berth cost:\n%s", cost)
	}
	s.berth(t, "task", "stop", id, "--cluster", s.e.cluster)
	s.berth(t, "task", "wait", id, "--cluster", s.e.cluster, "--status", "STOPPED")
	waitContainersGone(t, testenv.Docker(t), "com.amazonaws.ecs.cluster="+s.e.cluster)
}

// lineWith is the first line of text that contains s, "" if none does.
func lineWith(text, s string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
