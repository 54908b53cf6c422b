package agent_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/berthdev/berth/agent"
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

// A new agent takes over awsvpc tasks: each keeps its address, and the
// task network, counted again from the tasks found, goes with the last.
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

	networkExists := func() bool {
		_, err := e.api.NetworkInspect(context.Background(), e.cfg.TaskNetwork, network.InspectOptions{})
		return err == nil
	}
	for i, arn := range []string{first, second} {
		st := e.stop(arn)
		if st.StopCode != agent.StopUserInitiated || exitCode(ctrOf(t, st, "web")) != "0" {
			t.Errorf("stopped task: %s, want UserInitiated and web exited 0", describe(st))
		}
		if _, err := e.api.ContainerInspect(context.Background(), pauses[arn]); err == nil {
			t.Errorf("the pause container %s is still on the engine", pauses[arn])
		}
		if last := i == 1; networkExists() == last {
			t.Errorf("after %d of 2 tasks stopped, the task network exists: %v", i+1, !last)
		}
		if i == 0 {
			// The task left on the network still answers.
			if code := get(t, "http://"+before[second].Address+":8080/"); code != http.StatusOK {
				t.Errorf("GET on the remaining task's address answered %d", code)
			}
		}
	}
}
