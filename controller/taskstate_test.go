package controller

import (
	"testing"

	"github.com/berthdev/berth/agent"
)

func TestNextStatusGoesThroughTheControlPlanesStepsAndNeverBack(t *testing.T) {
	tests := []struct {
		eni       bool
		cur, want agent.TaskStatus
		next      agent.TaskStatus
	}{
		{true, agent.TaskProvisioning, agent.TaskPending, agent.TaskPending},
		{true, agent.TaskPending, agent.TaskRunning, agent.TaskActivating},
		{true, agent.TaskProvisioning, agent.TaskRunning, agent.TaskActivating},
		{true, agent.TaskActivating, agent.TaskRunning, agent.TaskRunning},
		{true, agent.TaskRunning, agent.TaskStopping, agent.TaskDeactivating},
		{true, agent.TaskActivating, agent.TaskStopped, agent.TaskDeactivating},
		{true, agent.TaskDeactivating, agent.TaskStopping, agent.TaskStopping},
		{true, agent.TaskStopping, agent.TaskDeprovisioning, agent.TaskDeprovisioning},
		{true, agent.TaskDeprovisioning, agent.TaskStopped, agent.TaskStopped},
		// A task stopped before it ran was never activated.
		{true, agent.TaskPending, agent.TaskStopping, agent.TaskStopping},
		// The agent behind what StopTask recorded: nothing goes back.
		{true, agent.TaskDeactivating, agent.TaskRunning, agent.TaskDeactivating},
		{true, agent.TaskRunning, agent.TaskPending, agent.TaskRunning},
		// Without a network interface of its own, the agent's steps only.
		{false, agent.TaskPending, agent.TaskRunning, agent.TaskRunning},
		{false, agent.TaskRunning, agent.TaskStopping, agent.TaskStopping},
		{false, agent.TaskRunning, agent.TaskStopped, agent.TaskStopped},
	}
	for _, tt := range tests {
		if got := nextStatus(tt.eni, tt.cur, tt.want); got != tt.next {
			t.Errorf("eni %v, %s toward %s: %s, want %s", tt.eni, tt.cur, tt.want, got, tt.next)
		}
	}
}

func TestAttachmentStatusFollowsTheTask(t *testing.T) {
	want := map[agent.TaskStatus]string{
		agent.TaskProvisioning: "PRECREATED", agent.TaskPending: "ATTACHED", agent.TaskActivating: "ATTACHED",
		agent.TaskRunning: "ATTACHED", agent.TaskDeactivating: "ATTACHED", agent.TaskStopping: "ATTACHED",
		agent.TaskDeprovisioning: "DETACHING", agent.TaskStopped: "DELETED",
	}
	for s, w := range want {
		if got := attachmentStatus(s); got != w {
			t.Errorf("%s: %s, want %s", s, got, w)
		}
	}
}
