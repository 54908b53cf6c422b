package agent_test

import (
	"strings"
	"testing"

	"github.com/berthdev/berth/agent"
)

// neverHealthy is a container whose health check never passes and whose
// dependants give up on it after 2 s.
const neverHealthy = `{"name":"web","image":"berth/demo","memory":32,"command":["sleep","60"],"stopTimeout":2,"startTimeout":2,
	"healthCheck":{"command":["CMD","/berth","demo","exit","1"],"interval":5,"timeout":2,"retries":1}}`

// A dependency that does not reach its condition within its startTimeout
// fails the containers waiting for it, as the ECS agent fails them: STOPPED
// without starting, exit code 143, the reason a CannotStartContainerError.
// Only an essential one takes the task down.
func TestStartTimeoutFailsTheContainersWaitingOnTheDependency(t *testing.T) {
	t.Parallel()
	timedOut := "CannotStartContainerError: dependency graph: container ordering dependency [web] for target [%s] has timed out"
	tests := []struct {
		name string
		def  string
		// failed are the containers that must fail without starting, each
		// with the start of its reason (%s is the container's name).
		failed map[string]string
		// runs says the task runs on without them; otherwise it stops
		// with TaskFailedToStart and the reason of failedEssential.
		runs            bool
		failedEssential string
	}{
		{
			name: "a HEALTHY dependency that never passes its health check stops the task",
			def: `{"family":"healthtimeout","containerDefinitions":[` + neverHealthy + `,
				{"name":"app","image":"berth/demo","memory":32,"command":["sleep","60"],
				 "dependsOn":[{"containerName":"web","condition":"HEALTHY"}]}]}`,
			failed:          map[string]string{"app": timedOut},
			failedEssential: "app",
		},
		{
			name: "a START dependency that never starts stops the task",
			def: `{"family":"starttimeout","containerDefinitions":[` + neverHealthy + `,
				{"name":"app","image":"berth/demo","memory":32,"command":["sleep","60"],
				 "dependsOn":[{"containerName":"mid","condition":"START"}]},
				{"name":"mid","image":"berth/demo","memory":32,"essential":false,"command":["sleep","60"],
				 "dependsOn":[{"containerName":"web","condition":"HEALTHY"}]}]}`,
			failed: map[string]string{
				"mid": timedOut,
				"app": "CannotStartContainerError: dependency graph: failed to resolve container ordering dependency [mid] for target [%s]",
			},
			failedEssential: "app",
		},
		{
			name: "a non-essential dependant fails alone and the task runs on",
			def: `{"family":"sidetimeout","containerDefinitions":[` + neverHealthy + `,
				{"name":"side","image":"berth/demo","memory":32,"essential":false,"command":["sleep","60"],
				 "dependsOn":[{"containerName":"web","condition":"HEALTHY"}]}]}`,
			failed: map[string]string{"side": timedOut},
			runs:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			arn := e.run(tt.def)
			st := e.waitFor(arn, "RUNNING or STOPPED", func(s agent.TaskState) bool {
				return s.LastStatus == agent.TaskRunning || s.LastStatus >= agent.TaskStopped
			})
			for name, reason := range tt.failed {
				c := ctrOf(t, st, name)
				want := strings.ReplaceAll(reason, "%s", name)
				if c.LastStatus != agent.ContainerStopped || exitCode(c) != "143" || !strings.HasPrefix(c.Reason, want) {
					t.Errorf("%s: %s exit %s reason %q, want STOPPED, 143 and a reason starting %q", name, c.LastStatus, exitCode(c), c.Reason, want)
				}
			}
			if tt.runs {
				if st.LastStatus != agent.TaskRunning {
					t.Fatalf("the task did not run on: %s", describe(st))
				}
				st = e.stop(arn)
			} else {
				reason := ctrOf(t, st, tt.failedEssential).Reason
				if st.LastStatus != agent.TaskStopped || st.StopCode != agent.StopTaskFailedToStart || st.StoppedReason != reason {
					t.Errorf("task: %s, want STOPPED with TaskFailedToStart and %s's reason", describe(st), tt.failedEssential)
				}
				if web := ctrOf(t, st, "web"); web.StartedAt.IsZero() || exitCode(web) != "0" {
					t.Errorf("web: started at %v, exit %s; want started, then stopped by SIGTERM", web.StartedAt, exitCode(web))
				}
				e.waitStatus(arn, agent.TaskDeleted)
			}
			e.events.mu.Lock()
			defer e.events.mu.Unlock()
			for _, change := range e.events.changes {
				for name := range tt.failed {
					if c, _ := change.Task.Container(name); change.Task.ARN == arn && (!c.StartedAt.IsZero() || c.LastStatus == agent.ContainerRunning) {
						t.Errorf("version %d: %s started though its dependency was not met", change.Task.Version, name)
					}
				}
			}
		})
	}
}

// A start that fails half-way leaves nothing behind: whatever the task had
// made by then (pause container, volumes, cgroup, created and running
// containers) goes with its cleanup. The task network stays for the
// agent's next task and goes when the agent closes.
func TestStartFailingHalfWayLeavesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		def      string
		behavior agent.PullBehavior
		reason   string
		// started names a container that ran before the failure.
		started string
	}{
		{
			name: "a pull fails after the pause container, volume and cgroup were made",
			def: `{"family":"pullfail","networkMode":"awsvpc","cpu":"256","memory":"256","volumes":[{"name":"scratch"}],"containerDefinitions":[
				{"name":"first","image":"berth/demo","command":["sleep","60"],"mountPoints":[{"sourceVolume":"scratch","containerPath":"/s"}]},
				{"name":"second","image":"localhost:1/berth-agent-test/missing:latest","command":["sleep","60"]}]}`,
			behavior: agent.PullPreferCached,
			reason:   "CannotPullContainerError: ",
		},
		{
			name: "the engine refuses to create the second container's bind mount",
			def: `{"family":"createfail","cpu":"256","memory":"256","volumes":[{"name":"scratch"},{"name":"bad","host":{"sourcePath":"/tmp/berth:refused"}}],"containerDefinitions":[
				{"name":"first","image":"berth/demo","command":["sleep","60"],"mountPoints":[{"sourceVolume":"scratch","containerPath":"/s"}]},
				{"name":"second","image":"berth/demo","command":["sleep","60"],"mountPoints":[{"sourceVolume":"bad","containerPath":"/bad"}]}]}`,
			reason: "CannotCreateContainerError: ",
		},
		{
			name: "the engine refuses to start the second container after the first started",
			def: `{"family":"startfail","cpu":"256","memory":"256","volumes":[{"name":"scratch"}],"containerDefinitions":[
				{"name":"first","image":"berth/demo","command":["sleep","60"],"stopTimeout":2,"mountPoints":[{"sourceVolume":"scratch","containerPath":"/s"}]},
				{"name":"second","image":"berth/demo","command":["sleep","60"],
				 "linuxParameters":{"devices":[{"hostPath":"/dev/berth-agent-test-no-such-device"}]},
				 "dependsOn":[{"containerName":"first","condition":"START"}]}]}`,
			reason:  "CannotStartContainerError: ",
			started: "first",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			arn := e.run(tt.def, func(s *agent.TaskSpec) { s.PullBehavior = tt.behavior })
			st := e.waitFor(arn, "RUNNING or STOPPED", func(s agent.TaskState) bool {
				return s.LastStatus == agent.TaskRunning || s.LastStatus >= agent.TaskStopped
			})
			if st.LastStatus != agent.TaskStopped || st.StopCode != agent.StopTaskFailedToStart || !strings.HasPrefix(st.StoppedReason, tt.reason) {
				t.Errorf("got %s, want STOPPED with TaskFailedToStart and a reason starting %q", describe(st), tt.reason)
			}
			// As on ECS, the container that failed carries the error too.
			if c := ctrOf(t, st, "second"); c.Reason != st.StoppedReason || !c.StartedAt.IsZero() {
				t.Errorf("second: reason %q, started at %v; want the task's reason and never started", c.Reason, c.StartedAt)
			}
			if tt.started != "" {
				if c := ctrOf(t, st, tt.started); c.StartedAt.IsZero() || c.ExitCode == nil {
					t.Errorf("%s: started at %v, exit %s; want it started, then stopped", tt.started, c.StartedAt, exitCode(c))
				}
			}
			for _, c := range st.Containers {
				if c.LastStatus != agent.ContainerStopped {
					t.Errorf("%s is %s in a STOPPED task", c.Name, c.LastStatus)
				}
			}
			e.waitStatus(arn, agent.TaskDeleted)
			if left := remaining(t, e, arn); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}
