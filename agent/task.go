package agent

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"

	"github.com/berthdev/berth/agent/dockerspec"
	"github.com/berthdev/berth/agent/tasknet"
	"github.com/berthdev/berth/taskdef"
)

// task is one task on the agent. A single goroutine (run) owns everything
// below "owned by run" and moves the task forward: it applies the engine's
// events, StopTask requests and the results of container stops, which all
// arrive through mail. Readers see the snapshot, a copy published after
// every change.
type task struct {
	a            *Agent
	arn, id      string
	record       taskRecord
	agentLabels  map[string]string
	pullBehavior PullBehavior
	overrides    map[string]*ContainerOverride
	env          []taskdef.KeyValuePair
	output       func(container string) OutputWriter
	mail         mailbox[any]

	// owned by run
	state        TaskState
	ctrs         []*ctr
	byID         map[string]*ctr
	pauseID      string
	pauseStopped bool
	// joinLease, while the task's one container is created on the task
	// network but not yet started there, is the network's lease (see
	// joinAlone).
	joinLease    func()
	cgroupParent string
	cgroupTried  bool
	mounts       map[string]dockerspec.MountSource
	// createCtx is the context of the task's creates while the start
	// lasts (see createReady); creating counts those in flight.
	createCtx context.Context
	creating  int
	nextWake  time.Time
	cleanupAt time.Time
	resyncAt  time.Time
	deleted   bool
	killing   bool
	// killAt, when set, is when the containers still running get SIGKILL,
	// whatever their stopTimeout (StopTaskWithin).
	killAt time.Time
	// removeWaiters are RemoveTask calls waiting for the cleanup.
	removeWaiters []chan struct{}
	// finished is closed when the run goroutine ends.
	finished chan struct{}

	smu           sync.Mutex
	snapshot      TaskState
	setupCancel   context.CancelFunc
	stopRequested bool
}

// ctr is one container of a task, as the run goroutine tracks it.
type ctr struct {
	def            *taskdef.ContainerDefinition
	st             *ContainerState
	bindings       []NetworkBinding
	startRequested bool
	started        bool
	stopRequested  bool
	oom            bool
	// createPending is a create the engine has not answered yet.
	createPending bool
	// startPending is a start the engine has not answered yet;
	// startCancel ends it (a stop does, before it stops the container).
	startPending bool
	startCancel  context.CancelFunc
	// killPending is a SIGKILL the engine has not answered yet.
	killPending bool
	// dying is a die event whose inspect has not answered yet; a destroy
	// that comes meanwhile (destroyed) waits for it.
	dying, destroyed bool
	// inspects counts the inspects asked for; observed is the latest of
	// them whose answer was applied (see inspectCtr).
	inspects, observed int
	// stopRetryAt is when a stop the engine refused is tried again.
	stopRetryAt time.Time
	// output carries the container's output to the task's Output.
	output *outputStream
}

// offload runs call, an engine call, off the run goroutine and posts what
// it returns to the task's mail: an engine that hangs on one call holds up
// that call's container, never the task (a stop is still honoured). The
// run goroutine holds the wait group, so Close waits for call too; call
// ends with the agent's context.
func (t *task) offload(call func() any) {
	t.a.wg.Add(1)
	go func() {
		defer t.a.wg.Done()
		t.mail.put(call())
	}()
}

// inspectThen inspects a container off the run goroutine and has the run
// goroutine apply then to the answer.
func (t *task) inspectThen(id string, then func(container.InspectResponse, error)) {
	t.offload(func() any {
		info, err := t.a.docker.ContainerInspect(t.a.ctx, id)
		return inspected{info: info, err: err, then: then}
	})
}

// inspectCtr is inspectThen for a task's container. Answers may come back
// in any order: fresh says that no inspect asked for later has been
// applied yet. A stale answer is older than what the task knows, and is
// not to be observed (it would take a health status back, say).
func (t *task) inspectCtr(c *ctr, then func(info container.InspectResponse, err error, fresh bool)) {
	c.inspects++
	seq := c.inspects
	t.inspectThen(c.st.DockerID, func(info container.InspectResponse, err error) {
		fresh := seq > c.observed
		if fresh && err == nil {
			c.observed = seq
		}
		then(info, err, fresh)
	})
}

// Messages the run goroutine receives besides the engine's events.
type (
	// stopRequest asks the task to stop; kill asks for SIGKILL at once, in
	// the same message so that no SIGTERM goes out before it.
	stopRequest struct {
		code   StopCode
		reason string
		kill   bool
		// within, when set, is how long the stop may take before what
		// still runs is killed.
		within time.Duration
	}
	stopResult struct {
		c   *ctr
		err error
	}
	startResult struct {
		c   *ctr
		err error
	}
	// createResult is a create's answer: the container's ID and what it
	// was created with, or err. ctx is the context it was made under.
	createResult struct {
		c     *ctr
		ctx   context.Context
		id    string
		name  string
		ports []dockerspec.PortBinding
		// leave releases the task network's lease the create took for a
		// container that joins the network itself (joinAlone).
		leave func()
		err   error
	}
	killResult struct {
		c   *ctr
		err error
	}
	// inspected is an inspect's answer, for then to apply.
	inspected struct {
		info container.InspectResponse
		err  error
		then func(container.InspectResponse, error)
	}
	resyncRequest struct{}
	removeRequest struct{ done chan struct{} }
)

const labelInstance = "berth.container-instance"

func newTask(a *Agent, spec *TaskSpec) *task {
	rev := spec.Revision
	if rev == 0 {
		rev = 1
	}
	group := spec.Group
	if group == "" {
		group = "family:" + spec.Task.Definition.Family
	}
	rec := taskRecord{
		ARN:        spec.ARN,
		Cluster:    a.cfg.Cluster,
		Revision:   rev,
		LaunchType: launchType(spec),
		Group:      group,
		StartedBy:  spec.StartedBy,
		CPU:        spec.Task.CPU,
		Memory:     spec.Task.Memory,
		HostIP:     a.hostIP(spec),
		Address:    spec.Address,
		CreatedAt:  a.clock.Now().UTC(),
		Definition: spec.Task.Definition,
	}
	// A round trip through the label encoding gives the task its own deep
	// copy of the definition.
	copied, err := decodeRecord(rec.encode())
	if err != nil {
		panic(err)
	}
	t := baseTask(a, *copied)
	t.pullBehavior = spec.PullBehavior
	if t.pullBehavior == "" {
		t.pullBehavior = a.cfg.PullBehavior
	}
	t.env = spec.Environment
	t.output = spec.Output
	for i := range spec.Overrides {
		o := spec.Overrides[i]
		t.overrides[o.Name] = &o
	}
	for _, w := range spec.Task.Warnings {
		t.warn(w.Message)
	}
	if tasknet.NeedsPause(t.def()) {
		t.state.LastStatus = TaskProvisioning
	}
	return t
}

// baseTask builds the task's state from its record, every container
// PENDING.
func baseTask(a *Agent, rec taskRecord) *task {
	t := &task{
		a:           a,
		arn:         rec.ARN,
		id:          taskID(rec.ARN),
		record:      rec,
		agentLabels: map[string]string{labelInstance: a.cfg.Instance},
		overrides:   map[string]*ContainerOverride{},
		mail:        newMailbox[any](),
		byID:        map[string]*ctr{},
		finished:    make(chan struct{}),
	}
	for k, v := range a.cfg.Labels {
		t.agentLabels[k] = v
	}
	def := t.def()
	t.state = TaskState{
		ARN:           rec.ARN,
		Cluster:       rec.Cluster,
		Family:        def.Family,
		Revision:      rec.Revision,
		LaunchType:    rec.LaunchType,
		Group:         rec.Group,
		StartedBy:     rec.StartedBy,
		CPU:           rec.CPU,
		Memory:        rec.Memory,
		LastStatus:    TaskPending,
		DesiredStatus: TaskRunning,
		CreatedAt:     rec.CreatedAt,
		PullStartedAt: rec.PullStarted,
		PullStoppedAt: rec.PullStopped,
		NetworkMode:   def.NetworkMode,
		Address:       rec.Address,
		HostIP:        rec.HostIP,
		Containers:    make([]ContainerState, len(def.ContainerDefinitions)),
	}
	for i := range def.ContainerDefinitions {
		d := &def.ContainerDefinitions[i]
		t.state.Containers[i] = ContainerState{
			Name:          d.Name,
			Image:         d.Image,
			Essential:     d.IsEssential(),
			LastStatus:    ContainerPending,
			DesiredStatus: ContainerRunning,
		}
		t.ctrs = append(t.ctrs, &ctr{def: d, st: &t.state.Containers[i]})
	}
	return t
}

func (t *task) def() *taskdef.TaskDefinition { return &t.record.Definition }

func (t *task) ctr(name string) *ctr {
	for _, c := range t.ctrs {
		if c.def.Name == name {
			return c
		}
	}
	return nil
}

func (t *task) warn(msg string) {
	for _, w := range t.state.Warnings {
		if w == msg {
			return
		}
	}
	t.state.Warnings = append(t.state.Warnings, msg)
}

// publish records a change: the version moves on, readers get a new
// snapshot and subscribers the change.
func (t *task) publish(container string) {
	t.state.Version++
	snap := t.state.clone()
	t.smu.Lock()
	t.snapshot = snap
	t.smu.Unlock()
	t.a.hub.publish(StateChange{Task: snap.clone(), Container: container})
}

func (t *task) snapshotState() TaskState {
	t.smu.Lock()
	defer t.smu.Unlock()
	return t.snapshot.clone()
}

// requestStop is StopTask's and KillTask's way in: it interrupts a start in
// progress and leaves the rest to the run goroutine.
func (t *task) requestStop(m stopRequest) {
	t.smu.Lock()
	t.stopRequested = true
	if t.setupCancel != nil {
		t.setupCancel()
	}
	t.smu.Unlock()
	t.mail.put(m)
}

// run is the task's goroutine. A recovered task skips the start: its
// containers already exist.
func (t *task) run(recovered bool) {
	defer t.a.wg.Done()
	defer close(t.finished)
	defer t.endOutputs()
	defer t.leaveNetwork()
	if !recovered {
		t.start()
	}
	// What arrived during the start comes first: a stop requested then
	// must be seen before advance starts the containers just created.
	for _, m := range t.mail.take() {
		t.handle(m)
	}
	timer := t.a.clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		t.advance()
		if t.deleted {
			return
		}
		wait := time.Hour
		if !t.nextWake.IsZero() {
			wait = max(t.nextWake.Sub(t.a.clock.Now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-t.mail.signal:
			for _, m := range t.mail.take() {
				t.handle(m)
			}
		case <-timer.C():
		case <-t.a.ctx.Done():
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
	}
}

func (t *task) handle(m any) {
	switch m := m.(type) {
	case events.Message:
		t.onEvent(m)
	case stopRequest:
		t.beginStop(m.code, m.reason)
		if at := t.a.clock.Now().Add(m.within); m.within > 0 && (t.killAt.IsZero() || at.Before(t.killAt)) {
			t.killAt = at
		}
		if m.kill {
			t.kill()
		}
	case stopResult:
		t.onStopResult(m)
	case createResult:
		t.onCreateResult(m)
	case startResult:
		t.onStartResult(m)
	case killResult:
		t.onKillResult(m)
	case inspected:
		m.then(m.info, m.err)
	case resyncRequest:
		t.resync()
	case outputEnded:
		t.onOutputEnded(m)
	case removeRequest:
		if t.state.LastStatus == TaskStopped {
			t.cleanupAt = t.a.clock.Now()
		}
		t.removeWaiters = append(t.removeWaiters, m.done)
	}
}

// setLast moves the task's lastStatus forward; it never moves back.
func (t *task) setLast(s TaskStatus) bool {
	if s <= t.state.LastStatus {
		return false
	}
	t.state.LastStatus = s
	return true
}

// beginStop sets the task's desired status to STOPPED. The first reason
// wins: a task stopped by its user whose containers then exit still says
// it was stopped by its user.
func (t *task) beginStop(code StopCode, reason string) {
	if t.state.DesiredStatus == TaskStopped {
		return
	}
	t.smu.Lock()
	if t.setupCancel != nil {
		t.setupCancel()
	}
	t.smu.Unlock()
	for _, c := range t.ctrs {
		if c.startPending {
			// stopReady stops the container once the start has answered.
			c.startCancel()
		}
	}
	t.state.DesiredStatus = TaskStopped
	t.state.StopCode = code
	t.state.StoppedReason = reason
	t.state.StoppingAt = t.a.clock.Now().UTC()
	for _, c := range t.ctrs {
		c.st.DesiredStatus = ContainerStopped
	}
	t.publish("")
}

// fail stops a task whose start went wrong.
func (t *task) fail(err error) {
	t.beginStop(StopTaskFailedToStart, err.Error())
}

// changed publishes a container's change if there was one.
func (t *task) changed(c *ctr, before ContainerState) {
	if !reflect.DeepEqual(before, *c.st) {
		t.updateHealth()
		t.publish(c.def.Name)
	}
}

// updateHealth derives the task's health from its essential containers
// that have health checks: any unhealthy makes it UNHEALTHY, all healthy
// make it HEALTHY, anything else (or no such container) is UNKNOWN.
func (t *task) updateHealth() {
	health, checked := HealthHealthy, false
	for _, c := range t.ctrs {
		if !c.st.Essential || c.def.HealthCheck == nil {
			continue
		}
		checked = true
		switch c.st.HealthStatus {
		case HealthUnhealthy:
			health = HealthUnhealthy
		case HealthUnknown:
			if health != HealthUnhealthy {
				health = HealthUnknown
			}
		}
	}
	if !checked {
		health = HealthUnknown
	}
	t.state.HealthStatus = health
}

func (t *task) logf(format string, args ...any) {
	t.a.cfg.Logf("task %s: "+format, append([]any{t.id}, args...)...)
}

func (c *ctr) String() string { return fmt.Sprintf("container %s", c.def.Name) }

func boolOf(b *bool) bool { return b != nil && *b }
