package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/api/types/system"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agent/metadata"
	"github.com/berthdev/berth/agent/tasknet"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/taskdef"

	"github.com/berthdev/berth/agent/cgroups"
)

// Defaults of Config.
const (
	DefaultCluster     = "default"
	DefaultRegion      = "us-east-1"
	DefaultAccountID   = "000000000000"
	DefaultHostIP      = "0.0.0.0"
	DefaultCleanupWait = 3 * time.Hour // ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION
	DefaultCgroupRoot  = cgroups.DefaultRoot
	// DefaultResyncInterval is how often a task inspects its containers
	// in case the engine's event stream lost an event.
	DefaultResyncInterval = time.Minute
	// DefaultTaskNetwork is the bridge network awsvpc tasks get their
	// addresses on (see tasknet).
	DefaultTaskNetwork = tasknet.DefaultName
)

// Config says which engine an agent drives and how.
type Config struct {
	// Docker is the engine (required): a Docker client, given deadlines
	// by engine.New, or one in memory (enginetest).
	Docker engine.Engine
	// Cluster names the cluster the tasks belong to; Region and AccountID
	// go into the task ARNs the agent makes.
	Cluster, Region, AccountID string
	// Instance tells apart agents sharing one engine and cluster (several
	// container instances on one machine). Each agent sees only its own.
	Instance string
	// HostIP is the host address published ports bind to.
	HostIP string
	// CleanupWait is how long a stopped task's containers, volumes and
	// cgroup stay before they are removed; 0 means DefaultCleanupWait.
	CleanupWait time.Duration
	// PullBehavior is the agent's ECS_IMAGE_PULL_BEHAVIOR.
	PullBehavior PullBehavior
	// PullProgress, when a terminal, shows a progress line per pull, and
	// per build of berth's own images.
	PullProgress io.Writer
	// BinaryPath is the berth binary berth's own images are built from;
	// empty means the running executable.
	BinaryPath string
	// TaskNetwork and TaskSubnet are the name and CIDR of the awsvpc
	// network; empty means DefaultTaskNetwork and a free 10.x.0.0/16.
	TaskNetwork, TaskSubnet string
	// CgroupRoot is where the engine's cgroup hierarchies are mounted.
	CgroupRoot string
	// Labels are added to every container, network and volume the agent
	// makes.
	Labels map[string]string
	// AvailabilityZone is the zone the task metadata endpoint reports;
	// empty means Region with "a" appended, the local instance's
	// ecs.availability-zone attribute.
	AvailabilityZone string
	// NoMetadataEndpoint turns off the task metadata endpoint (see
	// metadata.go): containers then get no ECS_CONTAINER_METADATA_URI_V4.
	NoMetadataEndpoint bool
	// Slice, when set, is the share of the host of the container instance
	// the agent runs: its tasks run under a cgroup of the instance's size
	// (see package cgroups).
	Slice *Slice
	// MetadataPort is the port the task metadata endpoint listens on, on
	// the engine's bridge gateway; 0 means any free port. Given the port of
	// the agent before it, an agent answers the tasks it recovers at the
	// URLs they were started with. A port taken by another process gives
	// way to a free one, which Logf says.
	MetadataPort int
	// SparePause keeps one started pause container ready for the next
	// awsvpc task (see doc.go). It pays off for an agent that runs many
	// tasks; an agent that runs one task and closes (berth run) leaves it
	// off, so it never starts a container nobody will use.
	SparePause bool
	// SpareRange is a CIDR within TaskSubnet where no task is ever given
	// an address: the tasks of an agent that has one all come with an
	// address of their own (TaskSpec.Address, as a Fargate provisioner
	// gives them). Its spare starts at an address of the range and waits
	// off the network, and the task that takes it moves it to the task's
	// address (see tasknet.SparesConfig.Park). Without it the spare keeps
	// the address the engine gave it and goes to a task without one.
	SpareRange string
	// ResyncInterval is how often each task that has not stopped
	// inspects its containers, which catches an event the engine's stream
	// lost; 0 means DefaultResyncInterval, a negative value never.
	ResyncInterval time.Duration
	// Clock is the time the agent's tasks keep: their timestamps, the
	// startTimeout of a dependency, the retry of a refused stop, the
	// CleanupWait. nil means the real clock; tests of the agent over a
	// fake engine (engine/enginetest) share a clock.Manual with it. The
	// engine's deadlines and the agent's own housekeeping keep real time.
	Clock clock.Clock
	// Logf receives diagnostics the agent cannot return as errors
	// (cleanup failures); nil discards them.
	Logf func(format string, args ...any)
	// Info is the engine's system info when the caller has just asked
	// for it, so that New does not ask again; nil: New asks. The agent
	// follows the engine's events from its SystemTime on, which must be
	// from before New.
	Info *system.Info
}

// Agent runs tasks on one Docker engine, as the ECS agent does on a
// container instance. Its methods are safe for concurrent use.
type Agent struct {
	cfg        Config
	docker     engine.Engine
	clock      clock.Clock
	binaryPath string
	ctx        context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	mu    sync.Mutex
	tasks map[string]*task

	hub      *hub
	ports    *portAllocator
	network  *tasknet.Network
	spares   *tasknet.Spares
	cgroups  *cgroupTree
	puller   *puller
	metadata *metadata.Server
}

// New starts an agent on cfg.Docker: it starts following the engine's
// events and resumes the tasks already on the engine for its cluster and
// instance (found by their labels).
func New(ctx context.Context, cfg Config) (*Agent, error) {
	a, since, err := newAgent(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.setUpSlice(ctx)
	// Events are read from a point in the engine's time taken before the
	// engine is listed, so nothing that happens in between is missed.
	msgs, errs := a.subscribeEvents(since)
	if err := a.recover(ctx); err != nil {
		// Tasks already resumed end with the agent; their containers stay
		// for the next one.
		a.Close()
		return nil, err
	}
	a.wg.Add(1)
	go a.watch(msgs, errs, since)
	if !cfg.NoMetadataEndpoint && len(a.Tasks()) > 0 {
		// The recovered tasks' containers read their endpoint now, not
		// once the agent's next container is made.
		if _, err := a.metadata.Ensure(ctx); err != nil {
			a.cfg.Logf("the recovered tasks get no task metadata endpoint: %v", err)
		}
	}
	return a, nil
}

// newAgent checks cfg, fills its defaults and builds an agent that neither
// follows the engine nor knows any task yet. It also returns the engine's
// clock, from which New follows the engine's events.
func newAgent(ctx context.Context, cfg Config) (*Agent, time.Time, error) {
	if cfg.Docker == nil {
		return nil, time.Time{}, errors.New("agent config: Docker is required")
	}
	if cfg.Cluster == "" {
		cfg.Cluster = DefaultCluster
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.HostIP == "" {
		cfg.HostIP = DefaultHostIP
	}
	if net.ParseIP(cfg.HostIP) == nil {
		return nil, time.Time{}, fmt.Errorf("agent config: HostIP %q is not an IP address", cfg.HostIP)
	}
	if cfg.CleanupWait == 0 {
		cfg.CleanupWait = DefaultCleanupWait
	}
	pb, err := ParsePullBehavior(string(cfg.PullBehavior))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("agent config: %w", err)
	}
	cfg.PullBehavior = pb
	if cfg.TaskNetwork == "" {
		cfg.TaskNetwork = DefaultTaskNetwork
	}
	if cfg.TaskSubnet != "" {
		if _, _, err := net.ParseCIDR(cfg.TaskSubnet); err != nil {
			return nil, time.Time{}, fmt.Errorf("agent config: TaskSubnet: %w", err)
		}
	}
	park, err := spareRange(cfg.SpareRange, cfg.TaskSubnet)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("agent config: %w", err)
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = DefaultCgroupRoot
	}
	if cfg.Slice != nil {
		if err := cgroups.CheckSlice(*cfg.Slice); err != nil {
			return nil, time.Time{}, fmt.Errorf("agent config: %w", err)
		}
	}
	if cfg.MetadataPort < 0 || cfg.MetadataPort > 65535 {
		return nil, time.Time{}, fmt.Errorf("agent config: MetadataPort %d is not a port (0 to 65535)", cfg.MetadataPort)
	}
	if cfg.AvailabilityZone == "" {
		cfg.AvailabilityZone = cfg.Region + "a"
	}
	if cfg.ResyncInterval == 0 {
		cfg.ResyncInterval = DefaultResyncInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	binary := cfg.BinaryPath
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return nil, time.Time{}, fmt.Errorf("agent config: find the berth binary: %w", err)
		}
	}
	// The first task's image check needs the binary's digest; reading the
	// binary overlaps with the engine's answers from here on.
	images.Prehash(binary)
	var info system.Info
	if cfg.Info != nil {
		info = *cfg.Info
	} else if info, err = cfg.Docker.Info(ctx); err != nil {
		return nil, time.Time{}, fmt.Errorf("docker info: %w", err)
	}
	since, err := time.Parse(time.RFC3339Nano, info.SystemTime)
	if err != nil {
		since = cfg.Clock.Now()
	}
	cgVersion := 1
	if info.CgroupVersion == "2" {
		cgVersion = 2
	}

	a := &Agent{
		cfg:        cfg,
		docker:     cfg.Docker,
		clock:      cfg.Clock,
		binaryPath: binary,
		tasks:      map[string]*task{},
		hub:        newHub(),
		ports:      newPortAllocator(),
		cgroups:    &cgroupTree{Tree: cgroups.Tree{Root: cfg.CgroupRoot, Version: cgVersion, Driver: info.CgroupDriver}},
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.network = tasknet.New(cfg.Docker, tasknet.Config{
		Name:         cfg.TaskNetwork,
		Subnet:       cfg.TaskSubnet,
		Labels:       resourceLabels(cfg.Labels, "network", ""),
		ManagedLabel: LabelManaged,
		Logf:         cfg.Logf,
	})
	a.spares = tasknet.NewSpares(a.network, tasknet.SparesConfig{
		Enabled: cfg.SparePause,
		Labels:  a.spareLabels(),
		Life:    a.ctx,
		Group:   &a.wg,
		Remove:  a.removeContainer,
		Logf:    cfg.Logf,
		Park:    park,
	})
	a.puller = &puller{a: a, pulled: map[string]bool{}, progress: cfg.PullProgress}
	a.metadata = newMetadataServer(a)
	return a, since, nil
}

// spareRange checks the SpareRange of a config whose task subnet is
// subnet: an IPv4 CIDR with room for a spare, within the subnet, which a
// range needs to be given (a picked subnet is not known in advance).
func spareRange(cidr, subnet string) (netip.Prefix, error) {
	if cidr == "" {
		return netip.Prefix{}, nil
	}
	park, err := netip.ParsePrefix(cidr)
	if err != nil || !park.Addr().Is4() || park.Bits() > 30 {
		return netip.Prefix{}, fmt.Errorf("SpareRange %q is not an IPv4 CIDR of /30 or wider", cidr)
	}
	within, err := netip.ParsePrefix(subnet)
	if err != nil || !within.Contains(park.Masked().Addr()) || within.Bits() > park.Bits() {
		return netip.Prefix{}, fmt.Errorf("SpareRange %s is not within TaskSubnet %q", cidr, subnet)
	}
	return park.Masked(), nil
}

// Close stops following the engine and ends every subscription. The tasks
// keep running: a new agent on the engine takes them over. The agent's
// spare pause container goes, and the task network with it when nothing
// else is attached to it.
func (a *Agent) Close() error {
	// Cancelling under the lock orders it with StartTask's check, so no
	// task goroutine starts after Close has begun waiting.
	a.mu.Lock()
	a.cancel()
	a.mu.Unlock()
	a.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a.spares.Close(ctx)
	a.metadata.Close()
	err := a.network.RemoveIfUnused(ctx)
	a.hub.close()
	return err
}

// PrepareTaskNetwork makes the awsvpc task network now, if it is not
// there, so that its making overlaps whatever the caller does before its
// first awsvpc task's StartTask, which otherwise makes it then. Nothing
// is attached to it: Close removes it, as ever, when it is unused.
func (a *Agent) PrepareTaskNetwork(ctx context.Context) error {
	return a.network.Ensure(ctx)
}

// StartTask accepts a task and starts it in the background; the returned
// state is the task as accepted. Progress arrives through Subscribe, and
// Wait blocks until the task reaches a status. An error means the spec was
// refused and nothing was made.
func (a *Agent) StartTask(ctx context.Context, spec TaskSpec) (TaskState, error) {
	if err := checkSpec(&spec); err != nil {
		return TaskState{}, err
	}
	if spec.ARN == "" {
		spec.ARN = newTaskARN(a.cfg.Region, a.cfg.AccountID, a.cfg.Cluster)
	}
	t := newTask(a, &spec)
	a.mu.Lock()
	if a.ctx.Err() != nil {
		a.mu.Unlock()
		return TaskState{}, ErrClosed
	}
	if _, exists := a.tasks[spec.ARN]; exists {
		a.mu.Unlock()
		return TaskState{}, fmt.Errorf("%w: %s", ErrTaskExists, spec.ARN)
	}
	a.tasks[spec.ARN] = t
	a.wg.Add(1)
	a.mu.Unlock()
	t.publish("")
	go t.run(false)
	return t.snapshotState(), nil
}

// StopTask asks a task to stop. reason is the stoppedReason ("Task stopped
// by user" when empty); code defaults to UserInitiated. It returns at once;
// the task moves to STOPPED through its containers' stop timeouts.
func (a *Agent) StopTask(ctx context.Context, arn, reason string, code StopCode) error {
	t, err := a.find(arn)
	if err != nil {
		return err
	}
	if code == "" {
		code = StopUserInitiated
	}
	if reason == "" {
		reason = reasonUserStopped
	}
	t.requestStop(stopRequest{code: code, reason: reason})
	return nil
}

// StopTaskWithin asks a task to stop as StopTask does, with a deadline: its
// containers get SIGTERM in the same order, each with its stopTimeout but
// none beyond within, and whatever still runs when within has passed gets
// SIGKILL. It is a reclaim of the task's capacity, such as a Fargate Spot
// interruption, whose warning the task's stopTimeouts cannot outlast. A
// deadline already set stays unless this one comes sooner.
func (a *Agent) StopTaskWithin(ctx context.Context, arn, reason string, code StopCode, within time.Duration) error {
	if within <= 0 {
		return fmt.Errorf("stop task %s: the deadline must be after now; got %v", arn, within)
	}
	t, err := a.find(arn)
	if err != nil {
		return err
	}
	t.requestStop(stopRequest{code: code, reason: reason, within: within})
	return nil
}

// KillTask stops a task at once: every container of it gets SIGKILL now,
// whatever its stopTimeout and dependsOn order. A task not yet stopping is
// stopped as by StopTask with UserInitiated.
func (a *Agent) KillTask(ctx context.Context, arn string) error {
	t, err := a.find(arn)
	if err != nil {
		return err
	}
	t.requestStop(stopRequest{code: StopUserInitiated, reason: reasonUserStopped, kill: true})
	return nil
}

// RemoveTask cleans a STOPPED task up now instead of after CleanupWait:
// its containers, task volumes and cgroup go, and the agent forgets it. It returns once that is done.
func (a *Agent) RemoveTask(ctx context.Context, arn string) error {
	t, err := a.find(arn)
	if err != nil {
		return err
	}
	if s := t.snapshotState(); s.LastStatus < TaskStopped {
		return fmt.Errorf("%w: task %s is %s", ErrTaskNotStopped, t.id, s.LastStatus)
	}
	done := make(chan struct{})
	t.mail.put(removeRequest{done: done})
	select {
	case <-done:
		return nil
	case <-t.finished:
		// The run goroutine ended: the task was cleaned up, or the agent
		// closed before it was.
		if !t.deleted {
			return fmt.Errorf("remove task %s: %w", t.id, ErrClosed)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("remove task %s: %w", t.id, ctx.Err())
	}
}

// Tasks returns every task the agent runs or has stopped and not yet
// cleaned up, oldest first.
func (a *Agent) Tasks() []TaskState {
	a.mu.Lock()
	tasks := make([]*task, 0, len(a.tasks))
	for _, t := range a.tasks {
		tasks = append(tasks, t)
	}
	a.mu.Unlock()
	out := make([]TaskState, len(tasks))
	for i, t := range tasks {
		out[i] = t.snapshotState()
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ARN < out[j].ARN
	})
	return out
}

// Task returns one task by ARN or task ID.
func (a *Agent) Task(arn string) (TaskState, bool) {
	t, ok := a.lookup(arn)
	if !ok {
		return TaskState{}, false
	}
	return t.snapshotState(), true
}

// Subscribe returns every state change from now on, in order, and a
// function that ends the subscription. The channel is closed when the
// subscription or the agent ends. buffer sizes the channel; changes are
// queued without limit behind it, so none is lost.
func (a *Agent) Subscribe(buffer int) (<-chan StateChange, func()) {
	return a.hub.subscribe(buffer)
}

// Wait blocks until the task's lastStatus reaches status (or passes it)
// and returns the task as it was then. A task cleaned up meanwhile
// satisfies every status up to DELETED.
func (a *Agent) Wait(ctx context.Context, arn string, status TaskStatus) (TaskState, error) {
	changes, cancel := a.Subscribe(16)
	defer cancel()
	t, err := a.find(arn)
	if err != nil {
		return TaskState{}, err
	}
	if s := t.snapshotState(); s.LastStatus >= status {
		return s, nil
	}
	for {
		select {
		case c, ok := <-changes:
			if !ok {
				return TaskState{}, ErrClosed
			}
			if c.Task.ARN == t.arn && c.Task.LastStatus >= status {
				return c.Task, nil
			}
		case <-ctx.Done():
			return t.snapshotState(), fmt.Errorf("wait for task %s to reach %s: %w", t.id, status, ctx.Err())
		}
	}
}

// lookup finds a task by ARN or ID.
func (a *Agent) lookup(arnOrID string) (*task, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.tasks[arnOrID]; ok {
		return t, true
	}
	for _, t := range a.tasks {
		if t.id == arnOrID {
			return t, true
		}
	}
	return nil, false
}

// find is lookup for the API's calls: a task it does not know is an
// ErrTaskNotFound naming what was asked for.
func (a *Agent) find(arnOrID string) (*task, error) {
	if t, ok := a.lookup(arnOrID); ok {
		return t, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrTaskNotFound, arnOrID)
}

func (a *Agent) forget(arn string) {
	a.mu.Lock()
	delete(a.tasks, arn)
	a.mu.Unlock()
}

// hostIP returns the host address a spec's ports bind to.
func (a *Agent) hostIP(spec *TaskSpec) string {
	if spec.HostIP != "" {
		return spec.HostIP
	}
	return a.cfg.HostIP
}

// launchType returns the spec's launch type.
func launchType(spec *TaskSpec) string {
	switch {
	case spec.LaunchType != "":
		return spec.LaunchType
	case spec.Task.LaunchType != "":
		return spec.Task.LaunchType
	}
	return taskdef.LaunchEC2
}
