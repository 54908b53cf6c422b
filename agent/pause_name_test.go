package agent_test

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/images"
)

// A task's pause container is named from the task's ARN, as its other
// containers are: a pause container that an agent which died while
// creating it left on the engine, never started, is removed and made again
// by the agent that starts the task next, so the task has one pause
// container, never two; a container of that name that is not the task's
// own stays, and the task fails to start rather than take it.
func TestAPauseContainerLeftByADeadAgentsCreateIsMadeAgain(t *testing.T) {
	const def = `{"family": "shared", "pidMode": "task", "containerDefinitions": [
		{"name": "app", "image": "example/app:1", "memory": 64}]}`
	cases := []struct {
		name      string
		strayTask string // the task ARN the stray container carries
		started   bool   // the stray was started
		wantRun   bool
	}{
		{"the task's own, never started", "", false, true},
		{"another task's", "arn:aws:ecs:us-east-1:123456789012:task/fake/other", false, false},
		{"the task's own, started", "", true, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeEnv(t)
			f.engine.AddImage(images.PauseRef, nil)
			arn := "arn:aws:ecs:us-east-1:123456789012:task/fake/" + [...]string{"a1", "b2", "c3"}[i]
			owner := tc.strayTask
			if owner == "" {
				owner = arn
			}
			name := agent.TaskContainerName("shared", 3, agent.PauseContainerName, arn)
			ctx := context.Background()
			stray, err := f.engine.ContainerCreate(ctx, &container.Config{Image: images.PauseRef,
				Labels: map[string]string{agent.LabelTaskARN: owner, agent.LabelManaged: "true"}},
				&container.HostConfig{NetworkMode: network.NetworkNone}, nil, nil, name)
			if err != nil {
				t.Fatal(err)
			}
			if tc.started {
				if err := f.engine.ContainerStart(ctx, stray.ID, container.StartOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.agent.StartTask(ctx, agent.TaskSpec{ARN: arn, Revision: 3, Task: load(t, def)}); err != nil {
				t.Fatalf("start task: %v", err)
			}
			st := f.waitFor(arn, "RUNNING or STOPPED", func(s agent.TaskState) bool {
				return s.LastStatus == agent.TaskRunning || s.LastStatus >= agent.TaskStopped
			})
			if got := st.LastStatus == agent.TaskRunning; got != tc.wantRun {
				t.Fatalf("task %s, want running %v", describe(st), tc.wantRun)
			}
			info, err := f.engine.ContainerInspect(ctx, name)
			switch {
			case tc.wantRun && (err != nil || info.ID == stray.ID || info.State == nil || !info.State.Running):
				t.Errorf("the pause container of the name is %+v (%v), want a new one of the task's, running", info.State, err)
			case !tc.wantRun && (err != nil || info.ID != stray.ID):
				t.Errorf("the container of the name is %s (%v), want the one that was there, %s", info.ID, err, stray.ID)
			}
		})
	}
}
