package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/demo"
)

// getJSON fetches url, retrying until it answers, and decodes its JSON body
// into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp := fetch(t, url)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
}

// Every container with a network finds its task metadata endpoint in
// ECS_CONTAINER_METADATA_URI_V4, whatever its network mode, and reads its
// task and itself there as ECS's version 4 shows them. The demo server in
// the task fetches both and shows them in its /json page.
func TestContainersReadTheirTaskMetadataEndpoint(t *testing.T) {
	t.Parallel()
	hostPort := freePort(t)
	tests := []struct {
		mode, def  string
		url        func(*testing.T, agent.TaskState) string
		launchType string
		limits     map[string]any // the task's Limits, nil for none
	}{
		{
			mode: "bridge",
			def: `{"family":"meta-bridge","containerDefinitions":[{"name":"web","image":"berth/demo","memory":64,"cpu":128,"stopTimeout":2,
				"command":["serve"],"portMappings":[{"containerPort":8080}],"dockerLabels":{"team":"blue"}}]}`,
			url: func(t *testing.T, st agent.TaskState) string {
				if len(st.Containers[0].NetworkBindings) != 1 {
					t.Fatalf("web has network bindings %+v, want one", st.Containers[0].NetworkBindings)
				}
				return fmt.Sprintf("http://127.0.0.1:%d/json", st.Containers[0].NetworkBindings[0].HostPort)
			},
			launchType: "EC2",
		},
		{
			mode: "awsvpc",
			def: `{"family":"meta-awsvpc","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
				"containerDefinitions":[{"name":"web","image":"berth/demo","stopTimeout":2,"command":["serve"],"portMappings":[{"containerPort":8080}]}]}`,
			url:        func(_ *testing.T, st agent.TaskState) string { return "http://" + st.Address + ":8080/json" },
			launchType: "FARGATE",
			limits:     map[string]any{"CPU": 0.25, "Memory": 512.0},
		},
		{
			mode: "host",
			def: fmt.Sprintf(`{"family":"meta-host","networkMode":"host","containerDefinitions":[{"name":"web","image":"berth/demo","memory":64,"stopTimeout":2,
				"command":["serve","--port","%d"],"portMappings":[{"containerPort":%d}]}]}`, hostPort, hostPort),
			url:        func(*testing.T, agent.TaskState) string { return fmt.Sprintf("http://127.0.0.1:%d/json", hostPort) },
			launchType: "EC2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *agent.Config) { c.SparePause = false })
			arn := e.run(tt.def, func(s *agent.TaskSpec) { s.LaunchType = tt.launchType })
			st := e.waitRunning(arn)
			var page demo.Description
			getJSON(t, tt.url(t, st), &page)
			md := page.Metadata
			if md == nil {
				t.Fatalf("the container has no %s; its environment: %v", agent.EnvMetadataURIV4, page.Environment)
			}
			if md.Error != "" {
				t.Fatalf("the container could not read its metadata at %s: %s", md.URI, md.Error)
			}
			web := st.Containers[0]
			for field, want := range map[string]any{
				"TaskARN": arn, "Family": st.Family, "Revision": "1", "LaunchType": tt.launchType,
				"KnownStatus": "RUNNING", "DesiredStatus": "RUNNING",
			} {
				if got := md.Task[field]; got != want {
					t.Errorf("task %s = %v, want %v", field, got, want)
				}
			}
			if got, _ := md.Task["Limits"].(map[string]any); fmt.Sprint(got) != fmt.Sprint(tt.limits) && !(got == nil && tt.limits == nil) {
				t.Errorf("task Limits = %v, want %v", md.Task["Limits"], tt.limits)
			}
			if cs, _ := md.Task["Containers"].([]any); len(cs) != 1 {
				t.Errorf("task Containers = %v, want the one container", md.Task["Containers"])
			}
			for field, want := range map[string]any{
				"DockerId": web.DockerID, "Name": "web", "DockerName": web.DockerName, "KnownStatus": "RUNNING", "Type": "NORMAL",
			} {
				if got := md.Container[field]; got != want {
					t.Errorf("container %s = %v, want %v", field, got, want)
				}
			}
			networks, _ := md.Container["Networks"].([]any)
			var mode any
			if len(networks) == 1 {
				if nw, ok := networks[0].(map[string]any); ok {
					mode = nw["NetworkMode"]
				}
			}
			if mode != tt.mode {
				t.Errorf("container Networks = %v, want one of mode %s", md.Container["Networks"], tt.mode)
			}
			labels, _ := md.Container["Labels"].(map[string]any)
			if labels["com.amazonaws.ecs.task-arn"] != arn || (tt.mode == "bridge" && labels["team"] != "blue") {
				t.Errorf("container Labels = %v", labels)
			}
			if _, internal := labels["berth.task"]; internal {
				t.Errorf("the container's Labels show berth's own: %v", labels)
			}

			// The other paths, read from the host at the URLs the
			// container was given.
			uri := page.Environment[agent.EnvMetadataURIV4]
			var stats map[string]json.RawMessage
			getJSON(t, uri+"/task/stats", &stats)
			var one struct {
				Read        time.Time       `json:"read"`
				MemoryStats json.RawMessage `json:"memory_stats"`
			}
			if err := json.Unmarshal(stats[web.DockerID], &one); err != nil || one.Read.IsZero() {
				t.Errorf("task stats for %s: %s (%v)", web.DockerID, stats[web.DockerID], err)
			}
			var withTags map[string]any
			getJSON(t, uri+"/taskWithTags", &withTags)
			if withTags["TaskARN"] != arn || withTags["TaskTags"] == nil || withTags["ContainerInstanceTags"] == nil {
				t.Errorf("taskWithTags: %v", withTags)
			}
			v3 := page.Environment[agent.EnvMetadataURIV3]
			if v3 != strings.Replace(uri, "/v4/", "/v3/", 1) {
				t.Errorf("%s = %q, want the version 3 path of %s", agent.EnvMetadataURIV3, v3, uri)
			}
			var v3Task map[string]any
			getJSON(t, v3+"/task", &v3Task)
			if v3Task["TaskARN"] != arn {
				t.Errorf("version 3 task: %v", v3Task)
			}
			e.stop(arn)
		})
	}
}

// A container that could reach no endpoint is given none, and an agent
// with the endpoint turned off gives none.
func TestContainersWithoutAnEndpointGetNoMetadataVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, def string
		off       bool
	}{
		{"network mode none", `{"family":"meta-none","networkMode":"none","containerDefinitions":[
			{"name":"job","image":"berth/demo","memory":32,"command":["env"]}]}`, false},
		{"networking disabled", `{"family":"meta-disabled","containerDefinitions":[
			{"name":"job","image":"berth/demo","memory":32,"command":["env"],"disableNetworking":true}]}`, false},
		{"the endpoint turned off", `{"family":"meta-off","containerDefinitions":[
			{"name":"job","image":"berth/demo","memory":32,"command":["env"]}]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The stopped task is kept until its output is read: a cleanup
			// racing the read would take the container from under it.
			e := newEnv(t, func(c *agent.Config) { c.NoMetadataEndpoint = tt.off; c.CleanupWait = time.Hour })
			arn := e.run(tt.def)
			e.waitStatus(arn, agent.TaskStopped)
			if out := e.logs(arn, "job"); strings.Contains(out, "ECS_CONTAINER_METADATA_URI") || !strings.Contains(out, "PATH=") {
				t.Errorf("the container's environment:\n%s", out)
			}
			if err := e.agent.RemoveTask(context.Background(), arn); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An agent given a port listens there; given one another process holds, it
// says so and listens on a free one instead; and once the port is free
// again, the next agent given it has it.
func TestTheMetadataEndpointListensOnTheConfiguredPortOrSaysWhyNot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	first := newEnv(t)
	base, err := first.agent.MetadataEndpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	port := portOf(t, base)

	var mu sync.Mutex
	var said []string
	second := newEnv(t, func(c *agent.Config) {
		c.MetadataPort = port
		c.Logf = func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			said = append(said, fmt.Sprintf(format, args...))
		}
	})
	other, err := second.agent.MetadataEndpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	log := strings.Join(said, "\n")
	mu.Unlock()
	if portOf(t, other) == port || !strings.Contains(log, fmt.Sprintf("cannot have its port %d", port)) {
		t.Errorf("port %d held by another agent: the endpoint is at %s, and the agent said %q", port, other, log)
	}

	first.agent.Close()
	third := newEnv(t, func(c *agent.Config) { c.MetadataPort = port })
	if again, err := third.agent.MetadataEndpoint(ctx); err != nil || again != base {
		t.Errorf("port %d free again: the endpoint is at %s (%v), want %s", port, again, err, base)
	}
}

func portOf(t *testing.T, base string) int {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatalf("%s names no port: %v", base, err)
	}
	return port
}
