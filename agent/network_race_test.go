package agent_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
)

// concurrentCreator is the engine's client with another creator beside
// the agent: it makes the task network between the agent's look and its
// create, so the engine refuses the agent's create ("already exists"), and
// the agent's next look does not list it yet, as the engine does not while
// the other creator's network is still being made.
type concurrentCreator struct {
	engine.Engine
	t       *testing.T
	made    atomic.Bool
	hidden  atomic.Bool // the other creator's network was left out of a list
	hide    atomic.Bool // leave it out of the next list
	refused atomic.Bool // the engine refused the agent's create
}

func (c *concurrentCreator) NetworkCreate(ctx context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error) {
	if c.made.CompareAndSwap(false, true) {
		// The other creator's subnet is the engine's choice: the one the
		// agent picked may be another test's by now.
		other := opts
		other.IPAM = nil
		if _, err := c.Engine.NetworkCreate(ctx, name, other); err != nil {
			c.t.Errorf("make the task network as another creator would: %v", err)
		}
		c.hide.Store(true)
		created, err := c.Engine.NetworkCreate(ctx, name, opts)
		c.refused.Store(err != nil)
		return created, err
	}
	return c.Engine.NetworkCreate(ctx, name, opts)
}

func (c *concurrentCreator) NetworkList(ctx context.Context, opts network.ListOptions) ([]network.Summary, error) {
	list, err := c.Engine.NetworkList(ctx, opts)
	if err != nil || !c.hide.CompareAndSwap(true, false) {
		return list, err
	}
	c.hidden.Store(true)
	return nil, nil
}

// A task network made by another creator between the agent's look and its
// create is the agent's task network too: the agent looks again until the
// engine lists it, and the task runs on it.
func TestAWSVPCTaskUsesTheTaskNetworkAnotherCreatorMadeMeanwhile(t *testing.T) {
	t.Parallel()
	creator := &concurrentCreator{t: t}
	e := newEnv(t, func(c *agent.Config) {
		c.SparePause = false
		creator.Engine = c.Docker
		c.Docker = creator
	})
	arn := e.run(spareTask)
	st := e.waitRunning(arn)
	if !creator.refused.Load() {
		t.Skip("this engine makes a second network of one name rather than refuse it: the race ends as two networks, which TestTwoAgentsMakingTheTaskNetworkAtOnceShareOne covers")
	}
	if !creator.hidden.Load() {
		t.Fatal("the agent never looked for the network after its create was refused: the test tests nothing")
	}
	nets, err := e.api.NetworkList(context.Background(), network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", e.cfg.TaskNetwork))})
	if err != nil {
		t.Fatal(err)
	}
	if len(nets) != 1 {
		t.Errorf("%d networks named %s, want the other creator's only", len(nets), e.cfg.TaskNetwork)
	}
	if code := get(t, "http://"+st.Address+":8080/"); code != http.StatusOK {
		t.Errorf("GET on the task's address answered %d", code)
	}
	e.stop(arn)
}

// phantomEndpoint is the engine's client for a task network that has an
// endpoint no container holds: the engine lists no container on it but
// refuses to remove it, as it did after a run of parallel tasks.
type phantomEndpoint struct {
	engine.Engine
	refuse atomic.Bool
}

func (p *phantomEndpoint) NetworkRemove(ctx context.Context, id string) error {
	if p.refuse.Load() {
		return errdefs.Forbidden(fmt.Errorf("error while removing network: network berth-awsvpc id %s has active endpoints", id))
	}
	return p.Engine.NetworkRemove(ctx, id)
}

// logLines keeps what an agent reports through Config.Logf.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) count(words ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if containsAll(line, words) {
			n++
		}
	}
	return n
}

func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func containsAll(s string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// A task network the engine refuses to remove although no container is
// attached is reported once: not hidden (it stays on the engine), not
// repeated at each attempt, nor by each agent after (each berth run is an
// agent of its own).
func TestTaskNetworkTheEngineCannotRemoveIsReportedOnce(t *testing.T) {
	t.Parallel()
	phantom := &phantomEndpoint{}
	logs := &logLines{}
	e := newEnv(t, func(c *agent.Config) {
		c.SparePause = false
		phantom.Engine = c.Docker
		c.Docker = phantom
		logf := c.Logf
		c.Logf = func(format string, args ...any) {
			logs.mu.Lock()
			logs.lines = append(logs.lines, fmt.Sprintf(format, args...))
			logs.mu.Unlock()
			logf(format, args...)
		}
	})
	arn := e.run(spareTask)
	e.waitRunning(arn)
	e.stop(arn)
	phantom.refuse.Store(true)
	report := []string{e.cfg.TaskNetwork, "no container is attached", "has active endpoints"}

	// The agent tries at its close; the next agent at its start and close.
	steps := []struct {
		what string
		do   func()
		want int
	}{
		{"the agent closes", func() { e.agent.Close() }, 1},
		{"a new agent starts", e.start, 1},
		{"the new agent closes", func() { e.agent.Close() }, 1},
	}
	for _, step := range steps {
		step.do()
		if got := logs.count(report...); got != step.want {
			t.Fatalf("once %s, %d reports of the network the engine refused to remove, want %d; the agents reported %q", step.what, got, step.want, logs.all())
		}
	}
	phantom.refuse.Store(false)
	e.start() // removes the network, now that the engine lets it
	if networkExists(e) {
		t.Errorf("the task network stays once the engine lets it go")
	}
}

// joinedMeanwhile is an engine on which another agent's container joins the
// task network between an agent's inspect of it and its removal: the
// engine refuses the removal, and the network is in use, not stuck.
type joinedMeanwhile struct {
	engine.Engine
	refused atomic.Bool
}

func (j *joinedMeanwhile) NetworkRemove(ctx context.Context, id string) error {
	j.refused.Store(true)
	return errdefs.Forbidden(fmt.Errorf("error while removing network: network berth-awsvpc id %s has active endpoints", id))
}

func (j *joinedMeanwhile) NetworkInspect(ctx context.Context, id string, opts network.InspectOptions) (network.Inspect, error) {
	info, err := j.Engine.NetworkInspect(ctx, id, opts)
	if err == nil && j.refused.Load() {
		info.Containers = map[string]network.EndpointResource{"another-agents-container": {Name: "another"}}
	}
	return info, err
}

// A network another agent's container joined in the instant before the
// removal is in use: the agent says nothing of it.
func TestTaskNetworkInUseByAnotherAgentIsNotReportedAsStuck(t *testing.T) {
	t.Parallel()
	joined := &joinedMeanwhile{}
	logs := &logLines{}
	e := newEnv(t, func(c *agent.Config) {
		c.SparePause = false
		joined.Engine = c.Docker
		c.Docker = joined
		c.Logf = func(format string, args ...any) {
			logs.mu.Lock()
			logs.lines = append(logs.lines, fmt.Sprintf(format, args...))
			logs.mu.Unlock()
		}
	})
	arn := e.run(spareTask)
	e.waitRunning(arn)
	e.stop(arn)
	e.agent.Close()
	if got := logs.count("has active endpoints"); got != 0 {
		t.Errorf("a network in use was reported as stuck: %q", logs.all())
	}
	joined.refused.Store(false)
	e.cfg.Docker = joined.Engine
	e.start() // the real engine removes it now
}
