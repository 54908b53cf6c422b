package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/console"
)

func TestTaskExitCodeSaysHowTheTaskEnded(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// ran is an essential container that started and exited with code,
	// finishing after secs seconds.
	ran := func(name string, code, secs int) agent.ContainerState {
		return agent.ContainerState{Name: name, Essential: true, ExitCode: &code,
			StartedAt: at, FinishedAt: at.Add(time.Duration(secs) * time.Second)}
	}
	unstarted := agent.ContainerState{Name: "never", Essential: true}
	sidecar := ran("sidecar", 1, 0)
	sidecar.Essential = false
	initFailed := ran("init", 1, 1)
	initFailed.Essential = false
	dependent := agent.ContainerState{Name: "app", Essential: true, LastStatus: agent.ContainerStopped, ExitCode: new(int)}
	*dependent.ExitCode = 143
	vanished := agent.ContainerState{Name: "app", Essential: true, LastStatus: agent.ContainerStopped, StartedAt: at,
		Reason: "ContainerVanishedError: the container ecs-app-1 is no longer on the engine"}
	tests := []struct {
		name       string
		stopCode   agent.StopCode
		containers []agent.ContainerState
		want       int
		why        string // what the explanation says, "" for none
	}{
		{"a job that succeeded", agent.StopEssentialContainerExited, []agent.ContainerState{ran("job", 0, 1)}, 0, ""},
		{"a job that failed", agent.StopEssentialContainerExited, []agent.ContainerState{ran("job", 3, 1)}, 3, ""},
		{"the essential container that stopped the task, not the one stopped after it",
			agent.StopEssentialContainerExited, []agent.ContainerState{ran("web", 143, 5), ran("worker", 2, 1)}, 2, ""},
		{"a non-essential container's code does not count", agent.StopEssentialContainerExited,
			[]agent.ContainerState{sidecar, ran("app", 0, 2)}, 0, ""},
		{"a task that failed to start", agent.StopTaskFailedToStart, []agent.ContainerState{unstarted}, exitTaskFailedToStart, ""},
		{"stopped by its user, every container exiting cleanly", agent.StopUserInitiated,
			[]agent.ContainerState{ran("polite", 0, 1), ran("also-polite", 0, 2)}, 0, ""},
		{"stopped by its user, one container killed after its stopTimeout", agent.StopUserInitiated,
			[]agent.ContainerState{ran("polite", 0, 1), ran("stubborn", 137, 6)}, 137, ""},
		{"stopped by its user, the first non-zero code in definition order", agent.StopUserInitiated,
			[]agent.ContainerState{ran("a", 0, 1), ran("b", 143, 9), ran("c", 137, 2)}, 143, ""},
		{"stopped by its user before anything ran", agent.StopUserInitiated, []agent.ContainerState{unstarted}, exitInterrupted, ""},
		{"an init container failed, so the app never started", agent.StopTaskFailedToStart,
			[]agent.ContainerState{initFailed, dependent}, exitTaskFailedToStart, "the exit code 143 of app is the one ECS gives a container stopped before it could start"},
		{"the essential container was removed from the engine while it ran", agent.StopEssentialContainerExited,
			[]agent.ContainerState{vanished}, exitVanished, "app stopped with no exit code (ContainerVanishedError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := taskExitCode(agent.TaskState{StopCode: tt.stopCode, Containers: tt.containers})
			if got != tt.want {
				t.Errorf("exit status %d, want %d", got, tt.want)
			}
			if tt.why != "" && !strings.Contains(why, tt.why) {
				t.Errorf("explained as %q, want it to say %q", why, tt.why)
			}
		})
	}
}

// The lines berth run prints for a sequence of state changes: the task's
// health, which follows its containers', gets a line when it changes,
// though the change that carries it is a container's.
func TestStateLinesFollowTheTaskAndItsContainers(t *testing.T) {
	code := 143
	running := agent.TaskState{LastStatus: agent.TaskRunning, Containers: []agent.ContainerState{
		{Name: "sidecar", LastStatus: agent.ContainerRunning, StartedAt: time.Now()},
		{Name: "app", LastStatus: agent.ContainerCreated}}}
	healthy := running
	healthy.HealthStatus = agent.HealthHealthy
	healthy.Containers = []agent.ContainerState{
		{Name: "sidecar", LastStatus: agent.ContainerRunning, HealthStatus: agent.HealthHealthy, StartedAt: time.Now()},
		{Name: "app", LastStatus: agent.ContainerCreated}}
	unstarted := healthy
	unstarted.Containers = []agent.ContainerState{healthy.Containers[0],
		{Name: "app", LastStatus: agent.ContainerStopped, ExitCode: &code, Reason: "CannotStartContainerError: dependency sidecar did not exit successfully"}}
	changes := []agent.StateChange{
		{Task: running},
		{Task: running, Container: "sidecar"},
		{Task: healthy, Container: "sidecar"},
		{Task: healthy, Container: "sidecar"}, // nothing new: no line
		{Task: unstarted, Container: "app"},
	}
	var buf bytes.Buffer
	out := console.NewPrinter(&buf, []string{"sidecar", "app", "berth"}, false)
	lines := stateLines{}
	for _, c := range changes {
		lines.print(out, c)
	}
	want := `berth   | task RUNNING
berth   | sidecar RUNNING
berth   | sidecar RUNNING, HEALTHY
berth   | task RUNNING, HEALTHY
berth   | app STOPPED, never started, exit code 143, CannotStartContainerError: dependency sidecar did not exit successfully
`
	if got := buf.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
}

// A task without a pause container gets its address from its container's
// start, while it is still PENDING: the address is said on the next line
// of the task, with RUNNING, not on a PENDING line of its own.
func TestStateLinesSayAnAddressWithTheTasksNextStatus(t *testing.T) {
	pending := agent.TaskState{LastStatus: agent.TaskPending, Containers: []agent.ContainerState{{Name: "web", LastStatus: agent.ContainerPending}}}
	started := pending
	started.Address = "10.200.0.2"
	started.Containers = []agent.ContainerState{{Name: "web", LastStatus: agent.ContainerRunning, StartedAt: time.Now()}}
	running := started
	running.LastStatus = agent.TaskRunning
	var buf bytes.Buffer
	out := console.NewPrinter(&buf, []string{"web", "berth"}, false)
	lines := stateLines{}
	for _, c := range []agent.StateChange{{Task: pending}, {Task: started, Container: "web"}, {Task: running}} {
		lines.print(out, c)
	}
	want := `berth | task PENDING
berth | web RUNNING
berth | task RUNNING, address 10.200.0.2
`
	if got := buf.String(); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
}

func TestEngineIsLocalByDockerHost(t *testing.T) {
	tests := map[string]bool{
		"":                            true,
		"unix:///var/run/docker.sock": true,
		"tcp://127.0.0.1:2375":        true,
		"tcp://localhost:2376":        true,
		"tcp://[::1]:2375":            true,
		"tcp://10.1.2.3:2375":         false,
		"ssh://build@engine.example":  false,
	}
	for host, want := range tests {
		if got := engineIsLocal(host); got != want {
			t.Errorf("engineIsLocal(%q) = %v, want %v", host, got, want)
		}
	}
}
