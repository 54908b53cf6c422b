package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/internal/testenv"
)

// testBridge is the bridge the second engine's containers attach to,
// made by the test: the first engine's docker0 is never touched.
const (
	testBridge     = "berthtest0"
	testBridgeAddr = "10.213.77.1/24"
)

// secondEngine starts a Docker engine of the test's own beside the
// machine's: its own configuration, socket, data and exec roots, pid file
// and bridge, no iptables rules. When the test ends its containers go,
// then the engine, its directories and its bridge. The test is skipped
// where an engine cannot be started (not root, no dockerd).
func secondEngine(t *testing.T) (host string, api client.APIClient, daemon *exec.Cmd) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("starting a second Docker engine needs root")
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		t.Skip("starting a second Docker engine needs dockerd, which is not on PATH")
	}
	testenv.Docker(t) // the first engine, which the agents' images come from
	// A unix socket's path is short: the directory is under /tmp.
	dir, err := os.MkdirTemp("/tmp", "berth-engine-")
	if err != nil {
		t.Fatal(err)
	}
	ip := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	exec.Command("ip", "link", "del", testBridge).Run() // left by a test that was killed
	for _, args := range [][]string{
		{"link", "add", "name", testBridge, "type", "bridge"},
		{"addr", "add", testBridgeAddr, "dev", testBridge},
		{"link", "set", testBridge, "up"},
	} {
		if err := ip(args...); err != nil {
			os.RemoveAll(dir)
			t.Fatal(err)
		}
	}
	config := filepath.Join(dir, "daemon.json")
	if err := os.WriteFile(config, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host = "unix://" + filepath.Join(dir, "docker.sock")
	logFile, err := os.Create(filepath.Join(dir, "dockerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	daemon = exec.Command(dockerd,
		"--config-file", config,
		"-H", host,
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--bridge", testBridge,
		"--iptables=false",
		"--storage-driver", "vfs",
	)
	daemon.Stdout, daemon.Stderr = logFile, logFile
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	api, err = client.NewClientWithOpts(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		daemon.Process.Signal(syscall.SIGCONT) // a test that froze it
		if list, err := api.ContainerList(ctx, container.ListOptions{All: true}); err == nil {
			for _, c := range list {
				api.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
			}
		}
		api.Close()
		daemon.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { daemon.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			daemon.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("the second engine's log:\n%s", lastLines(string(b), 30))
			}
		}
		exec.Command("umount", "-R", filepath.Join(dir, "exec")).Run()
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove the second engine's directories: %v", err)
		}
		if err := ip("link", "del", testBridge); err != nil {
			t.Errorf("remove the test's bridge: %v", err)
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := api.Ping(ctx)
		cancel()
		if err == nil {
			return host, api, daemon
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second engine does not answer: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// agentInstance is what the test reads of an instance from berth
// instance list -o json.
func instancesOf(t *testing.T, berth func(args ...string) string) map[string]api.ContainerInstance {
	t.Helper()
	var list []api.ContainerInstance
	if err := json.Unmarshal([]byte(berth("instance", "list", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]api.ContainerInstance{}
	for _, in := range list {
		out[attribute(in, attrZone)] = in
	}
	return out
}

// Two berth agents, each on its own Docker engine (the machine's, and one
// the test starts) in its own zone: four tasks spread on the zone run two
// on each engine, each reached on its host port; the SIGKILLed agent's
// instance is disconnected within the agent timeout and new tasks go to
// the other; started again it is the same instance, its tasks running on
// in the same containers, and the one stopped while it was away stops. An
// engine that does not answer takes no new task until it answers again.
func TestBerthAgentsJoinTwoEnginesToACluster(t *testing.T) {
	engineHost, second, daemon := secondEngine(t)
	first := testenv.Docker(t)
	// The agents' tasks outlive them, as they should: they are removed
	// from the first engine when the test ends (the second goes whole).
	e, endpoint, berth, stop := startAgentServer(t, first, "agents")
	defer stop()
	agentState := map[string]string{"us-east-1a": t.TempDir(), "us-east-1b": t.TempDir()}
	startAgent := func(zone string) *exec.Cmd {
		cmd := exec.Command(e.bin, "agent", "--server", endpoint, "--zone", zone, "--state", agentState[zone], "--host-ip", "127.0.0.1")
		cmd.Env = append(os.Environ(), "ECS_CLUSTER="+e.cluster, `ECS_INSTANCE_ATTRIBUTES={"engine": "`+zone+`"}`)
		if zone == "us-east-1b" {
			cmd.Env = append(cmd.Env, "DOCKER_HOST="+engineHost)
		}
		aw := e.start(cmd)
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			e.ended(cmd, aw)
			if t.Failed() {
				t.Logf("the agent of %s:\n%s", zone, aw)
			}
		})
		return cmd
	}
	startAgent("us-east-1a")
	agentB := startAgent("us-east-1b")
	poll := func(what string, check func(map[string]api.ContainerInstance) bool) map[string]api.ContainerInstance {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			in := instancesOf(t, berth)
			if check(in) {
				return in
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within two minutes: %+v", what, in)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	instances := poll("both agents connected", func(in map[string]api.ContainerInstance) bool {
		return in["us-east-1a"].AgentConnected && in["us-east-1b"].AgentConnected
	})
	if b := instances["us-east-1b"].BerthAgent; b == nil || b.Runs != "agent" || b.Engine != engineHost {
		t.Errorf("where us-east-1b runs: %+v", b)
	}
	if out := berth("instance", "list"); !strings.Contains(out, engineHost) || !strings.Contains(out, "connected") {
		t.Errorf("instance list shows where each instance runs:\n%s", out)
	}

	def := e.file("web.json", `{"family": "web", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest", "memory": 32,
	  "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080}], "stopTimeout": 2}]}`)
	var run api.RunTaskOutput
	if err := json.Unmarshal([]byte(berth("task", "run", def, "--count", "4", "--strategy", "spread:attribute:ecs.availability-zone", "--wait", "-o", "json")), &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 4 {
		t.Fatalf("task run: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	perZone := map[string][]api.Task{}
	for _, task := range run.Tasks {
		perZone[task.AvailabilityZone] = append(perZone[task.AvailabilityZone], task)
		url := fmt.Sprintf("http://%s:%d/", task.Containers[0].NetworkBindings[0].BindIP, *task.Containers[0].NetworkBindings[0].HostPort)
		if code := getUntilAnswered(t, url); code != 200 {
			t.Errorf("GET %s: %d", url, code)
		}
	}
	running := func(api client.APIClient) []string {
		list, err := api.ContainerList(context.Background(), container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+e.cluster))})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range list {
			ids = append(ids, c.ID)
		}
		slices.Sort(ids)
		return ids
	}
	onFirst, onSecond := running(first), running(second)
	if len(perZone["us-east-1a"]) != 2 || len(perZone["us-east-1b"]) != 2 || len(onFirst) != 2 || len(onSecond) != 2 {
		t.Fatalf("spread: %d and %d tasks, %d and %d containers", len(perZone["us-east-1a"]), len(perZone["us-east-1b"]), len(onFirst), len(onSecond))
	}

	// SIGKILL: the agent says nothing on its way out.
	agentB.Process.Signal(syscall.SIGKILL)
	poll("the killed agent's instance is disconnected", func(in map[string]api.ContainerInstance) bool {
		return !in["us-east-1b"].AgentConnected
	})
	var more api.RunTaskOutput
	if err := json.Unmarshal([]byte(berth("task", "run", def, "--count", "2", "-o", "json")), &more); err != nil {
		t.Fatal(err)
	}
	if len(more.Tasks) != 2 || len(more.Failures) != 0 {
		t.Errorf("tasks placed while us-east-1b's agent is away: %d, failures %+v; want both on us-east-1a", len(more.Tasks), more.Failures)
	}
	for _, task := range more.Tasks {
		if task.AvailabilityZone != "us-east-1a" {
			t.Errorf("a task placed while us-east-1b's agent is away went to %s", task.AvailabilityZone)
		}
	}
	stopped, kept := perZone["us-east-1b"][0], perZone["us-east-1b"][1]
	berth("task", "stop", lastSegment(stopped.TaskArn), "--reason", "stopped while its agent was away")

	startAgent("us-east-1b")
	back := poll("the agent is back", func(in map[string]api.ContainerInstance) bool { return in["us-east-1b"].AgentConnected })
	if back["us-east-1b"].ContainerInstanceArn != instances["us-east-1b"].ContainerInstanceArn {
		t.Errorf("back as %s, was %s", back["us-east-1b"].ContainerInstanceArn, instances["us-east-1b"].ContainerInstanceArn)
	}
	berth("task", "wait", lastSegment(stopped.TaskArn), "--status", "STOPPED")
	var desc api.DescribeTasksOutput
	if err := json.Unmarshal([]byte(berth("task", "describe", lastSegment(stopped.TaskArn), lastSegment(kept.TaskArn), "-o", "json")), &desc); err != nil {
		t.Fatal(err)
	}
	for _, task := range desc.Tasks {
		switch task.TaskArn {
		case stopped.TaskArn:
			if task.LastStatus != "STOPPED" || task.StoppedReason != "stopped while its agent was away" {
				t.Errorf("the task stopped while away: %s %q", task.LastStatus, task.StoppedReason)
			}
		case kept.TaskArn:
			if task.LastStatus != "RUNNING" || task.Containers[0].RuntimeID != kept.Containers[0].RuntimeID {
				t.Errorf("the task kept: %s in %s, was in %s", task.LastStatus, task.Containers[0].RuntimeID, kept.Containers[0].RuntimeID)
			}
		}
	}
	if now := running(second); len(now) != 1 || now[0] != kept.Containers[0].RuntimeID {
		t.Errorf("the second engine runs %v, want only %s", now, kept.Containers[0].RuntimeID)
	}

	// The second engine stops answering (frozen), then answers again.
	onlyB := []string{"--constraint", "memberOf:attribute:ecs.availability-zone == us-east-1b"}
	daemon.Process.Signal(syscall.SIGSTOP)
	poll("the frozen engine is reported", func(in map[string]api.ContainerInstance) bool {
		r := in["us-east-1b"].BerthAgent.EngineReachable
		return r != nil && !*r
	})
	if out := berth("instance", "describe", lastSegment(instances["us-east-1b"].ContainerInstanceArn)); !strings.Contains(out, "Health:             IMPAIRED") {
		t.Errorf("describe of the instance whose engine does not answer:\n%s", out)
	}
	out, err := exec.Command(e.bin, append([]string{"task", "run", def, "--endpoint", endpoint, "--cluster", e.cluster}, onlyB...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not placed") {
		t.Errorf("a task for the instance whose engine does not answer: %v\n%s", err, out)
	}
	daemon.Process.Signal(syscall.SIGCONT)
	poll("the engine answers again", func(in map[string]api.ContainerInstance) bool {
		r := in["us-east-1b"].BerthAgent.EngineReachable
		return r != nil && *r
	})
	berth(append([]string{"task", "run", def, "--wait"}, onlyB...)...)
}

// getUntilAnswered GETs url until something listens there; the wait is a
// guard against a hang.
func getUntilAnswered(t *testing.T, url string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startAgentServer starts a berth server for berth agents (agent timeout
// 3 s) on a state directory of its own, and makes a cluster named from
// prefix with the CLI. The agents' tasks outlive them, as they should:
// they are removed from the engine first when the test ends. It returns
// the server's endpoint, berth run against the server and the cluster
// (failing the test when it fails), and the server's stop, for the test
// to defer.
func startAgentServer(t *testing.T, first client.APIClient, prefix string) (e *runEnv, endpoint string, berth func(args ...string) string, stop func()) {
	t.Helper()
	e = &runEnv{t: t, bin: testenv.EnsureImages(t), cluster: prefix + "-" + api.NewID()[:8], stateDir: t.TempDir(), dir: t.TempDir()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := testenv.RemoveLabelled(ctx, first, "com.amazonaws.ecs.cluster="+e.cluster); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
	srv := exec.Command(e.bin, "server", "--listen", "127.0.0.1:0", "--state", e.stateDir, "--agent-timeout", "3s")
	w := e.start(srv)
	stop = func() {
		srv.Process.Signal(syscall.SIGTERM)
		e.ended(srv, w)
	}
	w.waitFor(t, "listening on http://")
	line := w.String()
	endpoint = strings.Fields(line[strings.Index(line, "http://"):])[0]
	berth = func(args ...string) string {
		t.Helper()
		out, err := exec.Command(e.bin, append(args, "--endpoint", endpoint, "--cluster", e.cluster)...).Output()
		if err != nil {
			t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out, err := exec.Command(e.bin, "cluster", "create", e.cluster, "--endpoint", endpoint).CombinedOutput(); err != nil {
		stop()
		t.Fatalf("cluster create: %v\n%s", err, out)
	}
	return e, endpoint, berth, stop
}
