package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent"
)

// An agent closed while a container's create is under way lets the create
// finish, within a grace, instead of cutting it short: the engine carries
// out a create whose caller went away, so one cut short would leave a
// container nobody knows of. After Close, the container is there and
// carries its task, for whoever cleans up to find.
func TestClosingTheAgentLetsACreateUnderWayFinish(t *testing.T) {
	f := newFakeEnv(t)
	held := holdFirstCall(f, "ContainerCreate")
	arn := f.run(`{"family":"slow","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64}]}`)
	closeWhileHeld(t, f, held, "the create")
	if left := taskContainers(t, f, arn); left != 1 {
		t.Errorf("containers of the task after Close: %d, want the one whose create was under way", left)
	}
}

// An agent closed while a task's cleanup is under way lets it finish,
// within a grace: cut short, it left the task's other containers on the
// engine of a task the agent had forgotten.
func TestClosingTheAgentLetsACleanupUnderWayFinish(t *testing.T) {
	f := newFakeEnv(t)
	arn := f.run(`{"family":"two","containerDefinitions":[
		{"name":"app","image":"` + appImage + `","memory":64},
		{"name":"side","image":"` + appImage + `","memory":64,"essential":false}]}`)
	f.containerRunning(arn, "app")
	f.containerRunning(arn, "side")
	if err := f.agent.KillTask(context.Background(), arn); err != nil {
		t.Fatal(err)
	}
	f.stopped(arn)
	held := holdFirstCall(f, "ContainerRemove")
	removed := make(chan error, 1)
	go func() { removed <- f.agent.RemoveTask(context.Background(), arn) }()
	closeWhileHeld(t, f, held, "the cleanup's first remove")
	<-removed
	if left := taskContainers(t, f, arn); left != 0 {
		t.Errorf("containers of the task after Close: %d, want none: its cleanup had begun", left)
	}
}

// heldCall is an engine call held until released: entered says it came.
type heldCall struct {
	entered chan struct{}
	release chan struct{}
}

// holdFirstCall makes the first call of the engine's kind wait until it is
// released (or its context ends); the calls after it go through.
func holdFirstCall(f *fakeEnv, call string) heldCall {
	h := heldCall{entered: make(chan struct{}, 1), release: make(chan struct{})}
	f.engine.Inject(call, func(ctx context.Context, _ string) error {
		select {
		case h.entered <- struct{}{}:
		default:
			return nil
		}
		select {
		case <-h.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	return h
}

// closeWhileHeld waits for the held call (what names it), closes the
// agent, and releases the call once Close has begun (and cancelled what it
// cancels); it returns when Close has.
func closeWhileHeld(t *testing.T, f *fakeEnv, h heldCall, what string) {
	t.Helper()
	select {
	case <-h.entered:
	case <-time.After(testTimeout):
		t.Fatalf("%s never came", what)
	}
	closed := make(chan error, 1)
	go func() { closed <- f.agent.Close() }()
	time.Sleep(200 * time.Millisecond)
	close(h.release)
	select {
	case <-closed:
	case <-time.After(testTimeout):
		t.Fatal("Close never returned")
	}
}

// taskContainers counts the engine's containers of the task.
func taskContainers(t *testing.T, f *fakeEnv, arn string) int {
	t.Helper()
	left, err := f.engine.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", agent.LabelTaskARN+"="+arn))})
	if err != nil {
		t.Fatal(err)
	}
	return len(left)
}
