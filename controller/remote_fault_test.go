package controller_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/hostagent"
	"github.com/berthdev/berth/internal/testenv"
)

// faultProxy stands between berth agents and the server and does to the
// protocol's frames what its rule says: forward them, send them twice,
// hold one back behind the next, or drop the connection on one.
type faultProxy struct {
	l      net.Listener
	target string

	mu   sync.Mutex
	rule func(toServer bool, f agentproto.Frame) verdict
}

type verdict int

const (
	forward verdict = iota
	twice
	holdBack // sent after the next frame the same way
	dropConn // the connection drops, the frame unsent
	discard  // the frame is lost, the connection stays
)

func startFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{l: l, target: target}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *faultProxy) url() string { return "http://" + p.l.Addr().String() }

// arm sets the rule for the frames from now on; nil forwards them all.
func (p *faultProxy) arm(rule func(toServer bool, f agentproto.Frame) verdict) {
	p.mu.Lock()
	p.rule = rule
	p.mu.Unlock()
}

func (p *faultProxy) verdict(toServer bool, line []byte) verdict {
	var f agentproto.Frame
	if json.Unmarshal(line, &f) != nil || f.Type == "" {
		return forward // the HTTP upgrade
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rule == nil {
		return forward
	}
	return p.rule(toServer, f)
}

func (p *faultProxy) serve(agent net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		agent.Close()
		return
	}
	var once sync.Once
	closeBoth := func() { once.Do(func() { agent.Close(); server.Close() }) }
	pipe := func(from, to net.Conn, toServer bool) {
		defer closeBoth()
		r := bufio.NewReaderSize(from, 1<<20)
		var held []byte
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			v := p.verdict(toServer, line)
			if v == dropConn {
				return
			}
			if v == discard {
				continue
			}
			if v == holdBack && held == nil {
				held = line
				continue
			}
			out := [][]byte{line}
			if v == twice {
				out = append(out, line)
			}
			if held != nil {
				out, held = append(out, held), nil
			}
			for _, l := range out {
				if _, err := to.Write(l); err != nil {
					return
				}
			}
		}
	}
	go pipe(agent, server, true)
	go pipe(server, agent, false)
}

// once is a rule that drops the connection on the first frame match
// accepts, then forwards everything.
func once(match func(toServer bool, f agentproto.Frame) bool) (func(bool, agentproto.Frame) verdict, func() bool) {
	var mu sync.Mutex
	dropped := false
	return func(toServer bool, f agentproto.Frame) verdict {
			mu.Lock()
			defer mu.Unlock()
			if !dropped && match(toServer, f) {
				dropped = true
				return dropConn
			}
			return forward
		}, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return dropped
		}
}

// reportOf matches the agent's report of a task status.
func reportOf(status string) func(bool, agentproto.Frame) bool {
	return func(toServer bool, f agentproto.Frame) bool {
		var m agentproto.TaskStateChange
		return toServer && f.Type == agentproto.TypeTaskStateChange && agentproto.Decode(f, &m) == nil && m.Change.Status == status
	}
}

// A connection that drops at any step of an assignment ends with the
// task started exactly once: before the agent has the payload, before its
// acknowledgement, before its first report, before the report that it
// runs.
func TestAnAssignmentSurvivesAConnectionDroppedAtEachStep(t *testing.T) {
	as, cluster := newAgentCluster(t, "faults")
	proxy := startFaultProxy(t, as.srv.Addr())
	startAgent(t, hostagent.Config{Server: proxy.url(), Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	registerDemo(t, as.ctl, "faults-web", "serve", "--port", "8080")
	steps := map[string]func(bool, agentproto.Frame) bool{
		"before the agent has the payload": func(toServer bool, f agentproto.Frame) bool {
			return !toServer && f.Type == agentproto.TypePayload
		},
		"before the payload's acknowledgement": func(toServer bool, f agentproto.Frame) bool {
			return toServer && f.Type == agentproto.TypeAck
		},
		"after the start, before the first report": func(toServer bool, f agentproto.Frame) bool {
			return toServer && f.Type == agentproto.TypeTaskStateChange
		},
		"before the report that it runs": reportOf("RUNNING"),
	}
	for name, match := range steps {
		t.Run(name, func(t *testing.T) {
			rule, dropped := once(match)
			proxy.arm(rule)
			defer proxy.arm(nil)
			run, err := as.ctl.RunTask(context.Background(), &api.RunTaskInput{Cluster: cluster, TaskDefinition: "faults-web"})
			if err != nil || len(run.Tasks) != 1 {
				t.Fatalf("RunTask: %+v %v", run, err)
			}
			arn := run.Tasks[0].TaskArn
			task := waitStatus(t, as.ctl, cluster, arn, "RUNNING")
			if !dropped() {
				t.Fatal("the connection was never dropped: the step was not seen")
			}
			if ids := containersOf(t, arn); len(ids) != 1 || ids[0] != task.Containers[0].RuntimeID {
				t.Errorf("containers of the task: %v, recorded %s", ids, task.Containers[0].RuntimeID)
			}
		})
	}
}

// Every frame sent twice, and the agent's reports each held back behind
// the next: the task starts once, and its record ends as it ended.
func TestDuplicatedAndReorderedFramesAreHarmless(t *testing.T) {
	as, cluster := newAgentCluster(t, "dups")
	proxy := startFaultProxy(t, as.srv.Addr())
	startAgent(t, hostagent.Config{Server: proxy.url(), Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	registerDemo(t, as.ctl, "dups-web", "serve", "--port", "8080")
	var mu sync.Mutex
	n := 0
	proxy.arm(func(toServer bool, f agentproto.Frame) verdict {
		if toServer && f.Type == agentproto.TypeTaskStateChange {
			mu.Lock()
			defer mu.Unlock()
			if n++; n%2 == 1 {
				return holdBack
			}
		}
		return twice
	})
	ctx := context.Background()
	run, err := as.ctl.RunTask(ctx, &api.RunTaskInput{Cluster: cluster, TaskDefinition: "dups-web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	arn := run.Tasks[0].TaskArn
	running := waitStatus(t, as.ctl, cluster, arn, "RUNNING")
	if ids := containersOf(t, arn); len(ids) != 1 || ids[0] != running.Containers[0].RuntimeID {
		t.Errorf("containers of the task: %v, recorded %s", ids, running.Containers[0].RuntimeID)
	}
	if _, err := as.ctl.StopTask(ctx, &api.StopTaskInput{Cluster: cluster, Task: arn, Reason: "done"}); err != nil {
		t.Fatal(err)
	}
	stopped := waitStatus(t, as.ctl, cluster, arn, "STOPPED")
	// Late copies of earlier reports come after STOPPED: nothing moves.
	time.Sleep(agentTimeout)
	if again := describeTask(t, as.ctl, cluster, arn); again.LastStatus != "STOPPED" || again.Version != stopped.Version ||
		again.StoppedReason != "done" || again.Containers[0].ExitCode == nil {
		t.Errorf("after late copies: %s version %d (was %d), %q", again.LastStatus, again.Version, stopped.Version, again.StoppedReason)
	}
}

// A server with a token takes only agents that carry it.
func TestAForgedOrMissingTokenIsRefused(t *testing.T) {
	as := startAgentServer(t, t.TempDir(), "s3cret")
	defer as.stop(t)
	for _, token := range []string{"", "forged"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := hostagent.Run(ctx, hostagent.Config{Server: as.url, Token: token, Docker: testenv.Docker(t), StateDir: t.TempDir()})
		cancel()
		var refused *agentproto.RefusedError
		if !errors.As(err, &refused) || refused.Status != 403 {
			t.Errorf("token %q: %v, want a refusal", token, err)
		}
	}
	cluster := "token-" + api.NewID()[:8]
	if _, err := as.ctl.CreateCluster(context.Background(), &api.CreateClusterInput{ClusterName: cluster}); err != nil {
		t.Fatal(err)
	}
	startAgent(t, hostagent.Config{Server: as.url, Token: "s3cret", Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the agent with the token is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
}

// An agent whose instance was deregistered while it was away is refused
// when it comes back, and says why, rather than trying again.
func TestAnAgentOfADeregisteredInstanceIsRefused(t *testing.T) {
	as, cluster := newAgentCluster(t, "gone")
	a := startAgent(t, hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	arn := instancesByZone(t, as.ctl, cluster)["us-east-1a"].ContainerInstanceArn
	a.stop()
	if _, err := as.ctl.DeregisterContainerInstance(context.Background(), &api.DeregisterContainerInstanceInput{Cluster: cluster, ContainerInstance: arn}); err != nil {
		t.Fatal(err)
	}
	again := startAgent(t, a.cfg)
	select {
	case err := <-again.done:
		if !errors.Is(err, hostagent.ErrRefused) || !strings.Contains(err.Error(), "inactive") {
			t.Errorf("the agent of a deregistered instance: %v", err)
		}
		again.done <- err // for its cleanup
	case <-time.After(time.Minute):
		t.Fatal("the agent of a deregistered instance kept trying")
	}
}
