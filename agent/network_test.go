package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/internal/testenv"
)

// freePort returns a TCP port no one listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// interfaces lists the network interfaces in a running container's
// network namespace, read from the host through its main process.
func interfaces(t *testing.T, e *env, dockerID string) []string {
	t.Helper()
	info, err := e.api.ContainerInspect(context.Background(), dockerID)
	if err != nil {
		t.Fatalf("inspect container %s: %v", dockerID, err)
	}
	if info.State == nil || info.State.Pid == 0 {
		t.Fatalf("container %s is not running", dockerID)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", info.State.Pid))
	if err != nil {
		t.Fatalf("read the container's interfaces: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok {
			names = append(names, strings.TrimSpace(name))
		}
	}
	sort.Strings(names)
	return names
}

// pauseContainer returns the ID of the task's pause container.
func pauseContainer(t *testing.T, e *env, arn string) string {
	t.Helper()
	list, err := e.api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", agent.LabelTaskARN+"="+arn),
		filters.Arg("label", agent.LabelContainerName+"=~internal~ecs~pause"),
	)})
	if err != nil || len(list) != 1 {
		t.Fatalf("find the pause container: %d found, %v", len(list), err)
	}
	return list[0].ID
}

// bridgeGateway returns the host's address on Docker's default bridge,
// which containers on the bridge reach the host at.
func bridgeGateway(t *testing.T, api client.APIClient) string {
	t.Helper()
	bridge, err := api.NetworkInspect(context.Background(), "bridge", network.InspectOptions{})
	if err != nil {
		t.Fatalf("inspect the bridge network: %v", err)
	}
	for _, c := range bridge.IPAM.Config {
		if c.Gateway != "" {
			return c.Gateway
		}
	}
	// The engine does not always report the default bridge's gateway; the
	// bridge interface has it.
	name := bridge.Options["com.docker.network.bridge.name"]
	iface, err := net.InterfaceByName(name)
	if err != nil {
		t.Fatalf("find the bridge interface %q: %v", name, err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		t.Fatalf("addresses of %s: %v", name, err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	t.Fatalf("the bridge interface %s has no IPv4 address", name)
	return ""
}

func TestHostNetworkServesOnTheHostAddressWithoutMapping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	port := freePort(t)
	arn := e.run(fmt.Sprintf(`{"family":"hostnet","networkMode":"host","containerDefinitions":[
		{"name":"web","image":"berth/demo","memory":32,"stopTimeout":2,
		 "command":["serve","--port","%d"],"portMappings":[{"containerPort":%d}]}]}`, port, port))
	st := e.waitRunning(arn)
	web := ctrOf(t, st, "web")
	want := []agent.NetworkBinding{{BindIP: st.HostIP, ContainerPort: port, HostPort: port, Protocol: "tcp"}}
	if !reflect.DeepEqual(web.NetworkBindings, want) {
		t.Errorf("networkBindings %+v, want %+v", web.NetworkBindings, want)
	}
	if web.IP != "" {
		t.Errorf("a container on the host network has address %q, want none of its own", web.IP)
	}
	info, err := e.api.ContainerInspect(context.Background(), web.DockerID)
	if err != nil {
		t.Fatalf("inspect web: %v", err)
	}
	if info.HostConfig.NetworkMode != "host" || len(info.HostConfig.PortBindings) != 0 {
		t.Errorf("web runs in network mode %q with port bindings %v, want host and none", info.HostConfig.NetworkMode, info.HostConfig.PortBindings)
	}
	if code := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); code != http.StatusOK {
		t.Errorf("GET on the host's port %d answered %d", port, code)
	}
	e.stop(arn)
}

func TestNoneNetworkHasOnlyLoopbackAndCannotReachOut(t *testing.T) {
	t.Parallel()
	api := testenv.Docker(t)
	// A server on the host, reached from a bridge container through the
	// bridge's gateway: the same probe must fail from a task without a
	// network.
	l, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	url := fmt.Sprintf("http://%s:%d/", bridgeGateway(t, api), l.Addr().(*net.TCPAddr).Port)

	tests := []struct {
		mode       string
		wantExit   string
		wantIfaces []string
	}{
		{"bridge", "0", []string{"eth0", "lo"}},
		{"none", "1", []string{"lo"}},
	}
	for _, tt := range tests {
		t.Run("networkMode "+tt.mode, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			arn := e.run(fmt.Sprintf(`{"family":"net%s","networkMode":%q,"containerDefinitions":[
				{"name":"probe","image":"berth/demo","memory":32,"essential":false,"command":["probe",%q,"--timeout","5s"]},
				{"name":"keeper","image":"berth/demo","memory":32,"command":["sleep","60"],"stopTimeout":2}]}`, tt.mode, tt.mode, url))
			st := e.waitFor(arn, "RUNNING with probe STOPPED", func(s agent.TaskState) bool {
				c, _ := s.Container("probe")
				return s.LastStatus >= agent.TaskRunning && c.LastStatus == agent.ContainerStopped
			})
			if st.LastStatus != agent.TaskRunning {
				t.Fatalf("task is not running: %s", describe(st))
			}
			if c := ctrOf(t, st, "probe"); exitCode(c) != tt.wantExit {
				t.Errorf("probe of %s exited %s, want %s; it printed %q", url, exitCode(c), tt.wantExit, e.logs(arn, "probe"))
			}
			keeper := ctrOf(t, st, "keeper")
			if got := interfaces(t, e, keeper.DockerID); !reflect.DeepEqual(got, tt.wantIfaces) {
				t.Errorf("interfaces %v, want %v", got, tt.wantIfaces)
			}
			if tt.mode == "none" && (keeper.IP != "" || len(keeper.NetworkBindings) != 0) {
				t.Errorf("address %q and bindings %+v, want none", keeper.IP, keeper.NetworkBindings)
			}
			e.stop(arn)
		})
	}
}

// A new agent takes over awsvpc tasks: each keeps its address. The task
// network stays while the agent lives and goes when it closes with nothing
// attached.
func TestNewAgentRecoversAWSVPCTasksAndStopsThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def := `{"family":"vpcrecover","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[
		{"name":"web","image":"berth/demo","command":["serve","--port","8080"],"stopTimeout":2,"portMappings":[{"containerPort":8080}]}]}`
	first, second := e.run(def), e.run(def)
	before := map[string]agent.TaskState{first: e.waitRunning(first), second: e.waitRunning(second)}
	pauses := map[string]string{first: pauseContainer(t, e, first), second: pauseContainer(t, e, second)}
	// Serving, the programs also stop cleanly on SIGTERM: one signalled
	// before it has set itself up would die with another exit code.
	for _, st := range before {
		if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
			t.Fatalf("GET on the task's address answered %d", code)
		}
	}
	e.agent.Close()

	e.start()
	for arn, was := range before {
		after, ok := e.agent.Task(arn)
		if !ok {
			t.Fatalf("the new agent does not know task %s", arn)
		}
		if after.LastStatus != agent.TaskRunning || after.Address == "" || after.Address != was.Address {
			t.Errorf("recovered task: %s at %q, want RUNNING at %s", describe(after), after.Address, was.Address)
		}
		if web := ctrOf(t, after, "web"); web.IP != was.Address || web.DockerID != ctrOf(t, was, "web").DockerID {
			t.Errorf("recovered web: docker ID %s address %q", web.DockerID, web.IP)
		}
	}

	for i, arn := range []string{first, second} {
		st := e.stop(arn)
		if st.StopCode != agent.StopUserInitiated || exitCode(ctrOf(t, st, "web")) != "0" {
			t.Errorf("stopped task: %s, want UserInitiated and web exited 0", describe(st))
		}
		if _, err := e.api.ContainerInspect(context.Background(), pauses[arn]); err == nil {
			t.Errorf("the pause container %s is still on the engine", pauses[arn])
		}
		if !networkExists(e) {
			t.Errorf("after %d of 2 tasks stopped, the task network is gone while the agent lives", i+1)
		}
		if i == 0 {
			// The task left on the network still answers.
			if code := get(t, "http://"+before[second].Address+":8080/"); code != http.StatusOK {
				t.Errorf("GET on the remaining task's address answered %d", code)
			}
		}
	}
}

func networkExists(e *env) bool {
	_, err := e.api.NetworkInspect(context.Background(), e.cfg.TaskNetwork, network.InspectOptions{})
	return err == nil
}

// waitSpare waits for the agent to have a started spare pause container
// and returns its ID and address.
func waitSpare(t *testing.T, e *env) (id, addr string) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		for _, id := range spares(t, e) {
			info, err := e.api.ContainerInspect(context.Background(), id)
			if err != nil || info.State == nil || !info.State.Running {
				continue
			}
			if ep := info.NetworkSettings.Networks[e.cfg.TaskNetwork]; ep != nil && ep.IPAddress != "" {
				return id, ep.IPAddress
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the agent made no spare pause container")
	return "", ""
}

// spares lists the agent's spare pause containers that no task took,
// running or not. A task's containers name the spare it took.
func spares(t *testing.T, e *env) []string {
	t.Helper()
	list, err := e.api.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", e.label))})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	taken := map[string]bool{}
	for _, c := range list {
		taken[c.Labels["berth.pause-container"]] = true
	}
	var ids []string
	for _, c := range list {
		if c.Labels["berth.spare-pause"] == "true" && !taken[c.ID] {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

const spareTask = `{"family":"spare","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[
	{"name":"web","image":"berth/demo","command":["serve","--port","8080"],"stopTimeout":2,"portMappings":[{"containerPort":8080}]}]}`

// pausedTask is an awsvpc task with a pause container on every agent: its
// two containers share the network namespace.
const pausedTask = `{"family":"paused","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[
	{"name":"web","image":"berth/demo","command":["serve","--port","8080"],"stopTimeout":2,"portMappings":[{"containerPort":8080}]},
	{"name":"side","image":"berth/demo","command":["sleep","600"],"essential":false,"stopTimeout":1}]}`

// An agent told to keep no spare (one that runs a single task, as berth run
// does) starts no container beyond the task's own.
func TestAgentWithoutSparePauseMakesNone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.SparePause = false })
	first := e.run(pausedTask)
	e.waitRunning(first)
	// With spares on, this task would take (or wait for) the spare made
	// when the first one ran; its pause container tells which it got.
	second := e.run(pausedTask)
	st := e.waitRunning(second)
	info, err := e.api.ContainerInspect(context.Background(), ctrOf(t, st, "web").DockerID)
	if err != nil {
		t.Fatalf("inspect web: %v", err)
	}
	pause, err := e.api.ContainerInspect(context.Background(), strings.TrimPrefix(string(info.HostConfig.NetworkMode), "container:"))
	if err != nil {
		t.Fatalf("inspect the pause container: %v", err)
	}
	if pause.Config.Labels["berth.spare-pause"] == "true" {
		t.Errorf("the second task got a spare pause container from an agent without SparePause")
	}
	e.stop(first)
	e.stop(second)
	if left := spares(t, e); len(left) != 0 {
		t.Errorf("an agent without SparePause made spares %v", left)
	}
}

// Once an awsvpc task runs, the agent starts a spare pause container; the
// next awsvpc task takes it, address and all, and a new agent recovers that
// task through it. Nothing of it outlives the agents.
func TestAWSVPCTaskTakesTheSparePauseContainerAndIsRecovered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.run(spareTask)
	e.waitRunning(first)
	spareID, spareAddr := waitSpare(t, e)

	second := e.run(spareTask)
	st := e.waitRunning(second)
	if st.Address != spareAddr {
		t.Errorf("the task took address %q, want the spare's %s", st.Address, spareAddr)
	}
	if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
		t.Errorf("GET on the task's address answered %d", code)
	}
	info, err := e.api.ContainerInspect(context.Background(), ctrOf(t, st, "web").DockerID)
	if err != nil {
		t.Fatalf("inspect web: %v", err)
	}
	if want := "container:" + spareID; string(info.HostConfig.NetworkMode) != want {
		t.Errorf("web joins %s, want %s", info.HostConfig.NetworkMode, want)
	}
	// The task took the spare, so the agent makes another.
	if next, _ := waitSpare(t, e); next == spareID {
		t.Errorf("the spare %s was taken but is still the spare", spareID)
	}

	e.agent.Close()
	if left := spares(t, e); len(left) != 0 {
		t.Errorf("the closed agent left spares %v", left)
	}
	e.start()
	after, ok := e.agent.Task(second)
	if !ok || after.LastStatus != agent.TaskRunning || after.Address != spareAddr {
		t.Fatalf("recovered task: %s at %q, want RUNNING at %s", describe(after), after.Address, spareAddr)
	}
	e.stop(second)
	if _, err := e.api.ContainerInspect(context.Background(), spareID); err == nil {
		t.Errorf("the pause container %s the task took from the spare is still on the engine", spareID)
	}
	e.stop(first)
}

// A new agent removes a spare that no task took, as after a crash of the
// agent that made it; an agent whose spare is gone makes the next task a
// pause container of its own.
func TestNewAgentRemovesSparesNoTaskTook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.run(spareTask)
	e.waitRunning(first)
	spareID, _ := waitSpare(t, e)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	other, err := agent.New(ctx, e.cfg)
	if err != nil {
		t.Fatalf("start a second agent: %v", err)
	}
	if _, err := e.api.ContainerInspect(ctx, spareID); err == nil {
		t.Errorf("the new agent left the spare %s no task took", spareID)
	}
	if running, ok := other.Task(first); !ok || running.LastStatus != agent.TaskRunning {
		t.Errorf("the new agent does not see task %s running: %s", first, describe(running))
	}
	other.Close()

	second := e.run(spareTask)
	st := e.waitRunning(second)
	if pause := pauseContainer(t, e, second); pause == spareID {
		t.Errorf("the task took the removed spare %s", spareID)
	}
	if st.Address == "" {
		t.Error("the task has no address")
	}
	e.stop(second)
	e.stop(first)
}

// withOwnSubnet gives the agent a task network of the test's own, made
// now on a free subnet (the engine refuses one that overlaps), which a
// SpareRange needs to be known in advance; its last /24 is the range.
// Made with the agent's labels, the agent removes it as its own.
func withOwnSubnet(t *testing.T, api client.APIClient) func(*agent.Config) {
	return func(c *agent.Config) {
		labels := map[string]string{agent.LabelManaged: "true"}
		for k, v := range c.Labels {
			labels[k] = v
		}
		for i := 250; i > 200; i-- {
			subnet := fmt.Sprintf("10.%d.0.0/16", i)
			_, err := api.NetworkCreate(context.Background(), c.TaskNetwork, network.CreateOptions{
				Driver: "bridge",
				IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: subnet}}},
				Labels: labels,
			})
			if err == nil {
				c.TaskSubnet = subnet
				c.SpareRange = fmt.Sprintf("10.%d.255.0/24", i)
				return
			}
		}
		t.Fatal("no free subnet among 10.201-250.0.0/16 for the task network")
	}
}

// waitParkedSpare waits for the agent to have a started spare waiting
// off the task network, and returns its ID.
func waitParkedSpare(t *testing.T, e *env) string {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for time.Now().Before(deadline) {
		for _, id := range spares(t, e) {
			info, err := e.api.ContainerInspect(context.Background(), id)
			if err == nil && info.State != nil && info.State.Running && len(info.NetworkSettings.Networks) == 0 {
				return id
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the agent made no spare pause container waiting off the network")
	return ""
}

// An agent whose tasks come with their addresses (a server's Fargate
// agent) keeps its spare off the network; the next task takes it, and it
// holds the task's address, where the task is reached; the task after
// gets a new spare, or a pause container of its own; a restarted agent
// finds the task at its address, and nothing stays after Close.
func TestTaskWithAnAddressTakesTheParkedSpare(t *testing.T) {
	t.Parallel()
	api := testenv.Docker(t)
	e := newEnv(t, withOwnSubnet(t, api))
	prefix := strings.TrimSuffix(e.cfg.TaskSubnet, "0.0/16")
	at := func(addr string) func(*agent.TaskSpec) { return func(s *agent.TaskSpec) { s.Address = addr } }
	first := e.run(spareTask, at(prefix+"0.10"))
	if st := e.waitRunning(first); st.Address != prefix+"0.10" {
		t.Errorf("the first task is at %q, want %s0.10", st.Address, prefix)
	}
	spareID := waitParkedSpare(t, e)

	want := prefix + "0.11"
	second := e.run(spareTask, at(want))
	st := e.waitRunning(second)
	if st.Address != want {
		t.Errorf("the task is at %q, want %s", st.Address, want)
	}
	web, err := e.api.ContainerInspect(context.Background(), ctrOf(t, st, "web").DockerID)
	if err != nil {
		t.Fatalf("inspect web: %v", err)
	}
	if mode := string(web.HostConfig.NetworkMode); mode != "container:"+spareID {
		t.Errorf("web joins %s, want the spare's namespace, container:%s", mode, spareID)
	}
	pause, err := e.api.ContainerInspect(context.Background(), spareID)
	if err != nil {
		t.Fatalf("inspect the spare: %v", err)
	}
	if ep := pause.NetworkSettings.Networks[e.cfg.TaskNetwork]; ep == nil || ep.IPAddress != want || len(pause.NetworkSettings.Networks) != 1 {
		t.Errorf("the spare taken is on %v, want %s only at %s", pause.NetworkSettings.Networks, e.cfg.TaskNetwork, want)
	}
	if code := get(t, "http://"+want+":8080/"); code != http.StatusOK {
		t.Errorf("GET on the task's address answered %d", code)
	}
	if next := waitParkedSpare(t, e); next == spareID {
		t.Errorf("the spare %s was taken but is still the spare", spareID)
	}

	third := e.run(spareTask, at(prefix+"0.12"))
	if st := e.waitRunning(third); st.Address != prefix+"0.12" {
		t.Errorf("the third task is at %q, want %s0.12", st.Address, prefix)
	}

	e.agent.Close()
	if left := spares(t, e); len(left) != 0 {
		t.Errorf("the closed agent left spares %v", left)
	}
	e.start()
	if after, ok := e.agent.Task(second); !ok || after.LastStatus != agent.TaskRunning || after.Address != want {
		t.Fatalf("recovered task: %s at %q, want RUNNING at %s", describe(after), after.Address, want)
	}
	for _, arn := range []string{first, second, third} {
		e.stop(arn)
	}
	if _, err := e.api.ContainerInspect(context.Background(), spareID); err == nil {
		t.Errorf("the pause container %s the task took from the spare is still on the engine", spareID)
	}
}

// The task network stays while the agent lives, but another agent on the
// engine may remove it whenever nothing is attached: the agent's next
// awsvpc task makes it again.
func TestAWSVPCTaskMakesTheTaskNetworkAgainWhenAnotherAgentRemovedIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A task that fails before it runs leaves the network made and empty
	// (no spare is made before an awsvpc task runs).
	failed := e.run(`{"family":"netgone","networkMode":"awsvpc","cpu":"256","memory":"512","containerDefinitions":[
		{"name":"app","image":"localhost:1/berth-agent-test/missing:latest"}]}`,
		func(s *agent.TaskSpec) { s.PullBehavior = agent.PullPreferCached })
	if st := e.waitStatus(failed, agent.TaskDeleted); st.StopCode != agent.StopTaskFailedToStart {
		t.Fatalf("task: %s, want it to fail to start", describe(st))
	}
	if !networkExists(e) {
		t.Fatal("the task network is gone while the agent lives")
	}
	if err := e.api.NetworkRemove(context.Background(), e.cfg.TaskNetwork); err != nil {
		t.Fatalf("remove the task network as another agent would: %v", err)
	}
	arn := e.run(spareTask)
	st := e.waitRunning(arn)
	if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
		t.Errorf("GET on the task's address answered %d", code)
	}
	e.stop(arn)
}

// The moments at which networkRemover removes the task network.
const (
	afterNetworkCreate = "right after the agent made it"
	beforeJoinerCreate = "before the container that joins it is created"
	beforeJoinerStart  = "before the container that joins it is started"
)

// networkRemover is the engine's client with another agent beside it that
// removes the task network, while nothing is attached, at one moment of
// the making of the container that joins it (one whose network mode is
// neither another container's nor the engine's own networks): the instant
// another agent closes or reaps. It removes it once.
type networkRemover struct {
	engine.Engine
	t       *testing.T
	moment  string
	removed atomic.Bool
}

func (r *networkRemover) removeOnce(ctx context.Context, networkID string) {
	if r.removed.CompareAndSwap(false, true) {
		if err := r.Engine.NetworkRemove(ctx, networkID); err != nil {
			r.t.Errorf("remove the task network %s as another agent would: %v", r.moment, err)
		}
	}
}

func (r *networkRemover) NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error) {
	created, err := r.Engine.NetworkCreate(ctx, name, opts)
	if err == nil && r.moment == afterNetworkCreate {
		r.removeOnce(ctx, created.ID)
	}
	return created, err
}

func (r *networkRemover) ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, netCfg *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error) {
	if r.moment == beforeJoinerCreate && joinsTaskNetwork(host.NetworkMode) {
		r.removeOnce(ctx, string(host.NetworkMode))
	}
	return r.Engine.ContainerCreate(ctx, cfg, host, netCfg, platform, name)
}

func (r *networkRemover) ContainerStart(ctx context.Context, id string, opts container.StartOptions) error {
	if r.moment == beforeJoinerStart {
		info, err := r.Engine.ContainerInspect(ctx, id)
		if err == nil && joinsTaskNetwork(info.HostConfig.NetworkMode) {
			r.removeOnce(ctx, string(info.HostConfig.NetworkMode))
		}
	}
	return r.Engine.ContainerStart(ctx, id, opts)
}

// Another agent on the engine removes the task network whenever nothing is
// attached to it, which includes the instants between this agent's making
// it and the start of the container that joins it (the task's pause
// container, or its one container when it has none): the task makes it
// again and runs.
func TestAWSVPCTaskRunsWhenAnotherAgentRemovesTheTaskNetworkMidStart(t *testing.T) {
	t.Parallel()
	for _, task := range []struct{ name, def string }{
		{"a task with a pause container", pausedTask},
		{"a task of one container without one", spareTask},
	} {
		for _, moment := range []string{afterNetworkCreate, beforeJoinerCreate, beforeJoinerStart} {
			t.Run(task.name+", "+moment, func(t *testing.T) {
				t.Parallel()
				remover := &networkRemover{t: t, moment: moment}
				e := newEnv(t, func(c *agent.Config) {
					c.SparePause = false
					remover.Engine = c.Docker
					c.Docker = remover
				})
				arn := e.run(task.def)
				st := e.waitRunning(arn)
				if !remover.removed.Load() {
					t.Fatalf("the task network was never removed %s: the test tests nothing", moment)
				}
				if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
					t.Errorf("GET on the task's address answered %d", code)
				}
				e.stop(arn)
			})
		}
	}
}

// Two agents that make the task network at the same moment (the engine
// does not refuse a second network of one name) settle on one: both tasks
// run on it, the other network goes, and nothing stays once both close.
func TestTwoAgentsMakingTheTaskNetworkAtOnceShareOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.SparePause = false })
	otherCfg := e.cfg
	otherCfg.Instance = "other"
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	other, err := agent.New(ctx, otherCfg)
	if err != nil {
		t.Fatalf("start the second agent: %v", err)
	}
	defer other.Close()

	task := load(t, spareTask)
	var wg sync.WaitGroup
	states := make([]agent.TaskState, 2)
	errs := make([]error, 2)
	for i, ag := range []*agent.Agent{e.agent, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := ag.StartTask(ctx, agent.TaskSpec{Task: task})
			if err == nil {
				st, err = ag.Wait(ctx, st.ARN, agent.TaskRunning)
			}
			states[i], errs[i] = st, err
		}()
	}
	wg.Wait()
	for i, st := range states {
		if errs[i] != nil || st.LastStatus != agent.TaskRunning {
			t.Fatalf("agent %d's task: %v, %s", i, errs[i], describe(st))
		}
	}
	nets, err := e.api.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", e.cfg.TaskNetwork))})
	if err != nil {
		t.Fatal(err)
	}
	if len(nets) != 1 {
		t.Errorf("%d networks named %s, want the one both agents settled on", len(nets), e.cfg.TaskNetwork)
	}
	for i, ag := range []*agent.Agent{e.agent, other} {
		if err := ag.KillTask(ctx, states[i].ARN); err != nil {
			t.Fatal(err)
		}
		if _, err := ag.Wait(ctx, states[i].ARN, agent.TaskStopped); err != nil {
			t.Fatal(err)
		}
		if err := ag.RemoveTask(ctx, states[i].ARN); err != nil {
			t.Fatal(err)
		}
	}
	other.Close()
}

// Where two networks carry the task network's name and berth may remove
// neither (the user made them), the task takes the older one and starts:
// the container that joins it (its pause container, or its one container
// when it has none) names the network by ID at the create and at the
// start, so the engine never has to pick between the two names.
func TestAWSVPCTaskStartsWhileTwoNetworksShareTheTaskNetworkName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.SparePause = false })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	older := createDuplicateNetwork(t, e, ctx)
	createDuplicateNetwork(t, e, ctx)

	for _, task := range []struct {
		name, def string
		// joiner is the container on the network: the pause container
		// or, with none, the task's one container.
		joiner func(agent.TaskState) string
	}{
		{"the pause container", pausedTask, func(st agent.TaskState) string { return pauseContainer(t, e, st.ARN) }},
		{"a task's one container, with no pause container", spareTask, func(st agent.TaskState) string { return ctrOf(t, st, "web").DockerID }},
	} {
		arn := e.run(task.def)
		st := e.waitRunning(arn)
		info, err := e.api.ContainerInspect(ctx, task.joiner(st))
		if err != nil {
			t.Fatal(err)
		}
		if ep := info.NetworkSettings.Networks[e.cfg.TaskNetwork]; ep == nil || ep.NetworkID != older {
			t.Errorf("%s is on %+v, want the older network %s", task.name, info.NetworkSettings.Networks, older)
		}
		if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
			t.Errorf("GET on the task's address answered %d", code)
		}
		e.stop(arn)
	}
}

// joinsTaskNetwork reports whether a container of the network mode joins
// the task network itself.
func joinsTaskNetwork(mode container.NetworkMode) bool {
	return !mode.IsContainer() && !mode.IsBridge() && !mode.IsHost() && !mode.IsNone() && !mode.IsDefault()
}

// createDuplicateNetwork makes a network of the test's task network name
// as a user would, with no berth label, even when one of that name exists:
// the engine's duplicate check is asked off, through the API itself, since
// the Go client always asks it on of engines older than API 1.44. An
// engine that refuses duplicates whatever it is asked skips the test. The
// network is removed when the test ends; it returns the network's ID.
func createDuplicateNetwork(t *testing.T, e *env, ctx context.Context) string {
	t.Helper()
	dockerAPI, ok := e.api.(*client.Client)
	if !ok {
		t.Fatalf("the test needs the engine's own client, not %T", e.api)
	}
	dial := dockerAPI.Dialer()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}
	key, value, _ := strings.Cut(e.label, "=")
	body := fmt.Sprintf(`{"Name":%q,"CheckDuplicate":false,"Driver":"bridge","Labels":{%q:%q}}`, e.cfg.TaskNetwork, key, value)
	url := "http://engine/v" + dockerAPI.ClientVersion() + "/networks/create"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("create a network named %s: %v", e.cfg.TaskNetwork, err)
	}
	defer resp.Body.Close()
	var created struct{ ID, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil {
		t.Fatalf("create a network named %s: %s: %v", e.cfg.TaskNetwork, resp.Status, err)
	}
	switch {
	case resp.StatusCode == http.StatusConflict:
		t.Skipf("this engine refuses a second network of one name (%s), so two can only meet in a race", created.Message)
	case resp.StatusCode != http.StatusCreated:
		t.Fatalf("create a network named %s: %s: %s", e.cfg.TaskNetwork, resp.Status, created.Message)
	}
	t.Cleanup(func() {
		if err := e.api.NetworkRemove(context.Background(), created.ID); err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("remove the test's network %s: %v", created.ID, err)
		}
	})
	return created.ID
}

// berth run has its agent make an awsvpc task's network while it places
// the task; a run that then ends without starting it leaves no network.
func TestPrepareTaskNetworkMakesTheNetworkThatCloseRemoves(t *testing.T) {
	e := newEnv(t, func(c *agent.Config) { c.SparePause = false })
	if networkExists(e) {
		t.Fatalf("the task network %s is there before the agent made it", e.cfg.TaskNetwork)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.agent.PrepareTaskNetwork(ctx); err != nil {
		t.Fatalf("prepare the task network: %v", err)
	}
	if !networkExists(e) {
		t.Fatalf("the task network %s is not there after PrepareTaskNetwork", e.cfg.TaskNetwork)
	}
	if err := e.agent.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if networkExists(e) {
		t.Errorf("the task network %s is still there after Close", e.cfg.TaskNetwork)
	}
}
