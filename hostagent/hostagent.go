// Package hostagent is berth agent: it joins a Docker engine to a cluster
// of berth server as a container instance, the way the ECS agent joins an
// EC2 instance. It connects out to the server (agentproto), registers the
// instance with what its engine offers less what is reserved, runs the
// tasks the server assigns with package agent, reports every change of
// them, and heartbeats, saying whether its engine answers.
//
//	Run ─ read the instance's identity from the state directory
//	    ─ resume the tasks on the engine (agent.New), when it has one
//	    ─ connect; Hello{identity, registration, tasks it runs}
//	    ◄ Welcome{identity, what each task should be}  (kept when new)
//	    ─ act on the assignments, resend unacknowledged reports, then
//	      report every task it holds as it is now
//	    ─ heartbeat; PayloadMessage → start/stop, acknowledged
//	    ─ on a dropped connection: connect again, from Hello
//
// A restarted agent with the same state directory is the same instance:
// its tasks, which kept running, are resumed from their containers'
// labels, and the server says what each should be now; the agent then
// reports each as it found it (a container that exited meanwhile, exited).
package hostagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/taskdef"
)

// DefaultReservedPorts are the TCP ports an instance reserves unless told
// otherwise, as the ECS agent's ECS_RESERVED_PORTS.
var DefaultReservedPorts = []uint16{22, 2375, 2376, 51678, 51679}

// Config says which server and engine an agent joins.
type Config struct {
	// Server is berth server's URL (http://HOST:PORT); Token, when the
	// server has one, authenticates the agent.
	Server, Token string
	// Cluster is the cluster the instance joins ("default" when empty).
	Cluster string
	// Docker is the engine the tasks run on.
	Docker engine.Engine
	// Attributes are the instance's custom attributes; Zone and
	// InstanceType set ecs.availability-zone and ecs.instance-type.
	Attributes         map[string]string
	Zone, InstanceType string
	// ReservedMemoryMiB is held back from the engine's memory;
	// ReservedPorts (nil: DefaultReservedPorts) and ReservedPortsUDP are
	// never given to tasks.
	ReservedMemoryMiB               int64
	ReservedPorts, ReservedPortsUDP []uint16
	// HostIP is where the tasks' host ports bind ("" for every address).
	HostIP string
	// StateDir keeps the instance's identity.
	StateDir string
	// Version is the agent's version, reported to the server.
	Version string
	// BinaryPath is the berth binary berth's images are built from; empty
	// means the running one. With EnsureImages they are built on the
	// engine when the agent starts, rather than when the first task that
	// needs one starts.
	BinaryPath   string
	EnsureImages bool
	// Progress, when a terminal, shows a progress line for each image the
	// agent pulls or builds; nil shows none.
	Progress io.Writer
	// CleanupWait is how long a stopped task's containers stay; 0 means
	// the ECS agent's 3 hours.
	CleanupWait time.Duration
	// Logf receives what the agent does and what goes wrong; nil
	// discards it.
	Logf func(format string, args ...any)
}

// ErrRefused is a server that will not take the agent (a wrong token, an
// instance deregistered): trying again would not help.
var ErrRefused = errors.New("the server refused the agent")

// Agent is a running berth agent.
type Agent struct {
	cfg    Config
	outbox *agentproto.Outbox // reports not acknowledged
	seen   *agentproto.Seen   // payloads acted on
	// unheld are the tasks the agent was told to stop before it had
	// them: a start of one that comes after (reordered, or sent again
	// under another message ID) starts nothing.
	unheld *agentproto.Seen

	mu        sync.Mutex
	tasks     *agent.Agent
	conn      *agentproto.Conn
	arn       string
	key       string // the identity's registration key
	reachable bool
	wg        sync.WaitGroup
}

// identity is what the state directory keeps: the instance the agent is,
// and the key it made before it first registered, which the server maps to
// the instance it registered with it. A state directory with a key and no
// instance is an agent whose first registration may or may not have been
// made: its key makes the next one the same.
type identity struct {
	ContainerInstanceArn string `json:"containerInstanceArn,omitempty"`
	Cluster              string `json:"cluster"`
	RegistrationKey      string `json:"registrationKey,omitempty"`
}

const identityFile = "instance.json"

// Run joins the engine to the cluster until ctx ends, connecting again
// whenever the connection drops. It returns an ErrRefused error when the
// server will not have the agent. The tasks keep running when it returns.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Docker == nil || cfg.Server == "" || cfg.StateDir == "" {
		return errors.New("berth agent: Docker, Server and StateDir are required")
	}
	if cfg.Cluster == "" {
		cfg.Cluster = "default"
	}
	if cfg.ReservedPorts == nil {
		cfg.ReservedPorts = DefaultReservedPorts
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	a := &Agent{cfg: cfg, outbox: agentproto.NewOutbox(), seen: agentproto.NewSeen(4096), unheld: agentproto.NewSeen(4096), reachable: true}
	defer a.close()
	id, err := readIdentity(cfg.StateDir)
	if err != nil {
		return err
	}
	if id.RegistrationKey == "" && id.ContainerInstanceArn == "" {
		// Kept before the first Hello: a registration whose answer is
		// lost is made again with the same key.
		id = identity{Cluster: cfg.Cluster, RegistrationKey: api.NewID()}
		if err := writeIdentity(cfg.StateDir, id); err != nil {
			return err
		}
	}
	a.key = id.RegistrationKey
	if id.Cluster != cfg.Cluster {
		what := "instance " + id.ContainerInstanceArn
		if id.ContainerInstanceArn == "" {
			what = "the registration key of an instance"
		}
		return fmt.Errorf("%w: the state directory %s is %s of cluster %s, not of %s: give the state directory of an instance of %s, or a new one",
			ErrRefused, cfg.StateDir, what, id.Cluster, cfg.Cluster, cfg.Cluster)
	}
	if id.ContainerInstanceArn != "" {
		if err := a.resume(ctx, id.ContainerInstanceArn); err != nil {
			return nil // stopped while the engine did not answer
		}
	}
	wait := 100 * time.Millisecond
	for {
		began := time.Now()
		err := a.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var refused *agentproto.RefusedError
		if errors.Is(err, ErrRefused) || errors.As(err, &refused) && refused.Status/100 == 4 {
			return err
		}
		if time.Since(began) > 10*time.Second {
			wait = 100 * time.Millisecond
		}
		cfg.Logf("berth agent: %v; connecting again in %s", err, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// resume starts the task agent of instance arn, which takes over the
// tasks the engine runs for it; it tries again while the engine does not
// answer.
func (a *Agent) resume(ctx context.Context, arn string) error {
	parts := strings.Split(arn, ":")
	region, account := agent.DefaultRegion, agent.DefaultAccountID
	if len(parts) >= 6 {
		region, account = parts[3], parts[4]
	}
	zone := a.cfg.Zone
	if zone == "" {
		zone = region + "a"
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		tasks, err := agent.New(ctx, agent.Config{
			Docker:           a.cfg.Docker,
			Cluster:          a.cfg.Cluster,
			Region:           region,
			AccountID:        account,
			Instance:         arn[strings.LastIndexByte(arn, '/')+1:],
			HostIP:           a.cfg.HostIP,
			CleanupWait:      a.cfg.CleanupWait,
			BinaryPath:       a.cfg.BinaryPath,
			AvailabilityZone: zone,
			PullProgress:     a.cfg.Progress,
			Logf:             a.cfg.Logf,
		})
		if err == nil {
			a.mu.Lock()
			a.tasks, a.arn = tasks, arn
			a.mu.Unlock()
			a.follow(tasks)
			if a.cfg.EnsureImages {
				a.ensureImages(ctx)
			}
			return nil
		}
		a.cfg.Logf("berth agent: start on the engine: %v; trying again in %s", err, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ensureImages builds berth's own images on the engine from the agent's
// binary, in the background, so that the first task that needs one does
// not wait for it (the task would build it too).
func (a *Agent) ensureImages(ctx context.Context) {
	binary := a.cfg.BinaryPath
	if binary == "" {
		var err error
		if binary, err = os.Executable(); err != nil {
			return
		}
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for _, ref := range images.Refs() {
			if err := images.Ensure(images.WithProgress(ctx, a.cfg.Progress), a.cfg.Docker, binary, ref); err != nil && ctx.Err() == nil {
				a.cfg.Logf("berth agent: build %s on the engine: %v", ref, err)
			}
		}
	}()
}

// follow reports every change of the agent's tasks to the server: each
// is kept until the server acknowledges it, and sent again on the next
// connection when it is not.
func (a *Agent) follow(tasks *agent.Agent) {
	changes, _ := tasks.Subscribe(256)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for ch := range changes {
			// A task just accepted has no status of ECS's yet: its first
			// report is PROVISIONING or PENDING.
			if ch.Task.LastStatus != agent.TaskStatusNone {
				a.report(agentproto.Report(ch.Task))
			}
		}
	}()
}

// reportAll keeps a report of every task the agent holds, as it is now,
// to go with the reports not yet acknowledged: it follows them, so that
// it is the newest the server has. A change made after it is followed.
func (a *Agent) reportAll() {
	a.mu.Lock()
	tasks := a.tasks
	a.mu.Unlock()
	for _, s := range tasks.Tasks() {
		if s.LastStatus == agent.TaskStatusNone {
			continue
		}
		m := agentproto.Report(s)
		if _, err := a.outbox.Add(m.MessageID, agentproto.TypeTaskStateChange, m); err != nil {
			a.cfg.Logf("berth agent: %v", err)
		}
	}
}

func (a *Agent) report(m agentproto.TaskStateChange) {
	if _, err := a.outbox.Add(m.MessageID, agentproto.TypeTaskStateChange, m); err != nil {
		a.cfg.Logf("berth agent: %v", err)
		return
	}
	if conn := a.current(); conn != nil {
		conn.Write(agentproto.TypeTaskStateChange, m)
	}
}

func (a *Agent) current() *agentproto.Conn {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conn
}

func (a *Agent) close() {
	a.mu.Lock()
	tasks := a.tasks
	a.mu.Unlock()
	if tasks != nil {
		tasks.Close() // its tasks keep running, for the next agent
	}
	a.wg.Wait()
}

// session is one connection to the server, from Hello until it drops.
func (a *Agent) session(ctx context.Context) error {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := agentproto.Dial(dialCtx, a.cfg.Server, a.cfg.Token)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	hello, err := a.hello(ctx)
	if err != nil {
		return err
	}
	if err := conn.Write(agentproto.TypeHello, hello); err != nil {
		return fmt.Errorf("send Hello: %w", err)
	}
	f, err := conn.Read()
	if err != nil {
		return fmt.Errorf("read the server's Welcome: %w", err)
	}
	if f.Type == agentproto.TypeRefused {
		var r agentproto.Refused
		agentproto.Decode(f, &r)
		return fmt.Errorf("%w: %s", ErrRefused, r.Reason)
	}
	var w agentproto.Welcome
	if f.Type != agentproto.TypeWelcome {
		return fmt.Errorf("the server answered Hello with %s", f.Type)
	}
	if err := agentproto.Decode(f, &w); err != nil {
		return err
	}
	if a.tasks == nil {
		// A new instance: it is this one from now on, whatever happens.
		if err := writeIdentity(a.cfg.StateDir, identity{ContainerInstanceArn: w.ContainerInstanceArn, Cluster: a.cfg.Cluster, RegistrationKey: a.key}); err != nil {
			return err
		}
		if err := a.resume(ctx, w.ContainerInstanceArn); err != nil {
			return err
		}
		a.cfg.Logf("berth agent: registered container instance %s in cluster %s", w.ContainerInstanceArn, a.cfg.Cluster)
	} else if w.ContainerInstanceArn != a.arn {
		return fmt.Errorf("%w: the server named instance %s, and this agent is %s", ErrRefused, w.ContainerInstanceArn, a.arn)
	} else {
		a.cfg.Logf("berth agent: connected as container instance %s", a.arn)
	}
	interval := time.Duration(w.HeartbeatMillis) * time.Millisecond
	if interval <= 0 {
		interval = 10 * time.Second
	}
	conn.IdleTimeout = 3 * interval
	for _, as := range w.Tasks {
		a.apply(ctx, as)
	}
	a.mu.Lock()
	a.conn = conn
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.conn == conn {
			a.conn = nil
		}
		a.mu.Unlock()
	}()
	// Every task the agent holds, as it is now, goes after what the server
	// has not acknowledged: the server counts versions afresh on each
	// connection, and a report lost with an agent that died, or a change
	// made while no agent watched (a container that exited while the agent
	// was away, found by its recovery before anything followed its tasks),
	// is in it.
	a.reportAll()
	// What the server has not acknowledged goes again, oldest first; a
	// change reported from now on may go twice, which the server's
	// versions make harmless.
	for _, f := range a.outbox.Pending() {
		if err := conn.Write(f.Type, f.Message); err != nil {
			return err
		}
	}
	beats, stopBeats := context.WithCancel(ctx)
	defer stopBeats()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.heartbeat(beats, conn, interval)
	}()
	for {
		f, err := conn.Read()
		if err != nil {
			return fmt.Errorf("the connection to %s: %w", a.cfg.Server, err)
		}
		switch f.Type {
		case agentproto.TypePayload:
			var p agentproto.PayloadMessage
			if err := agentproto.Decode(f, &p); err != nil {
				return err
			}
			if a.seen.First(p.MessageID) {
				for _, as := range p.Tasks {
					a.apply(ctx, as)
				}
			}
			if err := conn.Write(agentproto.TypeAck, agentproto.AckRequest{MessageID: p.MessageID}); err != nil {
				return err
			}
		case agentproto.TypeAck:
			var ack agentproto.AckRequest
			if err := agentproto.Decode(f, &ack); err != nil {
				return err
			}
			a.outbox.Ack(ack.MessageID)
		case agentproto.TypeHeartbeatAck, agentproto.TypeHeartbeat:
		default:
			return fmt.Errorf("the server sent a %s, which a server does not send", f.Type)
		}
	}
}

// heartbeat tells the server every interval that the agent is there and
// whether its engine answers, which another goroutine asks the engine
// every interval: an engine that hangs never holds a heartbeat up.
func (a *Agent) heartbeat(ctx context.Context, conn *agentproto.Conn, interval time.Duration) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			a.askEngine(ctx, interval)
			select {
			case <-time.After(interval):
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		// Heartbeats fall on whole multiples of the interval, by the
		// host's clock: the server's agents, whose clocks agree, heartbeat
		// together, and the server handles them in one wake-up rather
		// than one each.
		now := time.Now()
		select {
		case <-time.After(now.Truncate(interval).Add(interval).Sub(now)):
		case <-ctx.Done():
			return
		}
		a.mu.Lock()
		reachable := a.reachable
		a.mu.Unlock()
		if err := conn.Write(agentproto.TypeHeartbeat, agentproto.HeartbeatMessage{MessageID: agentproto.NewMessageID(), EngineReachable: reachable}); err != nil {
			conn.Close()
			return
		}
	}
}

// askEngine asks the engine, within d, whether it is there, and says so
// when that changes.
func (a *Agent) askEngine(ctx context.Context, d time.Duration) {
	asked, cancel := context.WithTimeout(ctx, max(d, time.Second))
	defer cancel()
	_, err := a.cfg.Docker.Info(asked)
	if ctx.Err() != nil {
		return // the agent is stopping: the engine was not really asked
	}
	reachable := err == nil
	a.mu.Lock()
	changed := a.reachable != reachable
	a.reachable = reachable
	a.mu.Unlock()
	switch {
	case changed && reachable:
		a.cfg.Logf("berth agent: the engine answers again: the instance takes tasks")
	case changed:
		a.cfg.Logf("berth agent: the engine does not answer (%v): the instance takes no new tasks until it does", err)
	}
}

// hello is the agent's Hello: which instance it is, what it offers and the
// tasks it runs.
func (a *Agent) hello(ctx context.Context) (agentproto.Hello, error) {
	host, _ := os.Hostname()
	h := agentproto.Hello{ContainerInstanceArn: a.arn, RegistrationKey: a.key, Cluster: a.cfg.Cluster, AgentVersion: a.cfg.Version, Host: host,
		Engine: a.cfg.Docker.DaemonHost(), Tasks: []agentproto.TaskStatus{}}
	asked, cancel := context.WithTimeout(ctx, 10*time.Second)
	version, err := a.cfg.Docker.ServerVersion(asked)
	cancel()
	if err != nil {
		return agentproto.Hello{}, fmt.Errorf("ask the engine its API version: %w", err)
	}
	h.EngineAPIVersion = version.APIVersion
	reg, err := a.registration(ctx)
	if err != nil {
		return agentproto.Hello{}, err
	}
	h.Registration, h.EngineReachable = reg, true
	a.mu.Lock()
	tasks := a.tasks
	a.mu.Unlock()
	if tasks != nil {
		for _, s := range tasks.Tasks() {
			h.Tasks = append(h.Tasks, agentproto.TaskStatus{TaskArn: s.ARN, LastStatus: s.LastStatus.String(), DesiredStatus: s.DesiredStatus.String(), Version: s.Version})
		}
	}
	return h, nil
}

// registration is what the instance registers with: the engine's CPUs and
// memory less what is reserved, the reserved ports and the attributes.
func (a *Agent) registration(ctx context.Context) (api.RegisterContainerInstanceInput, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := a.cfg.Docker.Info(ctx)
	if err != nil {
		return api.RegisterContainerInstanceInput{}, fmt.Errorf("ask the engine what it offers: %w", err)
	}
	memory := info.MemTotal>>20 - a.cfg.ReservedMemoryMiB
	if memory <= 0 {
		return api.RegisterContainerInstanceInput{}, fmt.Errorf("%w: ECS_RESERVED_MEMORY: %d MiB reserved of the engine's %d", ErrRefused, a.cfg.ReservedMemoryMiB, info.MemTotal>>20)
	}
	in := api.RegisterContainerInstanceInput{
		TotalResources: []api.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: int32(info.NCPU * 1024)},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: int32(memory)},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: portStrings(a.cfg.ReservedPorts)},
			{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: portStrings(a.cfg.ReservedPortsUDP)},
		},
		VersionInfo: &api.VersionInfo{AgentVersion: a.cfg.Version, DockerVersion: info.ServerVersion},
	}
	names := make([]string, 0, len(a.cfg.Attributes))
	for name := range a.cfg.Attributes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		in.Attributes = append(in.Attributes, api.Attribute{Name: name, Value: a.cfg.Attributes[name]})
	}
	if a.cfg.Zone != "" {
		in.Attributes = append(in.Attributes, api.Attribute{Name: "ecs.availability-zone", Value: a.cfg.Zone})
	}
	if a.cfg.InstanceType != "" {
		in.Attributes = append(in.Attributes, api.Attribute{Name: "ecs.instance-type", Value: a.cfg.InstanceType})
	}
	return in, nil
}

func portStrings(ports []uint16) []string {
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = strconv.Itoa(int(p))
	}
	return out
}

// apply carries out one assignment: a task to run is started unless the
// agent has it, or was told to stop it before it had it; a task to stop is
// stopped, and reported STOPPED when the agent does not have it.
func (a *Agent) apply(ctx context.Context, as agentproto.Assignment) {
	tasks := a.tasks
	switch as.DesiredStatus {
	case "RUNNING":
		if _, ok := tasks.Task(as.TaskArn); ok || as.Definition == nil || a.unheld.Has(as.TaskArn) {
			return
		}
		spec, err := specOf(as)
		if err == nil {
			_, err = tasks.StartTask(ctx, spec)
		}
		if err != nil && !errors.Is(err, agent.ErrTaskExists) {
			a.report(agentproto.Stopped(a.cfg.Cluster, as.TaskArn, string(agent.StopTaskFailedToStart), "ResourceInitializationError: "+err.Error(), time.Now()))
		}
	case "STOPPED":
		err := tasks.StopTask(ctx, as.TaskArn, as.StoppedReason, agent.StopCode(as.StopCode))
		if errors.Is(err, agent.ErrTaskNotFound) {
			a.unheld.First(as.TaskArn)
			a.report(agentproto.Stopped(a.cfg.Cluster, as.TaskArn, as.StopCode, as.StoppedReason, time.Now()))
		}
	}
}

// specOf reads an assignment into the task the agent runs: its
// definition is loaded and checked as RegisterTaskDefinition does.
func specOf(as agentproto.Assignment) (agent.TaskSpec, error) {
	data, err := json.Marshal(as.Definition)
	if err != nil {
		return agent.TaskSpec{}, err
	}
	task, report, err := taskdef.Load(data, taskdef.Options{LaunchType: as.LaunchType})
	if err != nil {
		return agent.TaskSpec{}, err
	}
	if !report.Valid() {
		return agent.TaskSpec{}, fmt.Errorf("the task definition does not load: %v", report.Errors)
	}
	spec := agent.TaskSpec{ARN: as.TaskArn, Task: task, Revision: as.Revision, LaunchType: as.LaunchType, Group: as.Group,
		StartedBy: as.StartedBy, Address: as.Address}
	if as.Overrides != nil {
		for _, o := range as.Overrides.ContainerOverrides {
			spec.Overrides = append(spec.Overrides, agent.ContainerOverride{Name: o.Name, Command: o.Command, Environment: o.Environment})
		}
	}
	return spec, nil
}

func readIdentity(dir string) (identity, error) {
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, os.ErrNotExist) {
		return identity{}, nil
	}
	if err != nil {
		return identity{}, fmt.Errorf("read the instance's identity: %w", err)
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil || id.ContainerInstanceArn == "" && id.RegistrationKey == "" {
		return identity{}, fmt.Errorf("read the instance's identity: %s is not berth agent's (%v)", filepath.Join(dir, identityFile), err)
	}
	return id, nil
}

// writeIdentity keeps the instance's identity, whole or not at all.
func writeIdentity(dir string, id identity) error {
	b, err := json.Marshal(id)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, identityFile)
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("keep the instance's identity: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("keep the instance's identity: %w", err)
	}
	return nil
}
