package agent_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/demo"
)

// assertAlone fails the test unless the task runs with no pause container,
// its one container web on the task network itself at the task's address
// (want, when set), answering there, and with metadata, with its task
// metadata read from inside (an agent started without the port of the one
// before answers a recovered task's at another).
func assertAlone(t *testing.T, e *env, st agent.TaskState, want string, metadata bool) {
	t.Helper()
	if n := pauseContainers(t, e, st.ARN); n != 0 {
		t.Errorf("the task has %d pause containers, want none", n)
	}
	web := ctrOf(t, st, "web")
	info, err := e.api.ContainerInspect(context.Background(), web.DockerID)
	if err != nil {
		t.Fatalf("inspect web: %v", err)
	}
	ep := info.NetworkSettings.Networks[e.cfg.TaskNetwork]
	if ep == nil || ep.IPAddress == "" {
		t.Fatalf("web is not on the task network %s: network mode %s, networks %v", e.cfg.TaskNetwork, info.HostConfig.NetworkMode, info.NetworkSettings.Networks)
	}
	if st.Address != ep.IPAddress || web.IP != ep.IPAddress || (want != "" && st.Address != want) {
		t.Errorf("task at %q, web reported at %q, web on the network at %s; want all at %s", st.Address, web.IP, ep.IPAddress, cmpOr(want, ep.IPAddress))
	}
	if !strings.HasPrefix(info.Name, "/ecs-") {
		t.Errorf("web's docker name %s is not the ECS agent's kind", info.Name)
	}
	var page demo.Description
	getJSON(t, "http://"+st.Address+":8080/json", &page)
	if md := page.Metadata; metadata && (md == nil || md.Error != "") {
		t.Errorf("web could not read its task metadata: %+v", md)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// pauseContainers counts the task's pause containers on the engine.
func pauseContainers(t *testing.T, e *env, arn string) int {
	t.Helper()
	list, err := e.api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", agent.LabelTaskARN+"="+arn),
		filters.Arg("label", agent.LabelContainerName+"=~internal~ecs~pause"),
	)})
	if err != nil {
		t.Fatalf("list the task's pause containers: %v", err)
	}
	return len(list)
}

// An awsvpc task of one container, with nothing to share a namespace
// with, has no pause container on an agent that keeps no spare: its
// container joins the task network itself, at the address the engine
// gives it or at the one the task asks for, and is reached there. Its
// exit stops the task as any essential container's does, and nothing of
// it stays.
func TestAWSVPCTaskOfOneContainerRunsWithoutAPauseContainer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.SparePause = false })
	first := e.run(spareTask)
	st := e.waitRunning(first)
	assertAlone(t, e, st, "", true)

	// An address of the network's the engine has given nobody.
	nw, err := e.api.NetworkInspect(context.Background(), e.cfg.TaskNetwork, network.InspectOptions{})
	if err != nil || len(nw.IPAM.Config) == 0 {
		t.Fatalf("inspect the task network: %v %+v", err, nw.IPAM)
	}
	_, subnet, err := net.ParseCIDR(nw.IPAM.Config[0].Subnet)
	if err != nil {
		t.Fatal(err)
	}
	ip := subnet.IP.To4()
	asked := fmt.Sprintf("%d.%d.%d.200", ip[0], ip[1], ip[2])
	second := e.run(spareTask, func(s *agent.TaskSpec) { s.Address = asked })
	assertAlone(t, e, e.waitRunning(second), asked, true)

	stopped := e.stop(first)
	if stopped.StopCode != agent.StopUserInitiated || exitCode(ctrOf(t, stopped, "web")) != "0" {
		t.Errorf("stopped task: %s, want UserInitiated and web exited 0", describe(stopped))
	}
	deprovisioning := func(s agent.TaskState) bool { return s.LastStatus == agent.TaskDeprovisioning }
	if _, ok := e.events.wait(first, deprovisioning, 0); !ok {
		t.Errorf("the stopped task never was DEPROVISIONING, as every awsvpc task is on ECS")
	}
	if _, err := e.api.ContainerInspect(context.Background(), ctrOf(t, st, "web").DockerID); err == nil {
		t.Errorf("web of the stopped task is still on the engine")
	}
	secondWeb := ctrOf(t, e.waitRunning(second), "web").DockerID
	if err := e.api.ContainerKill(context.Background(), secondWeb, "KILL"); err != nil {
		t.Fatalf("kill web: %v", err)
	}
	exited := e.waitStatus(second, agent.TaskStopped)
	if exited.StopCode != agent.StopEssentialContainerExited || exited.StoppedReason != "Essential container in task exited" {
		t.Errorf("task whose container was killed: %s, want EssentialContainerExited", describe(exited))
	}
	e.waitStatus(second, agent.TaskDeleted)
}

// A task with something to share a namespace with keeps its pause
// container, as does every awsvpc task of an agent that keeps spares.
func TestAWSVPCTasksWithNamespacesToShareKeepTheirPauseContainer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, def string
		spare     bool
	}{
		{name: "two containers", def: pausedTask},
		{name: "one container with pidMode task", def: `{"family":"pidtask","networkMode":"awsvpc","pidMode":"task","cpu":"256","memory":"512","containerDefinitions":[
			{"name":"web","image":"berth/demo","command":["serve","--port","8080"],"stopTimeout":2,"portMappings":[{"containerPort":8080}]}]}`},
		{name: "one container with ipcMode task", def: `{"family":"ipctask","networkMode":"awsvpc","ipcMode":"task","cpu":"256","memory":"512","containerDefinitions":[
			{"name":"web","image":"berth/demo","command":["serve","--port","8080"],"stopTimeout":2,"portMappings":[{"containerPort":8080}]}]}`},
		{name: "one container on an agent that keeps spares", def: spareTask, spare: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *agent.Config) { c.SparePause = tt.spare })
			arn := e.run(tt.def)
			st := e.waitRunning(arn)
			if n := pauseContainers(t, e, arn); n != 1 {
				t.Errorf("the task has %d pause containers, want 1", n)
			}
			if mode := webNetworkMode(t, e, st); !mode.IsContainer() {
				t.Errorf("web is in network mode %s, not in its pause container's", mode)
			}
			if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
				t.Errorf("GET on the task's address answered %d", code)
			}
			e.stop(arn)
		})
	}
}

func webNetworkMode(t *testing.T, e *env, st agent.TaskState) container.NetworkMode {
	t.Helper()
	info, err := e.api.ContainerInspect(context.Background(), ctrOf(t, st, "web").DockerID)
	if err != nil {
		t.Fatalf("inspect web: %v", err)
	}
	return info.HostConfig.NetworkMode
}

// A new agent recovers a task without a pause container as such: running
// at its address, not stopped for a pause container it never had; its
// stop then leaves nothing.
func TestNewAgentRecoversAnAWSVPCTaskWithoutAPauseContainer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.SparePause = false })
	arn := e.run(spareTask)
	was := e.waitRunning(arn)
	assertAlone(t, e, was, "", true)
	e.agent.Close()

	e.start()
	after, ok := e.agent.Task(arn)
	if !ok {
		t.Fatalf("the new agent does not know task %s", arn)
	}
	if after.LastStatus != agent.TaskRunning || after.DesiredStatus != agent.TaskRunning || after.Address != was.Address {
		t.Fatalf("recovered task: %s at %q, want RUNNING at %s", describe(after), after.Address, was.Address)
	}
	if web := ctrOf(t, after, "web"); web.IP != was.Address || web.DockerID != ctrOf(t, was, "web").DockerID {
		t.Errorf("recovered web: docker ID %s address %q", web.DockerID, web.IP)
	}
	assertAlone(t, e, after, was.Address, false)
	st := e.stop(arn)
	if st.StopCode != agent.StopUserInitiated || exitCode(ctrOf(t, st, "web")) != "0" {
		t.Errorf("stopped task: %s, want UserInitiated and web exited 0", describe(st))
	}
}
