package main

import (
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/taskdef"
)

// A server's task, seen through DescribeTasks a few times, gives berth run
// the exit status it gives the task when it runs it itself: what ECS's
// shapes do not say of a container (did it run, which stopped first), the
// view tells from what it saw.
func TestTheServersTaskEndsBerthRunAsItsOwnWould(t *testing.T) {
	code := func(c int32) *int32 { return &c }
	ctr := func(name, status string, exit *int32, reason string) api.Container {
		return api.Container{Name: name, LastStatus: status, ExitCode: exit, Reason: reason}
	}
	task := func(status, stopCode string, ctrs ...api.Container) api.Task {
		return api.Task{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef",
			LastStatus: status, StopCode: stopCode, Containers: ctrs}
	}
	notEssential := false
	def := &taskdef.Normalized{Definition: taskdef.TaskDefinition{ContainerDefinitions: []taskdef.ContainerDefinition{
		{Name: "app"}, {Name: "sidecar"}, {Name: "helper", Essential: &notEssential}}}}
	tests := []struct {
		name string
		seen []api.Task
		want int
	}{
		{"an essential container's exit, seen running first", []api.Task{
			task("RUNNING", "", ctr("app", "RUNNING", nil, ""), ctr("sidecar", "RUNNING", nil, "")),
			task("STOPPED", "EssentialContainerExited", ctr("app", "STOPPED", code(3), ""), ctr("sidecar", "STOPPED", code(143), "")),
		}, 3},
		{"an essential container's exit, never seen running", []api.Task{
			task("PENDING", "", ctr("app", "PENDING", nil, ""), ctr("sidecar", "PENDING", nil, "")),
			task("STOPPING", "", ctr("app", "STOPPED", code(4), ""), ctr("sidecar", "RUNNING", nil, "")),
			task("STOPPED", "EssentialContainerExited", ctr("app", "STOPPED", code(4), ""), ctr("sidecar", "STOPPED", code(0), "")),
		}, 4},
		{"two essential containers seen stopped at once: the first in the definition", []api.Task{
			task("STOPPED", "EssentialContainerExited", ctr("app", "STOPPED", code(5), ""), ctr("sidecar", "STOPPED", code(6), "")),
		}, 5},
		{"a non-essential container's exit code is not the task's", []api.Task{
			task("RUNNING", "", ctr("app", "RUNNING", nil, ""), ctr("sidecar", "RUNNING", nil, ""), ctr("helper", "STOPPED", code(9), "")),
			task("STOPPED", "EssentialContainerExited", ctr("app", "STOPPED", code(0), ""), ctr("sidecar", "STOPPED", code(0), ""), ctr("helper", "STOPPED", code(9), "")),
		}, 0},
		{"stopped by the user: the first non-zero code of the essential ones", []api.Task{
			task("RUNNING", "", ctr("app", "RUNNING", nil, ""), ctr("sidecar", "RUNNING", nil, "")),
			task("STOPPED", "UserInitiated", ctr("app", "STOPPED", code(0), ""), ctr("sidecar", "STOPPED", code(143), "")),
		}, 143},
		{"stopped by the user before anything ran", []api.Task{
			task("PENDING", "", ctr("app", "PENDING", nil, ""), ctr("sidecar", "PENDING", nil, "")),
			task("STOPPED", "UserInitiated", ctr("app", "STOPPED", nil, ""), ctr("sidecar", "STOPPED", nil, "")),
		}, exitInterrupted},
		{"a container that could not start", []api.Task{
			task("STOPPED", "TaskFailedToStart", ctr("app", "STOPPED", code(143), "CannotStartContainerError: dependency sidecar did not start"),
				ctr("sidecar", "STOPPED", nil, "CannotStartContainerError: no such image")),
		}, exitTaskFailedToStart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view := newTaskView(def)
			at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
			var last api.Task
			for _, seen := range tt.seen {
				last = seen
				view.state(seen, at)
				at = at.Add(followEvery)
			}
			if got, why := taskExitCode(view.state(last, at)); got != tt.want {
				t.Errorf("exit status %d (%s), want %d", got, why, tt.want)
			}
		})
	}
}
