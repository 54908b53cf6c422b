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
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	f.engine.Inject("ContainerCreate", func(ctx context.Context, _ string) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	arn := f.run(`{"family":"slow","containerDefinitions":[{"name":"app","image":"` + appImage + `","memory":64}]}`)
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("the create never came")
	}
	closed := make(chan error, 1)
	go func() { closed <- f.agent.Close() }()
	// Close has begun (and cancelled what it cancels) before the engine
	// answers.
	time.Sleep(200 * time.Millisecond)
	close(release)
	select {
	case <-closed:
	case <-time.After(testTimeout):
		t.Fatal("Close never returned")
	}
	left, err := f.engine.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", agent.LabelTaskARN+"="+arn))})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 {
		t.Errorf("containers of the task after Close: %d, want the one whose create was under way", len(left))
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
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	f.engine.Inject("ContainerRemove", func(ctx context.Context, _ string) error {
		select {
		case entered <- struct{}{}:
		default:
			return nil // the removes after the first go through
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	removed := make(chan error, 1)
	go func() { removed <- f.agent.RemoveTask(context.Background(), arn) }()
	select {
	case <-entered:
	case <-time.After(testTimeout):
		t.Fatal("the cleanup's first remove never came")
	}
	closed := make(chan error, 1)
	go func() { closed <- f.agent.Close() }()
	// Close has begun (and cancelled what it cancels) before the engine
	// answers the first remove.
	time.Sleep(200 * time.Millisecond)
	close(release)
	select {
	case <-closed:
	case <-time.After(testTimeout):
		t.Fatal("Close never returned")
	}
	<-removed
	left, err := f.engine.ContainerList(context.Background(), container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", agent.LabelTaskARN+"="+arn))})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("containers of the task after Close: %d, want none: its cleanup had begun", len(left))
	}
}
