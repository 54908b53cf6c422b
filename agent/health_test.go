package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/demo"
)

// A container's health is shown as ECS shows it: DescribeTasks's
// healthStatus, and in the task metadata endpoint (version 4) a Health of
// status, statusSince (when the status last changed), and the last check's
// output and exit code (left out when 0, as ECS leaves it out).
func TestHealthDetailsAreRecordedAndServedAsECSShowsThem(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	arn := e.run(`{"family":"healthdetails","containerDefinitions":[
		{"name":"web","image":"berth/demo","memory":32,"command":["serve","--port","8080"],"stopTimeout":2,
		 "portMappings":[{"containerPort":8080}],
		 "healthCheck":{"command":["CMD","/berth","demo","probe","http://localhost:8080/health"],"interval":5,"timeout":2,"retries":3}},
		{"name":"sick","image":"berth/demo","memory":32,"essential":false,"command":["sleep","120"],"stopTimeout":2,
		 "healthCheck":{"command":["CMD","/berth","demo","exit","3"],"interval":5,"timeout":2,"retries":1}}]}`)
	st := e.waitFor(arn, "web HEALTHY and sick UNHEALTHY", func(s agent.TaskState) bool {
		web, _ := s.Container("web")
		sick, _ := s.Container("sick")
		return s.LastStatus > agent.TaskRunning ||
			(web.HealthStatus == agent.HealthHealthy && sick.HealthStatus == agent.HealthUnhealthy)
	})
	if st.LastStatus != agent.TaskRunning {
		t.Fatalf("task: %s", describe(st))
	}

	tests := []struct {
		name     string
		status   string
		exitCode int
		output   string
	}{
		{name: "web", status: "HEALTHY", exitCode: 0, output: "200 OK"},
		{name: "sick", status: "UNHEALTHY", exitCode: 3, output: "exiting with code 3"},
	}
	for _, tt := range tests {
		c := ctrOf(t, st, tt.name)
		if c.HealthStatusSince.IsZero() || c.HealthStatusSince.Before(c.StartedAt) {
			t.Errorf("%s: health status since %v, want a time after its start at %v", tt.name, c.HealthStatusSince, c.StartedAt)
		}
		if c.HealthExitCode == nil || *c.HealthExitCode != tt.exitCode {
			t.Errorf("%s: last health check exit code %v, want %d", tt.name, c.HealthExitCode, tt.exitCode)
		}
		if !strings.Contains(c.HealthOutput, tt.output) {
			t.Errorf("%s: last health check output %q, want it to say %q", tt.name, c.HealthOutput, tt.output)
		}
	}

	web := ctrOf(t, st, "web")
	var page demo.Description
	getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/json", web.NetworkBindings[0].HostPort), &page)
	uri := page.Environment[agent.EnvMetadataURIV4]
	if uri == "" {
		t.Fatalf("web has no %s", agent.EnvMetadataURIV4)
	}
	var task struct {
		Containers []struct {
			Name   string
			Health map[string]any
		}
	}
	getJSON(t, uri+"/task", &task)
	health := map[string]map[string]any{}
	for _, c := range task.Containers {
		health[c.Name] = c.Health
	}
	var self struct{ Health map[string]any }
	getJSON(t, uri, &self)
	if fmt.Sprint(self.Health) != fmt.Sprint(health["web"]) {
		t.Errorf("web's own Health %v differs from the task's account of it %v", self.Health, health["web"])
	}
	for _, tt := range tests {
		t.Run(tt.name+" in the task metadata endpoint", func(t *testing.T) {
			h := health[tt.name]
			if h["status"] != tt.status {
				t.Errorf("Health %v: status %v, want %s", h, h["status"], tt.status)
			}
			since, _ := h["statusSince"].(string)
			if _, err := time.Parse(time.RFC3339Nano, since); err != nil {
				t.Errorf("Health %v: statusSince %q is not a time: %v", h, since, err)
			}
			code, present := h["exitCode"]
			if tt.exitCode == 0 && present {
				t.Errorf("Health %v: exitCode %v, want it left out for a check that passed", h, code)
			}
			if tt.exitCode != 0 && code != float64(tt.exitCode) {
				t.Errorf("Health %v: exitCode %v, want %d", h, code, tt.exitCode)
			}
			if out, _ := h["output"].(string); !strings.Contains(out, tt.output) {
				t.Errorf("Health %v: output %q, want it to say %q", h, out, tt.output)
			}
		})
	}
	e.stop(arn)
}
