package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"

	"github.com/berthdev/berth/agent"
)

// get fetches url until it answers (the server in the container may still
// be starting) and returns the status code.
func get(t *testing.T, url string) int {
	t.Helper()
	resp := fetch(t, url)
	resp.Body.Close()
	return resp.StatusCode
}

// fetch GETs url, retrying while nothing answers (a server in a task may
// still be starting) for up to testTimeout.
func fetch(t *testing.T, url string) *http.Response {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(testTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			return resp
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ctrOf(t *testing.T, s agent.TaskState, name string) agent.ContainerState {
	t.Helper()
	c, ok := s.Container(name)
	if !ok {
		t.Fatalf("task has no container %s", name)
	}
	return c
}

func exitCode(c agent.ContainerState) string {
	if c.ExitCode == nil {
		return "none"
	}
	return strconv.Itoa(*c.ExitCode)
}

func TestBridgePortsAnswerOnTheBoundAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	web := `{"family":"web","containerDefinitions":[{"name":"web","image":"berth/demo","memory":64,"stopTimeout":2,
		"command":["serve","--port","8080"],"portMappings":[{"containerPort":8080,"hostPort":80}]}]}`
	dynamic := `{"family":"dyn","containerDefinitions":[{"name":"web","image":"berth/demo","memory":64,"stopTimeout":2,
		"command":["serve","--port","8080"],"portMappings":[{"containerPort":8080}]}]}`

	// Two tasks hold host port 80, each on its own loopback address.
	first := e.run(web, func(s *agent.TaskSpec) { s.HostIP = "127.0.0.2" })
	second := e.run(web, func(s *agent.TaskSpec) { s.HostIP = "127.0.0.3" })
	third := e.run(dynamic, func(s *agent.TaskSpec) { s.HostIP = "127.0.0.1" })
	for _, arn := range []string{first, second} {
		st := e.waitRunning(arn)
		b := ctrOf(t, st, "web").NetworkBindings
		if len(b) != 1 || b[0].HostPort != 80 || b[0].ContainerPort != 8080 || b[0].BindIP != st.HostIP || b[0].Protocol != "tcp" {
			t.Errorf("task on %s: networkBindings %+v, want 8080 on %s:80/tcp", st.HostIP, b, st.HostIP)
		}
		if code := get(t, "http://"+st.HostIP+":80/"); code != http.StatusOK {
			t.Errorf("GET on %s:80 answered %d", st.HostIP, code)
		}
	}
	st := e.waitRunning(third)
	b := ctrOf(t, st, "web").NetworkBindings
	if len(b) != 1 || b[0].HostPort < 49153 || b[0].HostPort > 65535 {
		t.Fatalf("dynamic port: networkBindings %+v, want one host port in 49153-65535", b)
	}
	if code := get(t, fmt.Sprintf("http://127.0.0.1:%d/", b[0].HostPort)); code != http.StatusOK {
		t.Errorf("GET on the dynamic port answered %d", code)
	}
	for _, arn := range []string{first, second, third} {
		e.stop(arn)
	}
}

func TestVolumesAreSharedBetweenContainers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, def string
	}{
		{"through a scratch volume", `{"family":"scratch","volumes":[{"name":"data"}],"containerDefinitions":[
			{"name":"writer","image":"berth/demo","memory":32,"essential":false,"command":["write","/data/msg","hello from the writer"],
			 "mountPoints":[{"sourceVolume":"data","containerPath":"/data"}]},
			{"name":"reader","image":"berth/demo","memory":32,"essential":false,"command":["read","/in/msg"],
			 "mountPoints":[{"sourceVolume":"data","containerPath":"/in","readOnly":true}],
			 "dependsOn":[{"containerName":"writer","condition":"SUCCESS"}]},
			{"name":"keeper","image":"berth/demo","memory":32,"command":["sleep","60"],"stopTimeout":2}]}`},
		{"through volumesFrom", `{"family":"volfrom","volumes":[{"name":"data"}],"containerDefinitions":[
			{"name":"writer","image":"berth/demo","memory":32,"essential":false,"command":["write","/data/msg","hello from the writer"],
			 "mountPoints":[{"sourceVolume":"data","containerPath":"/data"}]},
			{"name":"reader","image":"berth/demo","memory":32,"essential":false,"command":["read","/data/msg"],
			 "volumesFrom":[{"sourceContainer":"writer","readOnly":true}],
			 "dependsOn":[{"containerName":"writer","condition":"SUCCESS"}]},
			{"name":"keeper","image":"berth/demo","memory":32,"command":["sleep","60"],"stopTimeout":2}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			arn := e.run(tt.def)
			st := e.waitFor(arn, "reader STOPPED", func(s agent.TaskState) bool {
				c, _ := s.Container("reader")
				return c.LastStatus == agent.ContainerStopped
			})
			if c := ctrOf(t, st, "reader"); c.ExitCode == nil || *c.ExitCode != 0 {
				t.Fatalf("reader: exit code %s, want 0 (%s)", exitCode(c), describe(st))
			}
			if out := e.logs(arn, "reader"); !strings.Contains(out, "hello from the writer") {
				t.Errorf("reader printed %q, want the writer's text", out)
			}
			e.stop(arn)
		})
	}
}

func TestDependsOnOrdersStartAndReversesStop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"order","containerDefinitions":[
		{"name":"init","image":"berth/demo","memory":32,"essential":false,"command":["exit","0"]},
		{"name":"db","image":"berth/demo","memory":32,"command":["sleep","60"],"stopTimeout":2,
		 "dependsOn":[{"containerName":"init","condition":"COMPLETE"}]},
		{"name":"app","image":"berth/demo","memory":32,"command":["sleep","60"],"stopTimeout":2,
		 "dependsOn":[{"containerName":"db","condition":"START"},{"containerName":"init","condition":"SUCCESS"}]}]}`)
	st := e.waitRunning(arn)
	initC, db, app := ctrOf(t, st, "init"), ctrOf(t, st, "db"), ctrOf(t, st, "app")
	if db.StartedAt.Before(initC.FinishedAt) {
		t.Errorf("db started at %v, before init finished at %v", db.StartedAt, initC.FinishedAt)
	}
	if app.StartedAt.Before(db.StartedAt) {
		t.Errorf("app started at %v, before db at %v", app.StartedAt, db.StartedAt)
	}
	st = e.stop(arn)
	db, app = ctrOf(t, st, "db"), ctrOf(t, st, "app")
	if db.FinishedAt.Before(app.FinishedAt) {
		t.Errorf("db stopped at %v, before app (which depends on it) at %v", db.FinishedAt, app.FinishedAt)
	}
	if st.StopCode != agent.StopUserInitiated || st.StoppedReason != "Task stopped by user" {
		t.Errorf("stopCode %q reason %q, want UserInitiated and \"Task stopped by user\"", st.StopCode, st.StoppedReason)
	}
}

func TestHealthyGateWaitsForTheHealthCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"healthy","containerDefinitions":[
		{"name":"web","image":"berth/demo","memory":32,"command":["serve","--port","8080"],"stopTimeout":2,
		 "healthCheck":{"command":["CMD","/berth","demo","probe","http://localhost:8080/health"],"interval":5,"timeout":2,"retries":3}},
		{"name":"app","image":"berth/demo","memory":32,"command":["sleep","60"],"stopTimeout":2,
		 "dependsOn":[{"containerName":"web","condition":"HEALTHY"}]}]}`)
	st := e.waitRunning(arn)
	if web := ctrOf(t, st, "web"); web.HealthStatus != agent.HealthHealthy {
		t.Errorf("web health %s once the task runs, want HEALTHY", web.HealthStatus)
	}
	if st.HealthStatus != agent.HealthHealthy {
		t.Errorf("task health %s, want HEALTHY", st.HealthStatus)
	}
	e.events.mu.Lock()
	for _, c := range e.events.changes {
		if c.Task.ARN != arn {
			continue
		}
		web, app := ctrOf(t, c.Task, "web"), ctrOf(t, c.Task, "app")
		if !app.StartedAt.IsZero() && web.HealthStatus != agent.HealthHealthy {
			t.Errorf("version %d: app started while web was %s", c.Task.Version, web.HealthStatus)
		}
	}
	e.events.mu.Unlock()
	e.stop(arn)
}

func TestFailedSuccessDependencyFailsTheTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"initfail","containerDefinitions":[
		{"name":"init","image":"berth/demo","memory":32,"essential":false,"command":["exit","3"]},
		{"name":"app","image":"berth/demo","memory":32,"command":["sleep","60"],
		 "dependsOn":[{"containerName":"init","condition":"SUCCESS"}]}]}`)
	st := e.waitStatus(arn, agent.TaskStopped)
	const reason = "CannotStartContainerError: dependency graph: failed to resolve container ordering dependency [init] for target [app] as dependency did not exit successfully (exit code 3)"
	if st.StopCode != agent.StopTaskFailedToStart || st.StoppedReason != reason {
		t.Errorf("stopCode %q reason %q, want TaskFailedToStart and %q", st.StopCode, st.StoppedReason, reason)
	}
	// As the ECS agent does, the container that cannot start is stopped
	// with the exit code of a SIGTERM and the failure as its reason.
	if app := ctrOf(t, st, "app"); !app.StartedAt.IsZero() || exitCode(app) != "143" || app.Reason != reason {
		t.Errorf("app: started at %v, exit %s, reason %q; want never started, 143 and the task's reason", app.StartedAt, exitCode(app), app.Reason)
	}
	if c := ctrOf(t, st, "init"); exitCode(c) != "3" {
		t.Errorf("init exit code %s, want 3", exitCode(c))
	}
	e.waitStatus(arn, agent.TaskDeleted)
}

func TestEssentialExitStopsTheOthersWithSIGTERMThenSIGKILL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// app starts once the other two run and exits a second later, by when
	// they have set up their signal handling, however slow their start.
	arn := e.run(`{"family":"essential","containerDefinitions":[
		{"name":"app","image":"berth/demo","memory":32,"command":["exit","3","--after","1s"],
		 "dependsOn":[{"containerName":"gentle","condition":"START"},{"containerName":"stubborn","condition":"START"}]},
		{"name":"gentle","image":"berth/demo","memory":32,"essential":false,"command":["sleep","120"],"stopTimeout":30},
		{"name":"stubborn","image":"berth/demo","memory":32,"essential":false,"command":["sleep","--ignore-sigterm","120"],"stopTimeout":2}]}`)
	st := e.waitStatus(arn, agent.TaskStopped)
	if st.StopCode != agent.StopEssentialContainerExited || st.StoppedReason != "Essential container in task exited" {
		t.Errorf("stopCode %q reason %q, want EssentialContainerExited, \"Essential container in task exited\"", st.StopCode, st.StoppedReason)
	}
	for name, want := range map[string]string{"app": "3", "gentle": "0", "stubborn": "137"} {
		if c := ctrOf(t, st, name); exitCode(c) != want {
			t.Errorf("%s: exit code %s, want %s", name, exitCode(c), want)
		}
	}
	for _, ts := range []time.Time{st.StoppingAt, st.ExecutionStoppedAt, st.StoppedAt} {
		if ts.IsZero() {
			t.Errorf("stoppingAt %v, executionStoppedAt %v, stoppedAt %v: all must be set", st.StoppingAt, st.ExecutionStoppedAt, st.StoppedAt)
			break
		}
	}
	e.waitStatus(arn, agent.TaskDeleted)
}

func TestOutOfMemoryKillIsTheContainerReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"oom","containerDefinitions":[
		{"name":"hog","image":"berth/demo","memory":16,"command":["mem","256m","--hold"]}]}`)
	st := e.waitStatus(arn, agent.TaskStopped)
	hog := ctrOf(t, st, "hog")
	if hog.Reason != "OutOfMemoryError: Container killed due to memory usage" || exitCode(hog) != "137" {
		t.Errorf("hog: reason %q exit %s, want the OutOfMemoryError reason and 137", hog.Reason, exitCode(hog))
	}
	e.waitStatus(arn, agent.TaskDeleted)
}

func TestTaskCgroupHoldsTheTaskLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"cgroup","cpu":"512","memory":"256","containerDefinitions":[
		{"name":"a","image":"berth/demo","cpu":128,"memory":64,"memoryReservation":32,"command":["sleep","60"],"stopTimeout":2},
		{"name":"b","image":"berth/demo","command":["sleep","60"],"stopTimeout":2}]}`)
	st := e.waitRunning(arn)
	parent := "ecs/" + st.ID()
	read := func(parts ...string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(append([]string{"/sys/fs/cgroup"}, parts...)...))
		if err != nil {
			t.Fatalf("read cgroup file: %v", err)
		}
		return strings.TrimSpace(string(b))
	}
	tests := []struct{ file, want string }{
		{filepath.Join("cpu", parent, "cpu.cfs_quota_us"), "50000"},
		{filepath.Join("cpu", parent, "cpu.cfs_period_us"), "100000"},
		{filepath.Join("memory", parent, "memory.limit_in_bytes"), strconv.Itoa(256 << 20)},
		{filepath.Join("memory", parent, ctrOf(t, st, "a").DockerID, "memory.limit_in_bytes"), strconv.Itoa(64 << 20)},
		{filepath.Join("memory", parent, ctrOf(t, st, "a").DockerID, "memory.soft_limit_in_bytes"), strconv.Itoa(32 << 20)},
		{filepath.Join("cpu", parent, ctrOf(t, st, "a").DockerID, "cpu.shares"), "128"},
		{filepath.Join("cpu", parent, ctrOf(t, st, "b").DockerID, "cpu.shares"), "2"},
	}
	for _, tt := range tests {
		if got := read(tt.file); got != tt.want {
			t.Errorf("%s = %s, want %s", tt.file, got, tt.want)
		}
	}
	e.stop(arn)
}

func TestAWSVPCContainersShareLocalhostAndTheTaskAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"vpc","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[
		{"name":"web","image":"berth/demo","command":["serve","--port","8080"],"stopTimeout":2,
		 "portMappings":[{"containerPort":8080}],
		 "healthCheck":{"command":["CMD","/berth","demo","probe","http://localhost:8080/health"],"interval":5,"timeout":2,"retries":3}},
		{"name":"client","image":"berth/demo","essential":false,"command":["probe","http://localhost:8080/health"],
		 "dependsOn":[{"containerName":"web","condition":"HEALTHY"}]}]}`)
	st := e.waitFor(arn, "client STOPPED", func(s agent.TaskState) bool {
		c, _ := s.Container("client")
		return c.LastStatus == agent.ContainerStopped
	})
	if c := ctrOf(t, st, "client"); exitCode(c) != "0" {
		t.Errorf("client probing localhost:8080 exited %s, want 0 (%s)", exitCode(c), describe(st))
	}
	if st.Address == "" {
		t.Fatal("an awsvpc task has no address")
	}
	for _, c := range st.Containers {
		if c.IP != st.Address {
			t.Errorf("container %s has address %q, want the task's %s", c.Name, c.IP, st.Address)
		}
	}
	if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
		t.Errorf("GET on the task's address answered %d", code)
	}
	e.stop(arn)
}

func TestPullBehaviours(t *testing.T) {
	t.Parallel()
	api := newEnv(t).api
	// An image in a registry that cannot answer, but also in the cache.
	cached := "localhost:1/berth-agent-test/cached:" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ctx := context.Background()
	if err := api.ImageTag(ctx, "berth/demo:latest", cached); err != nil {
		t.Fatalf("tag the demo image: %v", err)
	}
	t.Cleanup(func() { api.ImageRemove(context.Background(), cached, image.RemoveOptions{}) })
	missing := "localhost:1/berth-agent-test/missing:latest"
	tests := []struct {
		name     string
		image    string
		behavior agent.PullBehavior
		runs     bool
	}{
		{"default falls back to a cached image", cached, agent.PullDefault, true},
		{"prefer-cached uses the cached image", cached, agent.PullPreferCached, true},
		{"always fails even with a cached image", cached, agent.PullAlways, false},
		{"default fails without a cached image", missing, agent.PullDefault, false},
		{"prefer-cached fails without a cached image", missing, agent.PullPreferCached, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			arn := e.run(fmt.Sprintf(`{"family":"pull","containerDefinitions":[{"name":"app","image":%q,"memory":32,"command":["sleep","60"],"stopTimeout":2}]}`, tt.image),
				func(s *agent.TaskSpec) { s.PullBehavior = tt.behavior })
			st := e.waitFor(arn, "RUNNING or STOPPED", func(s agent.TaskState) bool {
				return s.LastStatus == agent.TaskRunning || s.LastStatus == agent.TaskStopped
			})
			if tt.runs {
				if st.LastStatus != agent.TaskRunning {
					t.Fatalf("task did not run: %s", describe(st))
				}
				if st.PullStartedAt.IsZero() || st.PullStoppedAt.Before(st.PullStartedAt) {
					t.Errorf("pullStartedAt %v pullStoppedAt %v", st.PullStartedAt, st.PullStoppedAt)
				}
				e.stop(arn)
				return
			}
			if st.LastStatus != agent.TaskStopped || st.StopCode != agent.StopTaskFailedToStart ||
				!strings.HasPrefix(st.StoppedReason, "CannotPullContainerError: ") {
				t.Errorf("got %s, want STOPPED with TaskFailedToStart and CannotPullContainerError", describe(st))
			}
			e.waitStatus(arn, agent.TaskDeleted)
		})
	}
}

func TestNewAgentRecoversRunningTasks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"recover","containerDefinitions":[
		{"name":"app","image":"berth/demo","memory":32,"command":["sleep","120"],"stopTimeout":2},
		{"name":"side","image":"berth/demo","memory":32,"essential":false,"command":["sleep","120"],"stopTimeout":2}]}`)
	before := e.waitRunning(arn)
	e.agent.Close()

	// While no agent watches, a container disappears.
	side := ctrOf(t, before, "side")
	if err := forceRemove(e, side.DockerID); err != nil {
		t.Fatal(err)
	}
	e.start()
	after, ok := e.agent.Task(arn)
	if !ok {
		t.Fatalf("the new agent does not know task %s", arn)
	}
	if after.LastStatus != agent.TaskRunning || after.Family != "recover" || after.CreatedAt.IsZero() {
		t.Errorf("recovered task: %s, family %q, createdAt %v", describe(after), after.Family, after.CreatedAt)
	}
	if app := ctrOf(t, after, "app"); app.DockerID != ctrOf(t, before, "app").DockerID || app.LastStatus != agent.ContainerRunning {
		t.Errorf("recovered app: %+v", app)
	}
	if s := ctrOf(t, after, "side"); s.LastStatus != agent.ContainerStopped || !strings.HasPrefix(s.Reason, "ContainerVanishedError") {
		t.Errorf("vanished side: status %s reason %q, want STOPPED with ContainerVanishedError", s.LastStatus, s.Reason)
	}
	// The new agent follows the task on: an exit it did not cause is seen.
	e.stop(arn)
}

func TestDockerVolumesFollowTheirScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	shared := "berth-agent-test-shared-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	arn := e.run(fmt.Sprintf(`{"family":"dockervol","volumes":[
		{"name":"mine","dockerVolumeConfiguration":{"scope":"task","driver":"local"}},
		{"name":%q,"dockerVolumeConfiguration":{"scope":"shared","autoprovision":true,"driver":"local"}}],
		"containerDefinitions":[
		{"name":"a","image":"berth/demo","memory":32,"essential":false,"command":["write","/shared/msg","kept"],
		 "mountPoints":[{"sourceVolume":%q,"containerPath":"/shared"},{"sourceVolume":"mine","containerPath":"/mine"}]},
		{"name":"b","image":"berth/demo","memory":32,"command":["read","/shared/msg"],
		 "mountPoints":[{"sourceVolume":%q,"containerPath":"/shared","readOnly":true}],
		 "dependsOn":[{"containerName":"a","condition":"SUCCESS"}]}]}`, shared, shared, shared))
	st := e.waitStatus(arn, agent.TaskStopped)
	if b := ctrOf(t, st, "b"); exitCode(b) != "0" {
		t.Errorf("b read the shared volume with exit code %s, want 0 (%s)", exitCode(b), describe(st))
	}
	e.waitStatus(arn, agent.TaskDeleted)
	// The task-scoped volume went with the task (the cleanup checks it);
	// the shared one stays for the next task.
	if _, err := e.api.VolumeInspect(context.Background(), shared); err != nil {
		t.Errorf("the shared volume is gone after the task: %v", err)
	}
}
