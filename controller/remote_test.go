package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/hostagent"
	"github.com/berthdev/berth/internal/testenv"
)

// agentTimeout is the agent timeout of these tests' servers, short so
// that a silent agent is seen soon; nothing waits on it as a measure.
const agentTimeout = time.Second

// agentServer is a berth server that takes berth agents, as `berth
// server` routes them.
type agentServer struct {
	srv *server.Server
	ctl *controller.Controller
	url string
}

func startAgentServer(t *testing.T, dir, token string) *agentServer {
	t.Helper()
	return startAgentServerAt(t, dir, "127.0.0.1:0", token)
}

// stop stops the server as SIGTERM does; agents keep their tasks.
func (as *agentServer) stop(t *testing.T) {
	t.Helper()
	stopServer(t, as.srv)
	as.ctl.Close()
}

// newAgentCluster starts a server with a cluster of its own, whose
// containers are removed from the engine when the test ends.
func newAgentCluster(t *testing.T, prefix string) (*agentServer, string) {
	t.Helper()
	cluster := prefix + "-" + api.NewID()[:8]
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster)
	})
	as := startAgentServer(t, t.TempDir(), "")
	t.Cleanup(func() { as.stop(t) })
	if _, err := as.ctl.CreateCluster(context.Background(), &api.CreateClusterInput{ClusterName: cluster}); err != nil {
		t.Fatal(err)
	}
	return as, cluster
}

// runningAgent is a berth agent run in the test's process on the real
// engine.
type runningAgent struct {
	cfg    hostagent.Config
	cancel context.CancelFunc
	done   chan error
}

func startAgent(t *testing.T, cfg hostagent.Config) *runningAgent {
	t.Helper()
	if cfg.Docker == nil {
		cfg.Docker = testenv.Docker(t)
	}
	if cfg.BinaryPath == "" {
		cfg.BinaryPath = testenv.EnsureImages(t)
	}
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	cfg.CleanupWait = time.Hour
	cfg.Logf = t.Logf
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAgent{cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- hostagent.Run(ctx, cfg) }()
	t.Cleanup(func() { ra.stop() })
	return ra
}

// stop ends the agent; its tasks keep running.
func (ra *runningAgent) stop() error {
	ra.cancel()
	err, ok := <-ra.done
	if ok {
		close(ra.done)
	}
	return err
}

// poll calls check until it holds; the time is a guard against a hang.
func poll(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// instances describes the cluster's instances, by zone.
func instancesByZone(t *testing.T, ctl *controller.Controller, cluster string) map[string]api.ContainerInstance {
	t.Helper()
	ctx := context.Background()
	list, err := ctl.ListContainerInstances(ctx, &api.ListContainerInstancesInput{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]api.ContainerInstance{}
	if len(list.ContainerInstanceArns) == 0 {
		return out
	}
	desc, err := ctl.DescribeContainerInstances(ctx, &api.DescribeContainerInstancesInput{Cluster: cluster, ContainerInstances: list.ContainerInstanceArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range desc.ContainerInstances {
		for _, a := range in.Attributes {
			if a.Name == "ecs.availability-zone" {
				out[a.Value] = in
			}
		}
	}
	return out
}

func describeTask(t *testing.T, ctl *controller.Controller, cluster, arn string) api.Task {
	t.Helper()
	out, err := ctl.DescribeTasks(context.Background(), &api.DescribeTasksInput{Cluster: cluster, Tasks: []string{arn}})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("describe task %s: %+v %v", arn, out, err)
	}
	return out.Tasks[0]
}

func waitStatus(t *testing.T, ctl *controller.Controller, cluster, arn, want string) api.Task {
	t.Helper()
	var task api.Task
	poll(t, "task "+arn+" reaches "+want, func() bool {
		task = describeTask(t, ctl, cluster, arn)
		return task.LastStatus == want
	})
	return task
}

// containersOf lists the IDs of the running containers of a task on the
// engine.
func containersOf(t *testing.T, arn string) []string {
	t.Helper()
	list, err := testenv.Docker(t).ContainerList(context.Background(), container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.task-arn="+arn))})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	return ids
}

func registerDemo(t *testing.T, ctl *controller.Controller, family string, command ...string) {
	t.Helper()
	in := &api.RegisterTaskDefinitionInput{}
	cmd, _ := json.Marshal(command)
	def := fmt.Sprintf(`{"family": %q, "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 32,
	  "command": %s, "portMappings": [{"containerPort": 8080}], "stopTimeout": 2}]}`, family, cmd)
	if err := json.Unmarshal([]byte(def), in); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.RegisterTaskDefinition(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// Two berth agents on the engine, in two zones: tasks spread on the zone
// go half to each, through the agents; an agent that falls silent makes
// its instance agentConnected false within the timeout, and new tasks go
// to the other while its own keep running and keep their status; back with
// the same state directory, it is the same instance, its tasks neither
// restarted nor duplicated, and a task stopped while it was away stops.
func TestTasksRunThroughBerthAgentsAndSurviveTheirAbsence(t *testing.T) {
	as, cluster := newAgentCluster(t, "agents")
	ctx := context.Background()
	a := startAgent(t, hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1a", Version: "test"})
	startAgent(t, hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1b", Version: "test"})
	poll(t, "two instances connected", func() bool {
		in := instancesByZone(t, as.ctl, cluster)
		return len(in) == 2 && in["us-east-1a"].AgentConnected && in["us-east-1b"].AgentConnected
	})
	zones := instancesByZone(t, as.ctl, cluster)
	for zone, in := range zones {
		if b := in.BerthAgent; b == nil || b.Runs != "agent" || b.Engine == "" || b.EngineReachable == nil || !*b.EngineReachable || in.VersionInfo.AgentVersion != "test" {
			t.Errorf("instance in %s: where it runs %+v, version %+v", zone, b, in.VersionInfo)
		}
		health, err := as.ctl.DescribeContainerInstances(ctx, &api.DescribeContainerInstancesInput{Cluster: cluster,
			ContainerInstances: []string{in.ContainerInstanceArn}, Include: []string{"CONTAINER_INSTANCE_HEALTH"}})
		if err != nil {
			t.Fatal(err)
		}
		if h := health.ContainerInstances[0].HealthStatus; h == nil || h.OverallStatus != "OK" || len(h.Details) != 1 || h.Details[0].Type != "CONTAINER_RUNTIME" {
			t.Errorf("instance in %s: health %+v", zone, h)
		}
	}
	registerDemo(t, as.ctl, "agents-web", "serve", "--port", "8080")
	count := int32(4)
	run, err := as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "agents-web", Count: &count,
		PlacementStrategy: []api.PlacementStrategy{{Type: "spread", Field: "attribute:ecs.availability-zone"}}})
	if err != nil || len(run.Tasks) != 4 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	perZone := map[string][]string{}
	containers := map[string][]string{}
	for _, task := range run.Tasks {
		perZone[task.AvailabilityZone] = append(perZone[task.AvailabilityZone], task.TaskArn)
		running := waitStatus(t, as.ctl, cluster, task.TaskArn, "RUNNING")
		b := running.Containers[0].NetworkBindings
		if len(b) != 1 {
			t.Fatalf("bindings %+v", b)
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", *b[0].HostPort)
		if code := getWhenListening(t, url); code != 200 {
			t.Errorf("GET %s: %d", url, code)
		}
		containers[task.TaskArn] = containersOf(t, task.TaskArn)
		if len(containers[task.TaskArn]) != 1 || running.Containers[0].RuntimeID != containers[task.TaskArn][0] {
			t.Errorf("task %s: containers %v, runtime ID %s", task.TaskArn, containers[task.TaskArn], running.Containers[0].RuntimeID)
		}
	}
	if len(perZone["us-east-1a"]) != 2 || len(perZone["us-east-1b"]) != 2 {
		t.Fatalf("spread on the zone: %v", perZone)
	}

	// The agent of us-east-1a goes away.
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	poll(t, "the silent agent's instance is disconnected", func() bool {
		return !instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected
	})
	away := instancesByZone(t, as.ctl, cluster)["us-east-1a"]
	if away.RunningTasksCount != 2 || away.BerthAgent.LastHeartbeat.IsZero() {
		t.Errorf("the disconnected instance: %d running, last heartbeat %v", away.RunningTasksCount, away.BerthAgent.LastHeartbeat)
	}
	for _, arn := range perZone["us-east-1a"] {
		if s := describeTask(t, as.ctl, cluster, arn).LastStatus; s != "RUNNING" {
			t.Errorf("task %s of the disconnected instance is %s", arn, s)
		}
	}
	// New tasks go to the other instance.
	count = 2
	more, err := as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "agents-web", Count: &count})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range more.Tasks {
		if task.AvailabilityZone != "us-east-1b" {
			t.Errorf("a task placed while us-east-1a's agent is away went to %s", task.AvailabilityZone)
		}
		waitStatus(t, as.ctl, cluster, task.TaskArn, "RUNNING")
	}
	// One of its tasks is stopped while it is away.
	stopped := perZone["us-east-1a"][0]
	if _, err := as.ctl.StopTask(ctx, &api.StopTaskInput{Cluster: cluster, Task: stopped, Reason: "stopped while away"}); err != nil {
		t.Fatal(err)
	}

	// Back, with the same state directory.
	startAgent(t, a.cfg)
	poll(t, "the agent is back", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	if back := instancesByZone(t, as.ctl, cluster)["us-east-1a"]; back.ContainerInstanceArn != away.ContainerInstanceArn {
		t.Errorf("back as %s, was %s", back.ContainerInstanceArn, away.ContainerInstanceArn)
	}
	done := waitStatus(t, as.ctl, cluster, stopped, "STOPPED")
	if done.StopCode != "UserInitiated" || done.StoppedReason != "stopped while away" {
		t.Errorf("the task stopped while away: %s %q", done.StopCode, done.StoppedReason)
	}
	kept := perZone["us-east-1a"][1]
	if task := describeTask(t, as.ctl, cluster, kept); task.LastStatus != "RUNNING" || fmt.Sprint(containersOf(t, kept)) != fmt.Sprint(containers[kept]) {
		t.Errorf("the task kept: %s, containers %v, were %v", task.LastStatus, containersOf(t, kept), containers[kept])
	}
}

// Draining an instance whose agent is a berth agent stops none of its
// standalone tasks, as ECS; it takes no new ones. Active again, with its
// agent gone, it takes none either, for the reason AGENT.
func TestDrainingABerthAgentsInstanceStopsNothing(t *testing.T) {
	as, cluster := newAgentCluster(t, "drain")
	ctx := context.Background()
	a := startAgent(t, hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	registerDemo(t, as.ctl, "drain-web", "serve", "--port", "8080")
	run, err := as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "drain-web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	arn := run.Tasks[0].TaskArn
	waitStatus(t, as.ctl, cluster, arn, "RUNNING")
	in := instancesByZone(t, as.ctl, cluster)["us-east-1a"]
	if _, err := as.ctl.UpdateContainerInstancesState(ctx, &api.UpdateContainerInstancesStateInput{Cluster: cluster,
		ContainerInstances: []string{in.ContainerInstanceArn}, Status: "DRAINING"}); err != nil {
		t.Fatal(err)
	}
	next, err := as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "drain-web"})
	if err != nil || len(next.Tasks) != 0 {
		t.Errorf("a task placed on a draining instance: %+v %v", next, err)
	}
	// The agent heartbeats for longer than the timeout: the task is as it
	// was.
	time.Sleep(2 * agentTimeout)
	if task := describeTask(t, as.ctl, cluster, arn); task.LastStatus != "RUNNING" || task.DesiredStatus != "RUNNING" || len(containersOf(t, arn)) != 1 {
		t.Errorf("the task on the draining instance: %s/%s", task.LastStatus, task.DesiredStatus)
	}

	a.stop()
	poll(t, "the silent agent's instance is disconnected", func() bool {
		return !instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected
	})
	if _, err := as.ctl.UpdateContainerInstancesState(ctx, &api.UpdateContainerInstancesStateInput{Cluster: cluster,
		ContainerInstances: []string{in.ContainerInstanceArn}, Status: "ACTIVE"}); err != nil {
		t.Fatal(err)
	}
	next, err = as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "drain-web"})
	if err != nil || len(next.Tasks) != 0 || len(next.Failures) != 1 || next.Failures[0].Reason != "AGENT" {
		t.Errorf("a task for an instance whose agent is away: %+v %v", next, err)
	}
}

// A berth agent of a server restarted in between reconnects as the same
// instance, and its tasks run on.
func TestABerthAgentOutlivesARestartOfTheServer(t *testing.T) {
	cluster := "restart-" + api.NewID()[:8]
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster)
	})
	dir := t.TempDir()
	as := startAgentServer(t, dir, "")
	ctx := context.Background()
	if _, err := as.ctl.CreateCluster(ctx, &api.CreateClusterInput{ClusterName: cluster}); err != nil {
		t.Fatal(err)
	}
	addr := as.srv.Addr()
	startAgent(t, hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	registerDemo(t, as.ctl, "restart-web", "serve", "--port", "8080")
	run, err := as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "restart-web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	arn := run.Tasks[0].TaskArn
	waitStatus(t, as.ctl, cluster, arn, "RUNNING")
	was := instancesByZone(t, as.ctl, cluster)["us-east-1a"].ContainerInstanceArn
	before := containersOf(t, arn)
	as.stop(t)

	// The new server listens where the old one did.
	var again *agentServer
	poll(t, "the port is free again", func() bool {
		srv, err := server.Start(ctx, server.Config{Listen: addr, StateDir: t.TempDir()})
		if err != nil {
			return false
		}
		stopServer(t, srv)
		return true
	})
	again = startAgentServerAt(t, dir, addr, "")
	defer again.stop(t)
	poll(t, "the agent reconnects", func() bool {
		in := instancesByZone(t, again.ctl, cluster)["us-east-1a"]
		return in.AgentConnected && in.BerthAgent.LastHeartbeat.After(time.Now().Add(-agentTimeout))
	})
	if now := instancesByZone(t, again.ctl, cluster)["us-east-1a"].ContainerInstanceArn; now != was {
		t.Errorf("after the restart the instance is %s, was %s", now, was)
	}
	if _, err := again.ctl.StopTask(ctx, &api.StopTaskInput{Cluster: cluster, Task: arn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, again.ctl, cluster, arn, "STOPPED")
	if after := containersOf(t, arn); len(after) != 0 || len(before) != 1 {
		t.Errorf("containers before %v, running after the stop %v", before, after)
	}
}

// startAgentServerAt starts a server listening at addr, which takes
// berth agents at agentproto.Path as berth server does.
func startAgentServerAt(t *testing.T, dir, addr, token string, configure ...func(*controller.Options)) *agentServer {
	t.Helper()
	as := &agentServer{}
	srv, err := server.Start(context.Background(), server.Config{
		Listen:   addr,
		StateDir: dir,
		Token:    token,
		NewAPI: func(st *store.Store) http.Handler {
			opts := controller.Options{
				Docker:       func() (engine.Engine, error) { return testenv.Docker(t), nil },
				AgentTimeout: agentTimeout,
				Logf:         t.Logf,
			}
			for _, f := range configure {
				f(&opts)
			}
			as.ctl = controller.New(st, opts)
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			mux := api.NewMux(logger)
			as.ctl.Register(mux)
			return as.ctl.Handler(mux, logger)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	as.srv, as.url = srv, "http://"+srv.Addr()
	if err := as.ctl.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return as
}

// memAgent is a berth agent over an engine in memory, which the test stops
// and starts again with the same state directory, as a host's agent is
// killed and started again while its tasks run on.
type memAgent struct {
	t   *testing.T
	cfg hostagent.Config
	run *runningAgent
}

// startMemAgent starts an agent over eng, whose images include
// memImage.
func startMemAgent(t *testing.T, eng *enginetest.Engine, cfg hostagent.Config) *memAgent {
	t.Helper()
	cfg.Docker, cfg.StateDir = eng, t.TempDir()
	m := &memAgent{t: t, cfg: cfg}
	m.start()
	return m
}

func (m *memAgent) start() {
	m.t.Helper()
	cfg := m.cfg
	cfg.Logf = m.t.Logf
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAgent{cfg: cfg, cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- hostagent.Run(ctx, cfg) }()
	m.t.Cleanup(func() { ra.stop() })
	m.run = ra
}

// stop ends the agent process as a kill does: what it held in memory (its
// reports not yet acknowledged) is gone with it; its tasks run on.
func (m *memAgent) stop() { m.run.stop() }

// memImage is the image of the tasks that run over an engine in memory.
const memImage = "example/app:1"

// newMemEngine is an engine in memory that has memImage.
func newMemEngine() *enginetest.Engine {
	eng := enginetest.New(nil)
	eng.AddImage(memImage, nil)
	return eng
}

func registerMem(t *testing.T, ctl *controller.Controller, family string) {
	t.Helper()
	in := &api.RegisterTaskDefinitionInput{}
	def := fmt.Sprintf(`{"family": %q, "containerDefinitions": [{"name": "app", "image": %q, "memory": 16}]}`, family, memImage)
	if err := json.Unmarshal([]byte(def), in); err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.RegisterTaskDefinition(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// runOne runs one task of family and waits for it to be RUNNING.
func runOne(t *testing.T, ctl *controller.Controller, cluster, family string) api.Task {
	t.Helper()
	run, err := ctl.RunTask(context.Background(), &api.RunTaskInput{Cluster: cluster, TaskDefinition: family})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	return waitStatus(t, ctl, cluster, run.Tasks[0].TaskArn, "RUNNING")
}

// checkExited checks the record of a task whose only container exited
// with code on its own.
func checkExited(t *testing.T, task api.Task, code int32) {
	t.Helper()
	if task.StopCode != api.StopCodeEssentialContainerExited || task.DesiredStatus != "STOPPED" ||
		task.Containers[0].LastStatus != "STOPPED" || task.Containers[0].ExitCode == nil || *task.Containers[0].ExitCode != code {
		t.Errorf("the task whose container exited: %s/%s, stop code %q, container %s exit code %v",
			task.LastStatus, task.DesiredStatus, task.StopCode, task.Containers[0].LastStatus, task.Containers[0].ExitCode)
	}
}

// A task's container that exits while its agent is away (the agent
// stopped, the container killed, the agent started again) is STOPPED on
// the server once the agent is back: a restarted agent reports every task
// it holds as it finds it, containers and exit codes, and the server
// records it.
func TestAContainerThatExitsWhileItsAgentIsAwayIsReportedWhenItIsBack(t *testing.T) {
	as, cluster := newAgentCluster(t, "away")
	eng := newMemEngine()
	a := startMemAgent(t, eng, hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	registerMem(t, as.ctl, "away-app")
	task := runOne(t, as.ctl, cluster, "away-app")
	kept := runOne(t, as.ctl, cluster, "away-app")

	a.stop()
	if err := eng.Exit(task.Containers[0].RuntimeID, enginetest.ExitSIGKILL); err != nil {
		t.Fatal(err)
	}
	a.start()
	checkExited(t, waitStatus(t, as.ctl, cluster, task.TaskArn, "STOPPED"), enginetest.ExitSIGKILL)
	if again := describeTask(t, as.ctl, cluster, kept.TaskArn); again.LastStatus != "RUNNING" || again.Containers[0].RuntimeID != kept.Containers[0].RuntimeID {
		t.Errorf("the task whose container runs on: %s in %s, was in %s", again.LastStatus, again.Containers[0].RuntimeID, kept.Containers[0].RuntimeID)
	}
	if n := eng.Calls("ContainerCreate"); n != 2 {
		t.Errorf("containers created: %d, want 2 (one a task)", n)
	}
}

// A task's container exits, the agent sees it and reports it, and dies
// before the server acknowledged the report: the report is gone with the
// agent's memory, and the restarted agent, which finds the container
// exited, reports the task STOPPED.
func TestAStoppedReportLostWithItsAgentIsMadeAgain(t *testing.T) {
	as, cluster := newAgentCluster(t, "lost")
	proxy := startFaultProxy(t, as.srv.Addr())
	eng := newMemEngine()
	a := startMemAgent(t, eng, hostagent.Config{Server: proxy.url(), Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	registerMem(t, as.ctl, "lost-app")
	task := runOne(t, as.ctl, cluster, "lost-app")

	stoppedReport := reportOf("STOPPED")
	var mu sync.Mutex
	lost := false
	proxy.arm(func(toServer bool, f agentproto.Frame) verdict {
		if toServer && f.Type == agentproto.TypeTaskStateChange {
			if stoppedReport(toServer, f) {
				mu.Lock()
				lost = true
				mu.Unlock()
			}
			return discard
		}
		return forward
	})
	if err := eng.Exit(task.Containers[0].RuntimeID, 3); err != nil {
		t.Fatal(err)
	}
	poll(t, "the agent reports the task STOPPED", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lost
	})
	a.stop()
	proxy.arm(nil)
	if s := describeTask(t, as.ctl, cluster, task.TaskArn).LastStatus; s == "STOPPED" {
		t.Fatalf("the server has the task %s although it heard no report of it", s)
	}
	a.start()
	checkExited(t, waitStatus(t, as.ctl, cluster, task.TaskArn, "STOPPED"), 3)
}

// An agent whose engine does not answer says so in its heartbeats, and its
// instance, connected all along, takes no new task (the reason AGENT) until
// the agent says the engine answers again.
func TestAnInstanceWhoseEngineIsDownTakesNoTaskUntilItIsBack(t *testing.T) {
	as, cluster := newAgentCluster(t, "down")
	eng := newMemEngine()
	startMemAgent(t, eng, hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	registerMem(t, as.ctl, "down-app")
	reachable := func(want bool) func() bool {
		return func() bool {
			r := instancesByZone(t, as.ctl, cluster)["us-east-1a"].BerthAgent.EngineReachable
			return r != nil && *r == want
		}
	}
	ctx := context.Background()

	eng.Inject("Info", enginetest.Fail(errors.New("Cannot connect to the Docker daemon")))
	poll(t, "the agent says its engine does not answer", reachable(false))
	if in := instancesByZone(t, as.ctl, cluster)["us-east-1a"]; !in.AgentConnected {
		t.Errorf("the instance whose engine is down is disconnected: its agent heartbeats")
	}
	run, err := as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "down-app"})
	if err != nil || len(run.Tasks) != 0 || len(run.Failures) != 1 || run.Failures[0].Reason != "AGENT" {
		t.Errorf("a task for the instance whose engine is down: %+v %v", run, err)
	}

	eng.Inject("Info", nil)
	poll(t, "the agent says its engine answers again", reachable(true))
	runOne(t, as.ctl, cluster, "down-app")
}
