package agent_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
)

// remaining lists what of the task is still on the engine and the host:
// its containers, its task volumes and its cgroup directories.
func remaining(t *testing.T, e *env, arn string) []string {
	t.Helper()
	ctx := context.Background()
	byTask := filters.NewArgs(filters.Arg("label", agent.LabelTaskARN+"="+arn))
	var out []string
	cs, err := e.api.ContainerList(ctx, container.ListOptions{All: true, Filters: byTask})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	for _, c := range cs {
		out = append(out, "container "+c.Names[0])
	}
	vs, err := e.api.VolumeList(ctx, volume.ListOptions{Filters: byTask})
	if err != nil {
		t.Fatalf("list volumes: %v", err)
	}
	for _, v := range vs.Volumes {
		out = append(out, "volume "+v.Name)
	}
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", "ecs", taskIDOf(arn)))
	for _, d := range dirs {
		out = append(out, "cgroup "+d)
	}
	return out
}

func taskIDOf(arn string) string { return filepath.Base(arn) }

// stubborn is a task whose only container ignores SIGTERM for longer than
// any test waits, with a task cgroup and a scratch volume to clean up.
const stubborn = `{"family":"stubborn","cpu":"256","memory":"256","volumes":[{"name":"scratch"}],"containerDefinitions":[
	{"name":"app","image":"berth/demo","command":["sleep","600","--ignore-sigterm"],"stopTimeout":120,
	 "mountPoints":[{"sourceVolume":"scratch","containerPath":"/scratch"}]}]}`

func TestKillTaskStopsAContainerThatIgnoresSIGTERM(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// stopFirst asks for a gentle stop before the kill, which must cut
		// the stop timeout short.
		stopFirst bool
	}{
		{"killed while running", false},
		{"killed while waiting out the stop timeout", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The task stays until RemoveTask removes it.
			e := newEnv(t, func(c *agent.Config) { c.CleanupWait = time.Hour })
			ctx := context.Background()
			arn := e.run(stubborn)
			e.waitRunning(arn)
			if err := e.agent.RemoveTask(ctx, arn); !errors.Is(err, agent.ErrTaskNotStopped) {
				t.Errorf("RemoveTask on a running task: %v, want ErrTaskNotStopped", err)
			}
			if tt.stopFirst {
				// A SIGTERM sent before the program ignores it would stop it.
				e.waitForOutput(arn, "app", "ignoring SIGTERM")
				if err := e.agent.StopTask(ctx, arn, "", ""); err != nil {
					t.Fatalf("StopTask: %v", err)
				}
				e.waitStatus(arn, agent.TaskStopping)
			}
			if err := e.agent.KillTask(ctx, arn); err != nil {
				t.Fatalf("KillTask: %v", err)
			}
			st := e.waitStatus(arn, agent.TaskStopped)
			app := ctrOf(t, st, "app")
			if exitCode(app) != "137" || app.LastStatus != agent.ContainerStopped {
				t.Errorf("app: %s exit %s, want STOPPED with 137", app.LastStatus, exitCode(app))
			}
			if st.StopCode != agent.StopUserInitiated || st.StoppedReason != "Task stopped by user" {
				t.Errorf("stopCode %q reason %q, want UserInitiated, \"Task stopped by user\"", st.StopCode, st.StoppedReason)
			}
			// Ordered as a stop is: stopping, the last exit, stopped. The
			// program ignores SIGTERM, so its 137 is the kill's doing.
			if st.StoppingAt.IsZero() || st.ExecutionStoppedAt.Before(st.StoppingAt) || st.StoppedAt.Before(st.ExecutionStoppedAt) {
				t.Errorf("stoppingAt %v executionStoppedAt %v stoppedAt %v: want them in order", st.StoppingAt, st.ExecutionStoppedAt, st.StoppedAt)
			}
			if left := remaining(t, e, arn); len(left) == 0 {
				t.Fatal("the stopped task's containers, volume and cgroup are gone before RemoveTask or the cleanup wait")
			}

			if err := e.agent.RemoveTask(ctx, arn); err != nil {
				t.Fatalf("RemoveTask on a stopped task: %v", err)
			}
			if left := remaining(t, e, arn); len(left) != 0 {
				t.Errorf("RemoveTask left %v", left)
			}
			if _, ok := e.agent.Task(arn); ok {
				t.Error("the agent still knows the removed task")
			}
			if err := e.agent.RemoveTask(ctx, arn); !errors.Is(err, agent.ErrTaskNotFound) {
				t.Errorf("RemoveTask on a removed task: %v, want ErrTaskNotFound", err)
			}
		})
	}
}

func TestStoppedTaskIsCleanedUpAfterTheCleanupWait(t *testing.T) {
	t.Parallel()
	const wait = time.Second
	e := newEnv(t, func(c *agent.Config) { c.CleanupWait = wait })
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	arn := e.run(`{"family":"cleanup","cpu":"256","memory":"256","volumes":[{"name":"scratch"}],"containerDefinitions":[
		{"name":"app","image":"berth/demo","command":["exit","0"],
		 "mountPoints":[{"sourceVolume":"scratch","containerPath":"/scratch"}]}]}`)
	type result struct {
		st  agent.TaskState
		err error
	}
	// Waiting starts while the task is known, so the deletion cannot pass
	// unseen.
	deletion := make(chan result, 1)
	go func() {
		st, err := e.agent.Wait(ctx, arn, agent.TaskDeleted)
		deletion <- result{st, err}
	}()
	stopped := e.waitStatus(arn, agent.TaskStopped)
	if stopped.LastStatus != agent.TaskStopped {
		t.Fatalf("the task went past STOPPED unseen: %s", describe(stopped))
	}
	r := <-deletion
	if r.err != nil {
		t.Fatalf("wait for DELETED: %v", r.err)
	}
	deleted := r.st
	// The cleanup waited: DELETED came no earlier than the wait after
	// STOPPED.
	if now := time.Now(); now.Before(stopped.StoppedAt.Add(wait)) {
		t.Errorf("deleted at %v, before stoppedAt %v + the cleanup wait %v", now, stopped.StoppedAt, wait)
	}
	if deleted.LastStatus != agent.TaskDeleted || deleted.Version <= stopped.Version {
		t.Errorf("after the cleanup: %s version %d (STOPPED was version %d)", deleted.LastStatus, deleted.Version, stopped.Version)
	}
	if left := remaining(t, e, arn); len(left) != 0 {
		t.Errorf("the cleanup left %v", left)
	}
	if _, ok := e.agent.Task(arn); ok {
		t.Error("the agent still lists the deleted task")
	}
}

// stopOnCreate is the engine's client with a user who stops the task the
// moment the first of its containers has been created, before the agent
// has started anything: the task's containers are created side by side,
// so every create answers only once the stop has been asked for.
type stopOnCreate struct {
	engine.Engine
	agent   func() *agent.Agent
	stopped atomic.Bool
	asked   chan struct{} // closed once the stop has been asked for
}

func (s *stopOnCreate) ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, netCfg *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error) {
	created, err := s.Engine.ContainerCreate(ctx, cfg, host, netCfg, platform, name)
	if err == nil && s.stopped.CompareAndSwap(false, true) {
		stopErr := s.agent().StopTask(ctx, cfg.Labels[agent.LabelTaskARN], "", "")
		close(s.asked)
		if stopErr != nil {
			return created, fmt.Errorf("stop the task as its user would: %w", stopErr)
		}
	}
	if err == nil {
		select {
		case <-s.asked:
		case <-ctx.Done():
		}
	}
	return created, err
}

// A task stopped while it is still PENDING never starts a container: the
// stop is taken before anything that was created is started, as ECS
// stops a task whose desired status turned STOPPED before it ran.
func TestTaskStoppedWhilePendingStartsNoContainer(t *testing.T) {
	t.Parallel()
	user := &stopOnCreate{asked: make(chan struct{})}
	e := newEnv(t, func(c *agent.Config) {
		user.Engine = c.Docker
		c.Docker = user
	})
	user.agent = func() *agent.Agent { return e.agent }
	arn := e.run(`{"family":"stopped-pending","containerDefinitions":[
		{"name":"first","image":"berth/demo","memory":64,"command":["sleep","600"]},
		{"name":"second","image":"berth/demo","memory":64,"command":["sleep","600"]}]}`)
	st := e.waitStatus(arn, agent.TaskStopped)
	e.waitStatus(arn, agent.TaskDeleted)
	if !user.stopped.Load() {
		t.Fatal("the task was never stopped while pending: the test tests nothing")
	}
	if st.StopCode != agent.StopUserInitiated {
		t.Errorf("stop code %q, want %q", st.StopCode, agent.StopUserInitiated)
	}
	for _, c := range st.Containers {
		if !c.StartedAt.IsZero() {
			t.Errorf("container %s started at %v after the task was stopped", c.Name, c.StartedAt)
		}
	}
}
