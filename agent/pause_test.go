package agent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
)

// taskPause returns the ID of the pause container whose namespaces the
// task's container name joined: the task's own or a spare it took.
func taskPause(t *testing.T, e *env, st agent.TaskState, name string) string {
	t.Helper()
	info, err := e.api.ContainerInspect(context.Background(), ctrOf(t, st, name).DockerID)
	if err != nil {
		t.Fatalf("inspect %s: %v", name, err)
	}
	id, ok := strings.CutPrefix(string(info.HostConfig.NetworkMode), "container:")
	if !ok {
		t.Fatalf("%s is in network mode %s, not in a pause container's", name, info.HostConfig.NetworkMode)
	}
	return id
}

// pauseEventFilter is the engine's client with an event stream that
// carries, of the events of pause containers, those of one action only.
type pauseEventFilter struct {
	engine.Engine
	only events.Action
}

func (f *pauseEventFilter) Events(ctx context.Context, opts events.ListOptions) (<-chan events.Message, <-chan error) {
	in, errs := f.Engine.Events(ctx, opts)
	out := make(chan events.Message)
	go func() {
		for {
			select {
			case m := <-in:
				if m.Actor.Attributes[agent.LabelContainerName] == "~internal~ecs~pause" && m.Action != f.only {
					continue
				}
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, errs
}

// The ECS agent makes an awsvpc task's pause container an essential
// container of the task: when it goes, the task's network namespace goes
// with it, and the task stops as for any essential container's exit, with a
// reason that names the pause container and what the task lost. That holds
// however the pause container goes, whether the agent sees it go or a new
// agent finds it gone.
func TestAWSVPCTaskStopsWhenItsPauseContainerGoes(t *testing.T) {
	t.Parallel()
	stopPause := func(t *testing.T, e *env, id string) {
		timeout := 1
		if err := e.api.ContainerStop(context.Background(), id, container.StopOptions{Timeout: &timeout}); err != nil {
			t.Fatalf("stop the pause container: %v", err)
		}
	}
	killPause := func(t *testing.T, e *env, id string) {
		if err := e.api.ContainerKill(context.Background(), id, "KILL"); err != nil {
			t.Fatalf("kill the pause container: %v", err)
		}
	}
	removePause := func(t *testing.T, e *env, id string) {
		if err := forceRemove(e, id); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		// spare: the task takes the agent's spare pause container.
		spare bool
		lose  func(*testing.T, *env, string)
		// only, when set, is the one event of the pause container's the
		// agent gets: it must stop the task on that event alone.
		only events.Action
		// recovered: the pause container goes while no agent runs, and
		// a new agent recovers the task.
		recovered bool
		// wantHow: how the reason may say the pause container went (a
		// removal kills it first, and the agent may see either).
		wantHow []string
	}{
		{name: "its pause container exits, told by its die event alone", lose: stopPause, only: events.ActionDie, wantHow: []string{"exited"}},
		{name: "its pause container is killed, told by its kill event alone", lose: killPause, only: events.ActionKill, wantHow: []string{"was killed"}},
		{name: "its pause container is removed, told by its destroy event alone", lose: removePause, only: events.ActionDestroy, wantHow: []string{"was removed from the engine"}},
		{name: "its pause container is removed", lose: removePause, wantHow: []string{"was killed", "was removed from the engine"}},
		{name: "the spare it took as its pause container is removed", spare: true, lose: removePause, wantHow: []string{"was killed", "was removed from the engine"}},
		{name: "a new agent finds its pause container gone", lose: removePause, recovered: true, wantHow: []string{"was killed", "was removed from the engine"}},
		{name: "a new agent finds its pause container stopped", lose: stopPause, recovered: true, wantHow: []string{"exited"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *agent.Config) {
				c.SparePause = tt.spare
				c.CleanupWait = testTimeout
				if tt.only != "" {
					c.Docker = &pauseEventFilter{Engine: c.Docker, only: tt.only}
				}
			})
			var first string
			if tt.spare {
				first = e.run(pausedTask)
				e.waitRunning(first)
				waitSpare(t, e)
			}
			arn := e.run(pausedTask)
			st := e.waitRunning(arn)
			pause := taskPause(t, e, st, "web")
			if tt.recovered {
				e.agent.Close()
			}
			tt.lose(t, e, pause)
			if tt.recovered {
				e.start()
			}

			// The task stays STOPPED until removed, so that a new agent's
			// account of it can be read however fast it stops.
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			stopped, err := e.agent.Wait(ctx, arn, agent.TaskStopped)
			if err != nil {
				t.Fatalf("the task never stopped: %v", err)
			}
			if web := ctrOf(t, stopped, "web"); web.LastStatus != agent.ContainerStopped {
				t.Errorf("web is %s in the stopped task, want STOPPED", web.LastStatus)
			}
			if stopped.DesiredStatus != agent.TaskStopped || stopped.StopCode != agent.StopEssentialContainerExited {
				t.Errorf("task: %s, want it stopping with EssentialContainerExited", describe(stopped))
			}
			for _, want := range []string{"Essential container in task exited: internal container ~internal~ecs~pause ", "; the task's network namespace is gone"} {
				if !strings.Contains(stopped.StoppedReason, want) {
					t.Errorf("stoppedReason %q does not say %q", stopped.StoppedReason, want)
				}
			}
			if !containsAny(stopped.StoppedReason, tt.wantHow) {
				t.Errorf("stoppedReason %q says none of %q", stopped.StoppedReason, tt.wantHow)
			}
			if err := e.agent.RemoveTask(ctx, arn); err != nil {
				t.Fatalf("remove the task: %v", err)
			}
			if first != "" {
				if err := e.agent.StopTask(ctx, first, "", ""); err != nil {
					t.Fatal(err)
				}
				if _, err := e.agent.Wait(ctx, first, agent.TaskStopped); err != nil {
					t.Fatal(err)
				}
				if err := e.agent.RemoveTask(ctx, first); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
