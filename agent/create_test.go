package agent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent"
)

// The tests of this file are about how a task's containers are created:
// side by side, ahead of the starts, which alone dependsOn holds back.

// held is a fault that holds the calls on the targets it picks until
// released, and records every call's target as it comes.
type held struct {
	pick    func(target string) bool
	release chan struct{}
	entered chan string

	mu      sync.Mutex
	targets []string
}

func newHeld(pick func(target string) bool) *held {
	return &held{pick: pick, release: make(chan struct{}), entered: make(chan string, 64)}
}

func (h *held) fault(ctx context.Context, target string) error {
	h.mu.Lock()
	h.targets = append(h.targets, target)
	h.mu.Unlock()
	if !h.pick(target) {
		return nil
	}
	h.entered <- target
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits for a held call to come, and returns its target.
func (h *held) wait(t *testing.T) string {
	t.Helper()
	select {
	case target := <-h.entered:
		return target
	case <-time.After(testTimeout):
		t.Fatal("the held call never came")
		return ""
	}
}

// called reports whether a call on a target that contains part was made.
func (h *held) called(part string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.targets, func(t string) bool { return strings.Contains(t, part) })
}

// named picks the Docker names of the task's container name (ecs-FAMILY-
// REVISION-NAME-SUFFIX).
func named(name string) func(string) bool {
	return func(target string) bool { return strings.Contains(target, "-"+name+"-") }
}

func createdState(name string) func(agent.TaskState) bool {
	return func(s agent.TaskState) bool {
		c, _ := s.Container(name)
		return c.LastStatus >= agent.ContainerCreated
	}
}

// A container is created whatever its dependencies' conditions: dep's
// start is held by the engine, and app is created all the same; it starts
// only once dep meets the condition.
func TestDependantsAreCreatedBeforeTheirDependencyStarts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		condition string
		// meet makes the running dep meet the condition.
		meet func(f *fakeEnv, id string) error
	}{
		{"START", func(*fakeEnv, string) error { return nil }},
		{"COMPLETE", func(f *fakeEnv, id string) error { return f.engine.Exit(id, 1) }},
		{"SUCCESS", func(f *fakeEnv, id string) error { return f.engine.Exit(id, 0) }},
		{"HEALTHY", func(f *fakeEnv, id string) error { return f.engine.SetHealth(id, container.Healthy) }},
	}
	for _, tt := range tests {
		t.Run(tt.condition, func(t *testing.T) {
			t.Parallel()
			f := newFakeEnv(t)
			// Only dep can be started first: app waits for it.
			first := true
			var mu sync.Mutex
			start := newHeld(func(string) bool {
				mu.Lock()
				defer mu.Unlock()
				was := first
				first = false
				return was
			})
			f.engine.Inject("ContainerStart", start.fault)
			arn := f.run(dependent(tt.condition))
			start.wait(t)
			f.waitFor(arn, "app CREATED", createdState("app"))
			if got := f.engineEvents(); slices.Contains(got, "dep start") {
				t.Fatalf("dep started while its start was held: %q", got)
			}
			close(start.release)
			id := f.containerRunning(arn, "dep")
			if err := tt.meet(f, id); err != nil {
				t.Fatal(err)
			}
			f.containerRunning(arn, "app")
			got := f.engineEvents()
			if !before(got, "app create", "dep start") || !before(got, "dep start", "app start") {
				t.Errorf("engine events: %q; want app created before dep started, and started after it", got)
			}
		})
	}
}

// A container whose dependencies are met starts while its task's other
// containers are still being created: the starts wait for no create but
// their own.
func TestADependencyStartsWhileItsDependantIsBeingCreated(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	create := newHeld(named("app"))
	f.engine.Inject("ContainerCreate", create.fault)
	arn := f.run(dependent("START"))
	create.wait(t)
	f.containerRunning(arn, "dep")
	close(create.release)
	f.waitFor(arn, "RUNNING", func(s agent.TaskState) bool { return s.LastStatus == agent.TaskRunning })
	if got := f.engineEvents(); !before(got, "dep start", "app create") || !before(got, "app create", "app start") {
		t.Errorf("engine events: %q", got)
	}
}

// The engine resolves volumesFrom when it creates a container: a container
// mounting another's volumes is created once its source is (not started:
// as on ECS, the source need only exist), while the others of the task are
// created without waiting.
func TestAVolumesFromContainerIsCreatedAfterItsSource(t *testing.T) {
	t.Parallel()
	f := newFakeEnv(t)
	create := newHeld(named("src"))
	f.engine.Inject("ContainerCreate", create.fault)
	arn := f.run(`{"family":"volfrom","containerDefinitions":[
		{"name":"user","image":"` + appImage + `","memory":64,"volumesFrom":[{"sourceContainer":"src","readOnly":true}]},
		{"name":"src","image":"` + appImage + `","memory":64},
		{"name":"other","image":"` + appImage + `","memory":64}]}`)
	create.wait(t)
	f.waitFor(arn, "other CREATED", createdState("other"))
	if create.called("-user-") {
		t.Fatal("user's create was made while its source's was under way")
	}
	close(create.release)
	st := f.waitFor(arn, "RUNNING", func(s agent.TaskState) bool { return s.LastStatus == agent.TaskRunning })
	if got := f.engineEvents(); !before(got, "src create", "user create") {
		t.Errorf("engine events: %q; want src created before user", got)
	}
	info, err := f.engine.ContainerInspect(context.Background(), ctrOf(t, st, "user").DockerID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ctrOf(t, st, "src").DockerName + ":ro"}
	if got := info.HostConfig.VolumesFrom; !slices.Equal(got, want) {
		t.Errorf("user's volumesFrom: %q, want %q", got, want)
	}
}

// A stop that comes while creates are under way is honoured: nothing more
// is created, nothing starts, the task waits for the engine's answers so
// that it knows every container made, and its cleanup removes them all.
func TestAStopDuringCreatesStartsNothingAndLeavesNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// hold picks the creates the engine holds until after the stop.
		hold func(string) bool
	}{
		{"every create held", func(string) bool { return true }},
		{"the creates of the containers free to start held, app's answered", func(target string) bool {
			return named("init")(target) || named("db")(target)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEnv(t, func(c *agent.Config) { c.CleanupWait = time.Second })
			create := newHeld(tt.hold)
			f.engine.Inject("ContainerCreate", create.fault)
			arn := f.run(`{"family":"three","containerDefinitions":[
				{"name":"init","image":"` + appImage + `","memory":32,"essential":false},
				{"name":"db","image":"` + appImage + `","memory":64},
				{"name":"app","image":"` + appImage + `","memory":64,
				 "dependsOn":[{"containerName":"init","condition":"SUCCESS"},{"containerName":"db","condition":"START"}]}]}`)
			create.wait(t)
			if err := f.agent.StopTask(context.Background(), arn, "", ""); err != nil {
				t.Fatal(err)
			}
			f.waitFor(arn, "STOPPING", func(s agent.TaskState) bool { return s.DesiredStatus == agent.TaskStopped })
			close(create.release)
			st := f.stopped(arn)
			if st.StopCode != agent.StopUserInitiated {
				t.Errorf("stopped: %s", describe(st))
			}
			for _, c := range st.Containers {
				if c.LastStatus != agent.ContainerStopped || !c.StartedAt.IsZero() {
					t.Errorf("%s: %s, started at %v; want STOPPED, never started", c.Name, c.LastStatus, c.StartedAt)
				}
			}
			if n := f.engine.Calls("ContainerStart"); n != 0 {
				t.Errorf("%d starts after a stop during the creates", n)
			}
			f.advanceUntil(arn, "DELETED", func(s agent.TaskState) bool { return s.LastStatus == agent.TaskDeleted })
			left, err := f.engine.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", agent.LabelTaskARN+"="+arn))})
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Errorf("%d containers of the task left after its cleanup", len(left))
			}
		})
	}
}

// A create the engine refuses stops the task with CannotCreateContainerError,
// on the task and on the container, whichever of the creates made side by
// side it is. Its dependant never starts.
func TestACreateRefusedAmongOthersFailsTheTask(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"init", "db", "app"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFakeEnv(t)
			f.engine.Inject("ContainerCreate", func(_ context.Context, target string) error {
				if named(name)(target) {
					return errors.New("no room left")
				}
				return nil
			})
			arn := f.run(`{"family":"three","containerDefinitions":[
				{"name":"init","image":"` + appImage + `","memory":32,"essential":false},
				{"name":"db","image":"` + appImage + `","memory":64},
				{"name":"app","image":"` + appImage + `","memory":64,
				 "dependsOn":[{"containerName":"init","condition":"SUCCESS"},{"containerName":"db","condition":"START"}]}]}`)
			st := f.advanceUntil(arn, "STOPPED", func(s agent.TaskState) bool { return s.LastStatus >= agent.TaskStopped })
			const want = "CannotCreateContainerError: "
			if st.StopCode != agent.StopTaskFailedToStart || !strings.HasPrefix(st.StoppedReason, want) || !strings.Contains(st.StoppedReason, "no room left") {
				t.Errorf("stopped: %s, want TaskFailedToStart and %q... no room left", describe(st), want)
			}
			if c := ctrOf(t, st, name); c.Reason != st.StoppedReason {
				t.Errorf("%s: reason %q, want the task's", name, c.Reason)
			}
			for _, c := range st.Containers {
				if c.LastStatus != agent.ContainerStopped {
					t.Errorf("%s is %s in a STOPPED task", c.Name, c.LastStatus)
				}
			}
			if got := f.engineEvents(events.ActionCreate); slices.Contains(got, "app start") {
				t.Errorf("app started: %q", got)
			}
		})
	}
}
