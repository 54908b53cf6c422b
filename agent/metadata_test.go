package agent_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/demo"
)

// getJSON fetches url, retrying until it answers (the server in a task may
// still be starting), and decodes its JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(testTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s", url, resp.Status)
			}
			if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
				t.Fatalf("GET %s: decode: %v", url, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
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
		url        func(agent.TaskState) string
		launchType string
		limits     map[string]any // the task's Limits, nil for none
	}{
		{
			mode: "bridge",
			def: `{"family":"meta-bridge","containerDefinitions":[{"name":"web","image":"berth/demo","memory":64,"cpu":128,"stopTimeout":2,
				"command":["serve"],"portMappings":[{"containerPort":8080}],"dockerLabels":{"team":"blue"}}]}`,
			url: func(st agent.TaskState) string {
				b := st.Containers[0].NetworkBindings[0]
				return fmt.Sprintf("http://127.0.0.1:%d/json", b.HostPort)
			},
			launchType: "EC2",
		},
		{
			mode: "awsvpc",
			def: `{"family":"meta-awsvpc","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
				"containerDefinitions":[{"name":"web","image":"berth/demo","stopTimeout":2,"command":["serve"],"portMappings":[{"containerPort":8080}]}]}`,
			url:        func(st agent.TaskState) string { return "http://" + st.Address + ":8080/json" },
			launchType: "FARGATE",
			limits:     map[string]any{"CPU": 0.25, "Memory": 512.0},
		},
		{
			mode: "host",
			def: fmt.Sprintf(`{"family":"meta-host","networkMode":"host","containerDefinitions":[{"name":"web","image":"berth/demo","memory":64,"stopTimeout":2,
				"command":["serve","--port","%d"],"portMappings":[{"containerPort":%d}]}]}`, hostPort, hostPort),
			url:        func(agent.TaskState) string { return fmt.Sprintf("http://127.0.0.1:%d/json", hostPort) },
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
			getJSON(t, tt.url(st), &page)
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
			if nw, _ := networks[0].(map[string]any); len(networks) != 1 || nw["NetworkMode"] != tt.mode {
				t.Errorf("container Networks = %v, want one of mode %s", md.Container["Networks"], tt.mode)
			}
			labels, _ := md.Container["Labels"].(map[string]any)
			if labels["com.amazonaws.ecs.task-arn"] != arn || (tt.mode == "bridge" && labels["team"] != "blue") {
				t.Errorf("container Labels = %v", labels)
			}
			if _, internal := labels["berth.task"]; internal {
				t.Errorf("the container's Labels show berth's own: %v", labels)
			}

			// The stats paths, as a sidecar reads them.
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
			if !strings.HasSuffix(page.Environment[agent.EnvMetadataURIV3], strings.TrimPrefix(uri, strings.Split(uri, "/v4/")[0]+"/v4")) {
				t.Errorf("%s = %q does not name the container %s does (%q)", agent.EnvMetadataURIV3, page.Environment[agent.EnvMetadataURIV3], agent.EnvMetadataURIV4, uri)
			}
			e.stop(arn)
		})
	}
}

// A container without a network could reach no endpoint: it is given none.
func TestAContainerWithoutANetworkGetsNoMetadataEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"meta-none","networkMode":"none","containerDefinitions":[
		{"name":"job","image":"berth/demo","memory":32,"command":["env"]}]}`)
	e.waitStatus(arn, agent.TaskStopped)
	if out := e.logs(arn, "job"); strings.Contains(out, "ECS_CONTAINER_METADATA_URI") || !strings.Contains(out, "PATH=") {
		t.Errorf("the container's environment:\n%s", out)
	}
	e.waitStatus(arn, agent.TaskDeleted)
}
