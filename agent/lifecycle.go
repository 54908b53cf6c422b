package agent

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/agent/dockerspec"
	"github.com/berthdev/berth/agent/tasknet"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/internal/crashpoint"
	"github.com/berthdev/berth/taskdef"
)

// start does what comes before the first container starts: the task's
// volumes and namespaces (PROVISIONING), its images (PENDING) and its
// cgroup. It then sets off the creates of its containers (createReady),
// whose answers come back to the run goroutine: each container starts as
// soon as it is created and its dependencies are met, whether or not the
// task's other containers are created yet. Any failure stops the task with
// TaskFailedToStart; what was made is removed by the cleanup every stopped
// task gets.
func (t *task) start() {
	ctx, cancel := context.WithCancel(t.a.ctx)
	t.smu.Lock()
	if t.stopRequested {
		t.smu.Unlock()
		cancel()
		return
	}
	t.setupCancel = cancel
	t.smu.Unlock()
	if err := t.prepare(ctx); err != nil {
		t.failStart(ctx, err)
		t.endSetup()
		return
	}
	t.createCtx = ctx
	t.createReady()
}

// prepare provisions the task, pulls its images and makes its cgroup.
func (t *task) prepare(ctx context.Context) error {
	if err := t.provision(ctx); err != nil {
		return err
	}
	if t.setLast(TaskPending) {
		t.publish("")
	}
	if err := t.pullImages(ctx); err != nil {
		return err
	}
	if err := t.makeCgroup(ctx); err != nil {
		if ctx.Err() == nil {
			// The first create is the one the cgroup held back: its
			// container carries the error, as one whose create fails.
			first := creationOrder(t.ctrs)[0]
			t.containersFailed(err, func(o *ctr) bool { return o == first })
		}
		return err
	}
	return nil
}

// endSetup ends the start's context: the start and its creates are over.
func (t *task) endSetup() {
	t.smu.Lock()
	cancel := t.setupCancel
	t.setupCancel = nil
	t.smu.Unlock()
	if cancel != nil {
		cancel()
	}
	t.createCtx = nil
}

// failStart stops the task for err, unless err only says that a stop
// request or the agent's end interrupted the start.
func (t *task) failStart(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	t.fail(err)
}

func (t *task) provision(ctx context.Context) error {
	mounts, err := t.setupVolumes(ctx)
	if err != nil {
		return err
	}
	t.mounts = mounts
	if t.goesAlone() {
		t.record.Alone = true
	} else if tasknet.NeedsPause(t.def()) {
		addr, err := t.startPause(ctx)
		if err != nil {
			return err
		}
		if t.def().NetworkMode == taskdef.NetworkAWSVPC {
			t.state.Address = addr
			t.record.Address = addr
		}
	}
	t.publish("")
	return nil
}

// makeCgroup makes the task's cgroup (task-level cpu and memory) just
// before the first container of the task is created, so that a task
// cgroup without a container of its task is one left behind (see
// sweepCgroups). A cgroup that cannot be made fails the task: its limits
// are never silently dropped.
func (t *task) makeCgroup(ctx context.Context) error {
	if t.cgroupParent != "" {
		return nil
	}
	if t.record.CPU == 0 && t.record.Memory == 0 {
		// The containers go straight under the instance's slice, if any.
		t.cgroupParent = t.a.cgroups.Base
		return nil
	}
	parent := t.a.cgroups.Parent(t.id)
	if t.cgroupTried {
		// The first try failed, and failed the task with it.
		return engineErr(ResourceInitializationError, "failed to create the task cgroup %s: task-level cpu and memory cannot be enforced", parent)
	}
	t.cgroupTried = true
	if err := t.a.makeTaskCgroup(ctx, t.id, t.record.CPU, t.record.Memory); err != nil {
		return engineErr(ResourceInitializationError, "failed to create the task cgroup %s: task-level cpu and memory cannot be enforced: %w", parent, err)
	}
	t.cgroupParent = parent
	return nil
}

func (t *task) pullImages(ctx context.Context) error {
	t.state.PullStartedAt = t.a.clock.Now().UTC()
	t.publish("")
	seen := map[string]bool{}
	for _, c := range t.ctrs {
		if seen[c.def.Image] {
			continue
		}
		seen[c.def.Image] = true
		warning, err := t.a.puller.ensure(ctx, c.def.Image, t.pullBehavior)
		if err != nil {
			if ctx.Err() == nil {
				t.containersFailed(err, func(o *ctr) bool { return o.def.Image == c.def.Image })
			}
			return err
		}
		if warning != "" {
			t.warn(warning)
		}
	}
	t.state.PullStoppedAt = t.a.clock.Now().UTC()
	t.record.PullStarted, t.record.PullStopped = t.state.PullStartedAt, t.state.PullStoppedAt
	t.publish("")
	return nil
}

// maxCreates bounds the creates a task has in flight at once: enough for
// a task's containers to be created side by side, few enough that a task
// of many containers does not flood the engine.
const maxCreates = 4

// createReady sets off the creates the task can make now, up to
// maxCreates in flight: those of its pending containers whose volumesFrom
// sources are created (the engine resolves volumesFrom at the create; as
// on ECS, a source need only be created, not started). Creates are not
// held back by dependsOn: only starts are (startReady). No create is set
// off once the task is to stop; when none is left in flight, the start is
// over.
func (t *task) createReady() {
	ctx := t.createCtx
	if ctx == nil {
		return
	}
	if ctx.Err() == nil && t.state.DesiredStatus == TaskRunning {
		var waiting *ctr
		for _, c := range creationOrder(t.ctrs) {
			if t.creating >= maxCreates || t.state.DesiredStatus != TaskRunning {
				break
			}
			if c.st.LastStatus != ContainerPending || c.createPending || c.st.Reason != "" {
				continue
			}
			if !t.sourcesCreated(c) {
				if waiting == nil {
					waiting = c
				}
				continue
			}
			t.createContainer(ctx, c)
		}
		if t.creating == 0 && waiting != nil && t.state.DesiredStatus == TaskRunning {
			// Sources that mount each other's volumes: none can be
			// created first, and the create says why.
			t.createContainer(ctx, waiting)
		}
	}
	if t.creating == 0 {
		t.endSetup()
	}
}

// sourcesCreated reports whether every volumesFrom source of c is created.
func (t *task) sourcesCreated(c *ctr) bool {
	for _, v := range c.def.VolumesFrom {
		if src := t.ctr(v.SourceContainer); src != nil && src.st.DockerID == "" {
			return false
		}
	}
	return true
}

// createFailed stops the task for a create that failed, unless a stop
// request or the agent's end cut the create short.
func (t *task) createFailed(ctx context.Context, c *ctr, err error) {
	if ctx.Err() != nil {
		return
	}
	t.containersFailed(err, func(o *ctr) bool { return o == c })
	t.fail(err)
}

// containersFailed makes err, which stops the task, the reason of the
// containers match picks: ECS shows a failed pull or create on the
// container it concerns as well as on the task.
func (t *task) containersFailed(err error, match func(*ctr) bool) {
	for _, c := range t.ctrs {
		if match(c) && c.st.Reason == "" {
			before := *c.st
			c.st.Reason = err.Error()
			t.changed(c, before)
		}
	}
}

// containerEnv is the environment the agent gives a container before its
// definition's own: the task's, and the container's task metadata
// endpoint, which a container without a network could not reach.
func (t *task) containerEnv(c *taskdef.ContainerDefinition) []taskdef.KeyValuePair {
	if t.def().NetworkMode == taskdef.NetworkNone || (c.DisableNetworking != nil && *c.DisableNetworking) {
		return t.env
	}
	v4, v3 := t.a.metadataURIs(t.id, c.Name)
	if v4 == "" {
		return t.env
	}
	env := append([]taskdef.KeyValuePair{}, t.env...)
	return append(env,
		taskdef.KeyValuePair{Name: EnvMetadataURIV4, Value: v4},
		taskdef.KeyValuePair{Name: EnvMetadataURIV3, Value: v3})
}

// createContainer sets off the create of c, off the run goroutine; its
// answer comes back as a createResult.
func (t *task) createContainer(ctx context.Context, c *ctr) {
	spec, err := t.containerSpec(c)
	if err != nil {
		t.createFailed(ctx, c, err)
		return
	}
	c.createPending = true
	t.creating++
	t.offload(func() any {
		leave, err := t.joinAlone(ctx, spec)
		if err != nil {
			return createResult{c: c, ctx: ctx, name: spec.name, err: err}
		}
		id, err := t.engineCreate(ctx, c.def.Image, spec)
		if err != nil {
			leave()
			leave = nil
		}
		return createResult{c: c, ctx: ctx, id: id, name: spec.name, ports: spec.ports, leave: leave, err: err}
	})
}

// createSpec is what the engine is asked to create for a container.
type createSpec struct {
	name   string
	cfg    *container.Config
	host   *container.HostConfig
	netCfg *network.NetworkingConfig
	ports  []dockerspec.PortBinding
	// alone: the container joins the task network itself (goesAlone).
	alone bool
}

// containerSpec translates c's definition into what the engine creates:
// its host ports decided, its volumesFrom naming the Docker names of
// its sources, created already.
func (t *task) containerSpec(c *ctr) (createSpec, error) {
	def := t.def()
	ports, err := t.hostPorts(c)
	if err != nil {
		return createSpec{}, engineErr(CannotCreateContainerError, "%w", err)
	}
	names := map[string]string{}
	for _, o := range t.ctrs {
		if o.st.DockerName != "" {
			names[o.def.Name] = o.st.DockerName
		}
	}
	plan := &dockerspec.Plan{
		Def:          c.def,
		NetworkMode:  def.NetworkMode,
		PidMode:      def.PidMode,
		IpcMode:      def.IpcMode,
		Pause:        t.pauseID,
		CgroupParent: t.cgroupParent,
		Labels:       t.containerLabels(c.def.Name, c.def.DockerLabels),
		Env:          t.containerEnv(c.def),
		HostIP:       t.record.HostIP,
		Volumes:      t.mounts,
		DockerNames:  names,
	}
	if t.record.Alone {
		plan.Network, plan.Address = t.a.network.Name(), t.record.Address
	}
	if o := t.overrides[c.def.Name]; o != nil {
		plan.Command, plan.EnvOverride = o.Command, o.Environment
	}
	if def.NetworkMode == taskdef.NetworkBridge || def.NetworkMode == "" {
		plan.Ports = ports
	}
	cfg, host, netCfg, warnings, err := dockerspec.Translate(plan)
	if err != nil {
		return createSpec{}, engineErr(CannotCreateContainerError, "%w", err)
	}
	for _, w := range warnings {
		t.warn(w)
	}
	name := taskContainerName(def.Family, t.record.Revision, c.def.Name, t.arn)
	return createSpec{name: name, cfg: cfg, host: host, netCfg: netCfg, ports: ports, alone: t.record.Alone}, nil
}

// engineCreate has the engine create a container and returns its ID. It
// runs off the run goroutine, and touches nothing the run goroutine owns.
func (t *task) engineCreate(ctx context.Context, image string, s createSpec) (string, error) {
	// A create cut short by a stop or the agent's end may still be carried
	// out by the engine, unseen: it is let finish, for a while, so that
	// the container it makes is one the agent knows and whoever cleans up
	// finds.
	cctx, cancel := lingering(ctx, createGrace)
	defer cancel()
	create := func() (string, error) {
		if s.alone {
			return t.a.network.CreateAlone(cctx, s.cfg, s.host, s.netCfg, s.name)
		}
		created, err := t.a.docker.ContainerCreate(cctx, s.cfg, s.host, s.netCfg, nil, s.name)
		return created.ID, err
	}
	id, err := create()
	if cerrdefs.IsNotFound(err) && images.IsBerthImage(image) {
		// Another berth on the engine, built from another binary, may
		// have just replaced the image: ensure it again, once.
		if _, err = t.a.puller.ensure(cctx, image, t.pullBehavior); err == nil {
			id, err = create()
		}
	}
	if cerrdefs.IsConflict(err) && t.removeStray(cctx, s.name) {
		id, err = create()
	}
	if err != nil {
		return "", engineErr(CannotCreateContainerError, "%w", err)
	}
	crashpoint.Reach(crashpoint.AfterCreate)
	return id, nil
}

// onCreateResult records a create's answer and sets off the creates it
// allows. A container created once the task is to stop is left to
// stopReady, which marks it STOPPED unstarted, and to the cleanup, which
// removes it.
func (t *task) onCreateResult(m createResult) {
	c := m.c
	c.createPending = false
	t.creating--
	if m.err != nil {
		t.createFailed(m.ctx, c, m.err)
		t.createReady()
		return
	}
	t.joinLease = m.leave
	t.byID[m.id] = c
	c.st.DockerID = m.id
	c.st.DockerName = m.name
	c.st.CreatedAt = t.a.clock.Now().UTC()
	c.st.LastStatus = ContainerCreated
	c.bindings = t.bindingsFor(m.ports)
	t.attachOutput(m.ctx, c)
	t.publish(c.def.Name)
	t.createReady()
}

// createGrace is how long a container's create may go on once the agent
// ends.
const createGrace = 10 * time.Second

// lingering is ctx, except that once ctx ends it lives on for grace.
func lingering(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return c, func() { stop(); cancel() }
}

// removeStray removes the container of the name this task's container is
// to have, when it is one of this task's never started: an agent that died
// while creating it had its create carried out by the engine after this
// agent listed the engine's containers. It reports whether it removed it;
// any other container of the name stays, and the create fails on it.
func (t *task) removeStray(ctx context.Context, name string) bool {
	info, err := t.a.docker.ContainerInspect(ctx, name)
	if err != nil || info.Config == nil || info.State == nil ||
		info.Config.Labels[LabelTaskARN] != t.arn || info.State.Status != "created" {
		return false
	}
	if err := t.a.docker.ContainerRemove(ctx, info.ID, container.RemoveOptions{Force: true}); err != nil && !removedAnyway(err) {
		t.logf("remove %s, made by an agent before this one and never started: %v", name, err)
		return false
	}
	return true
}

// hostPorts decides the host port of each of the container's port mappings,
// taking dynamic ones from the allocator. Under host and awsvpc the host
// port is the container port.
func (t *task) hostPorts(c *ctr) ([]dockerspec.PortBinding, error) {
	ports, err := dockerspec.PortMappings(c.def)
	if err != nil {
		return nil, err
	}
	mode := t.def().NetworkMode
	for i := range ports {
		p := &ports[i]
		switch {
		case mode == taskdef.NetworkHost || mode == taskdef.NetworkAWSVPC:
			p.HostPort = p.ContainerPort
		case p.HostPort == 0:
			port, err := t.a.ports.allocate(t.arn, t.record.HostIP, p.Protocol)
			if err != nil {
				return nil, err
			}
			p.HostPort = port
		}
	}
	return ports, nil
}

// bindingsFor returns what the API reports as networkBindings. awsvpc tasks
// report none: their ports are reached at the task's own address.
func (t *task) bindingsFor(ports []dockerspec.PortBinding) []NetworkBinding {
	mode := t.def().NetworkMode
	if mode == taskdef.NetworkAWSVPC || mode == taskdef.NetworkNone {
		return nil
	}
	out := make([]NetworkBinding, len(ports))
	for i, p := range ports {
		out[i] = NetworkBinding{BindIP: t.record.HostIP, ContainerPort: p.ContainerPort, HostPort: p.HostPort, Protocol: p.Protocol}
	}
	return out
}

// creationOrder puts every volumesFrom source before the containers using
// it, keeping definition order otherwise.
func creationOrder(ctrs []*ctr) []*ctr {
	byName := map[string]*ctr{}
	for _, c := range ctrs {
		byName[c.def.Name] = c
	}
	var out []*ctr
	placed := map[*ctr]bool{}
	var place func(c *ctr, depth int)
	place = func(c *ctr, depth int) {
		if placed[c] || depth > len(ctrs) {
			return
		}
		for _, v := range c.def.VolumesFrom {
			if src := byName[v.SourceContainer]; src != nil {
				place(src, depth+1)
			}
		}
		placed[c] = true
		out = append(out, c)
	}
	for _, c := range ctrs {
		place(c, 0)
	}
	return out
}

// advance does whatever the task's state now allows: start containers
// whose dependencies are met, stop containers whose dependents have
// stopped, finish the task and clean it up when its time comes.
func (t *task) advance() {
	now := t.a.clock.Now()
	t.nextWake = time.Time{}
	if t.state.DesiredStatus == TaskRunning {
		t.startReady(now)
	}
	if t.state.DesiredStatus == TaskRunning && t.state.LastStatus < TaskRunning && t.allStarted() {
		t.setLast(TaskRunning)
		t.state.StartedAt = now.UTC()
		t.publish("")
		if t.def().NetworkMode == taskdef.NetworkAWSVPC {
			// The next awsvpc task finds a pause container started; made
			// now, the spare does not slow this one down.
			t.a.spares.Replenish()
		}
	}
	if t.state.DesiredStatus == TaskStopped && t.state.LastStatus < TaskStopped {
		if t.setLast(TaskStopping) {
			t.publish("")
		}
		if !t.killAt.IsZero() && !t.killing {
			if now.Before(t.killAt) {
				t.wakeAt(t.killAt)
			} else {
				t.kill()
			}
		}
		t.stopReady()
		if t.allStopped() {
			t.finish()
		}
	}
	t.resyncWhenDue(now)
	t.tendOutputs()
	if t.state.LastStatus == TaskStopped {
		if !t.a.clock.Now().Before(t.cleanupAt) {
			t.cleanup()
			return
		}
		t.wakeAt(t.cleanupAt)
	}
}

// resyncWhenDue inspects the task's containers every ResyncInterval until
// the task has stopped: an event the engine's stream lost (a die, say)
// would otherwise leave a container's state behind for good.
func (t *task) resyncWhenDue(now time.Time) {
	every := t.a.cfg.ResyncInterval
	if every < 0 || t.state.LastStatus >= TaskStopped {
		return
	}
	switch {
	case t.resyncAt.IsZero():
		t.resyncAt = now.Add(every)
	case !now.Before(t.resyncAt):
		t.resync()
		t.resyncAt = now.Add(every)
	}
	t.wakeAt(t.resyncAt)
}

// wakeAt has the run goroutine come back at at; a zero at asks nothing.
func (t *task) wakeAt(at time.Time) {
	if at.IsZero() {
		return
	}
	if t.nextWake.IsZero() || at.Before(t.nextWake) {
		t.nextWake = at
	}
}

// allStarted reports whether every container has started or is gone.
func (t *task) allStarted() bool {
	for _, c := range t.ctrs {
		if !c.started && c.st.LastStatus != ContainerStopped {
			return false
		}
	}
	return true
}

func (t *task) allStopped() bool {
	for _, c := range t.ctrs {
		if c.st.LastStatus != ContainerStopped {
			return false
		}
	}
	return true
}

// startReady starts the created containers whose dependencies are met and
// fails those whose dependencies never will be. It goes over the containers
// until nothing more changes, since one container's failure settles its
// dependants'.
func (t *task) startReady(now time.Time) {
	for changed := true; changed; {
		changed = false
		for _, c := range t.ctrs {
			if t.state.DesiredStatus != TaskRunning {
				return
			}
			if c.st.LastStatus != ContainerCreated || c.startRequested {
				continue
			}
			ready, deadline, err := t.gate(c, now)
			if err != nil {
				code := dependencyExitCode
				t.cannotStart(c, err, &code)
				changed = true
				continue
			}
			if !ready {
				t.wakeAt(deadline)
				continue
			}
			c.startRequested = true
			t.startContainer(c)
		}
	}
}

// startContainer starts c off the run goroutine; the engine's answer comes
// back as a startResult, and its start event as usual. A stop cancels a
// start the engine has not answered (beginStop).
func (t *task) startContainer(c *ctr) {
	ctx, cancel := context.WithCancel(t.a.ctx)
	c.startPending, c.startCancel = true, cancel
	id := c.st.DockerID
	alone, held := t.record.Alone, t.joinLease != nil
	t.offload(func() any {
		var err error
		if alone {
			err = t.startAlone(ctx, id, held)
		} else {
			err = t.a.docker.ContainerStart(ctx, id, container.StartOptions{})
		}
		if err == nil {
			crashpoint.Reach(crashpoint.AfterStart)
		}
		return startResult{c: c, err: err}
	})
}

func (t *task) onStartResult(m startResult) {
	c := m.c
	c.startPending = false
	c.startCancel()
	t.leaveNetwork()
	switch {
	case m.err == nil, t.a.ctx.Err() != nil:
	case t.state.DesiredStatus == TaskStopped:
		// The stop cut the start short, or came while it failed:
		// stopReady stops the container whatever the start left of it.
	default:
		t.startFailed(c, m.err)
	}
}

// dependencyExitCode is the exit code the ECS agent gives a container it
// stops, unstarted, because its dependencies can never be met: the code of
// a SIGTERM, the nearest there is to what happened.
const dependencyExitCode = 143

// cannotStart records that c will never start: it is STOPPED without having
// run, with err as its reason and exitCode (nil for none). An essential
// container's failure fails the task; a non-essential one's fails only the
// containers depending on it.
func (t *task) cannotStart(c *ctr, err error, exitCode *int) {
	before := *c.st
	c.st.LastStatus = ContainerStopped
	c.st.DesiredStatus = ContainerStopped
	c.st.ExitCode = exitCode
	c.st.Reason = err.Error()
	t.changed(c, before)
	if c.st.Essential {
		t.fail(err)
	}
}

// startFailed handles an engine that refused to start c. The engine sends
// no event for a container that never ran, so its state is read here; a
// container that did start after all (the error came late) is followed on.
func (t *task) startFailed(c *ctr, startErr error) {
	t.inspectCtr(c, func(info container.InspectResponse, err error, fresh bool) {
		switch {
		case c.st.LastStatus == ContainerStopped, t.a.ctx.Err() != nil, c.started:
		case err == nil && info.State != nil && !parseTime(info.State.StartedAt).IsZero():
			if fresh {
				t.observe(c, info)
			}
		default:
			t.cannotStart(c, engineErr(CannotStartContainerError, "%w", startErr), nil)
		}
	})
}

// gate reports whether c's dependencies are met. When they are not, it
// returns when the earliest of them times out (zero if none can); an error
// means they never will be.
//
// As on ECS, a dependency has its own startTimeout, counted from its start,
// to reach COMPLETE, SUCCESS or HEALTHY. START has no timeout, nor has a
// dependency that has not started yet: one that cannot start fails in turn,
// which fails its dependants.
func (t *task) gate(c *ctr, now time.Time) (bool, time.Time, error) {
	ready := true
	var deadline time.Time
	for _, dep := range c.def.DependsOn {
		d := t.ctr(dep.ContainerName)
		if d == nil {
			return false, time.Time{}, engineErr(CannotStartContainerError,
				"dependency graph: container ordering dependency [%s] for target [%s] does not exist", dep.ContainerName, c.def.Name)
		}
		met, err := condition(c, d, dep.Condition)
		if err != nil {
			return false, time.Time{}, err
		}
		if met {
			continue
		}
		ready = false
		timeout := startTimeout(d.def)
		if dep.Condition == taskdef.ConditionStart || !d.started || timeout <= 0 {
			continue
		}
		limit := d.st.StartedAt.Add(time.Duration(timeout) * time.Second)
		if !now.Before(limit) {
			return false, time.Time{}, engineErr(CannotStartContainerError,
				"dependency graph: container ordering dependency [%s] for target [%s] has timed out: %s did not reach %s within its startTimeout of %ds",
				d.def.Name, c.def.Name, d.def.Name, dep.Condition, timeout)
		}
		if deadline.IsZero() || limit.Before(deadline) {
			deadline = limit
		}
	}
	return ready, deadline, nil
}

func startTimeout(d *taskdef.ContainerDefinition) int {
	if d.StartTimeout != nil {
		return *d.StartTimeout
	}
	return taskdef.DefaultStartTimeout
}

// condition reports whether dependency d meets cond for c. An error, worded
// as the ECS agent words it, says it never will.
func condition(c, d *ctr, cond string) (bool, error) {
	unresolvable := func(why string, args ...any) error {
		return engineErr(CannotStartContainerError, "dependency graph: failed to resolve container ordering dependency [%s] for target [%s] as dependency %s",
			d.def.Name, c.def.Name, fmt.Sprintf(why, args...))
	}
	stopped := d.st.LastStatus == ContainerStopped
	if stopped && !d.started {
		return false, unresolvable("stopped without starting")
	}
	switch cond {
	case taskdef.ConditionStart:
		return d.started, nil
	case taskdef.ConditionComplete:
		return stopped, nil
	case taskdef.ConditionSuccess:
		if !stopped {
			return false, nil
		}
		if d.st.ExitCode == nil {
			return false, unresolvable("did not exit successfully (no exit code)")
		}
		if *d.st.ExitCode != 0 {
			return false, unresolvable("did not exit successfully (exit code %d)", *d.st.ExitCode)
		}
		return true, nil
	case taskdef.ConditionHealthy:
		if stopped {
			return false, unresolvable("exited before it was healthy")
		}
		return d.st.HealthStatus == HealthHealthy, nil
	}
	return false, engineErr(CannotStartContainerError, "dependency graph: container ordering dependency [%s] for target [%s] has condition %q, not START, COMPLETE, SUCCESS or HEALTHY",
		d.def.Name, c.def.Name, cond)
}

// stopReady stops the containers that no running container depends on:
// containers stop in the reverse of dependsOn order, each given its
// stopTimeout between SIGTERM and SIGKILL. Containers that never started
// are simply marked STOPPED.
func (t *task) stopReady() {
	for _, c := range t.ctrs {
		if c.st.LastStatus == ContainerStopped || c.stopRequested {
			continue
		}
		if c.createPending {
			// Marked once the engine has answered: a container it
			// creates is then known, and removed at the cleanup.
			continue
		}
		if c.st.DockerID == "" || (!c.startRequested && !c.started) {
			before := *c.st
			c.st.LastStatus = ContainerStopped
			t.changed(c, before)
			continue
		}
		if c.startPending || c.killPending {
			// Stopped once the engine has answered (a pending start
			// was cancelled by the stop).
			continue
		}
		if !t.killing && !t.dependentsStopped(c) {
			continue
		}
		if t.a.clock.Now().Before(c.stopRetryAt) {
			t.wakeAt(c.stopRetryAt)
			continue
		}
		c.stopRequested = true
		timeout := taskdef.DefaultStopTimeout
		if c.def.StopTimeout != nil {
			timeout = *c.def.StopTimeout
		}
		if !t.killAt.IsZero() {
			// No later than the deadline: the engine's own SIGKILL comes
			// then, even should the agent be slow to send its own.
			left := int(math.Ceil(t.killAt.Sub(t.a.clock.Now()).Seconds()))
			timeout = min(timeout, max(left, 0))
		}
		if t.killing {
			timeout = 0
		}
		// The run goroutine holds the wait group, so Close waits for this
		// one too.
		t.a.wg.Add(1)
		go func(c *ctr, id string) {
			defer t.a.wg.Done()
			err := t.a.docker.ContainerStop(t.a.ctx, id, container.StopOptions{Timeout: &timeout})
			t.mail.put(stopResult{c: c, err: err})
		}(c, c.st.DockerID)
	}
}

// kill sends SIGKILL, off the run goroutine, to every container of the
// task that may be running, including those already given a gentler
// stop. A container whose start has not answered yet is left to stopReady,
// which stops it with no time to spare once it has.
func (t *task) kill() {
	t.killing = true
	for _, c := range t.ctrs {
		if c.st.LastStatus == ContainerStopped || c.st.DockerID == "" || (!c.startRequested && !c.started) || c.startPending || c.killPending {
			continue
		}
		c.killPending = true
		id := c.st.DockerID
		t.offload(func() any {
			return killResult{c: c, err: t.a.docker.ContainerKill(t.a.ctx, id, "KILL")}
		})
	}
}

func (t *task) onKillResult(m killResult) {
	c := m.c
	c.killPending = false
	switch err := m.err; {
	case err == nil, cerrdefs.IsNotFound(err), cerrdefs.IsConflict(err):
		// Killed, gone or no longer running: the engine's events
		// tell the rest.
		c.stopRequested = true
	case t.a.ctx.Err() == nil:
		// stopReady stops it instead, with no time to spare.
		t.logf("kill %s: %v; stopping it instead", c, err)
	}
}

func (t *task) dependentsStopped(c *ctr) bool {
	for _, other := range t.ctrs {
		for _, dep := range other.def.DependsOn {
			if dep.ContainerName == c.def.Name && other.st.LastStatus != ContainerStopped {
				return false
			}
		}
	}
	return true
}

func (t *task) onStopResult(m stopResult) {
	switch {
	case m.err == nil:
		// The die event reports the exit; reading the container's state
		// now as well settles it should the event have been missed.
		t.settle(m.c)
	case cerrdefs.IsNotFound(m.err):
		t.vanished(m.c)
	case t.a.ctx.Err() != nil:
	default:
		t.logf("stop %s: %v; trying again", m.c, m.err)
		m.c.stopRequested = false
		m.c.stopRetryAt = t.a.clock.Now().Add(time.Second)
	}
}

// settle brings a container the engine has stopped in line with its state.
// One that never ran (the engine sends no die event for it) is STOPPED
// without an exit code.
func (t *task) settle(c *ctr) {
	if c.st.LastStatus == ContainerStopped {
		return
	}
	t.inspectCtr(c, func(info container.InspectResponse, err error, fresh bool) {
		switch {
		case c.st.LastStatus == ContainerStopped, t.a.ctx.Err() != nil, !fresh:
			return
		case cerrdefs.IsNotFound(err):
			t.vanished(c)
			return
		case err != nil:
			t.logf("inspect %s after stopping it: %v", c, err)
			return
		}
		t.observe(c, info)
		if s := info.State; s != nil && !c.started && !s.Running && parseTime(s.StartedAt).IsZero() {
			before := *c.st
			c.st.LastStatus = ContainerStopped
			t.changed(c, before)
			t.afterStop(c)
		}
	})
}

// finish moves a task whose containers have all stopped to STOPPED:
// its namespaces go (DEPROVISIONING), its dynamic ports are free again.
func (t *task) finish() {
	now := t.a.clock.Now().UTC()
	if t.state.ExecutionStoppedAt.IsZero() {
		t.state.ExecutionStoppedAt = now
		t.publish("")
	}
	if t.pauseID != "" && !t.pauseStopped {
		if t.setLast(TaskDeprovisioning) {
			t.publish("")
		}
		timeout := 5
		if err := t.a.docker.ContainerStop(t.a.ctx, t.pauseID, container.StopOptions{Timeout: &timeout}); err != nil && !cerrdefs.IsNotFound(err) {
			t.logf("stop the pause container: %v", err)
		}
		t.pauseStopped = true
	} else if t.record.Alone && t.setLast(TaskDeprovisioning) {
		// Its network namespace went with its container; the task passes
		// through DEPROVISIONING all the same, as every awsvpc task does
		// on ECS (its network interface is detached).
		t.publish("")
	}
	t.leaveNetwork()
	t.a.ports.release(t.arn)
	t.setLast(TaskStopped)
	t.state.StoppedAt = t.a.clock.Now().UTC()
	t.publish("")
	t.cleanupAt = t.a.clock.Now().Add(t.a.cfg.CleanupWait)
}

// cleanup removes everything the task made: containers, task volumes, its
// cgroup. The task network stays for the agent's next awsvpc task. The
// task is then forgotten and reported DELETED.
func (t *task) cleanup() {
	// A cleanup begun is let finish, within a grace, when the agent
	// closes: cut short, it left some of the task's containers (its pause
	// container, once a spare, which carries no task label) on the engine
	// of a task the agent then forgot.
	lctx, lcancel := lingering(t.a.ctx, createGrace)
	defer lcancel()
	ctx, cancel := context.WithTimeout(lctx, time.Minute)
	defer cancel()
	t.deleted = true
	if err := t.a.removeTaskResources(ctx, t.arn); err != nil {
		t.logf("cleanup: %v", err)
	}
	if t.cgroupParent != "" && t.cgroupParent != t.a.cgroups.Base || t.record.CPU > 0 || t.record.Memory > 0 {
		if err := t.a.removeCgroups(ctx, t.id); err != nil {
			t.logf("cleanup: %v", err)
		}
	}
	if t.pauseID != "" {
		// A pause container that was a spare carries no task label.
		t.a.removeContainer(ctx, t.pauseID)
	}
	t.a.forget(t.arn)
	t.setLast(TaskDeleted)
	t.publish("")
	for _, done := range t.removeWaiters {
		close(done)
	}
}

// removeTaskResources removes the containers and task-scoped volumes that
// carry the task's ARN.
func (a *Agent) removeTaskResources(ctx context.Context, arn string) error {
	list, err := a.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelTaskARN+"="+arn))})
	if err != nil {
		return fmt.Errorf("list the task's containers: %w", err)
	}
	var errs []error
	for _, c := range list {
		if err := a.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !removedAnyway(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", c.ID[:12], err))
		}
	}
	if err := a.removeTaskVolumes(ctx, arn); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// removedAnyway reports whether a failed removal leaves the thing removed
// all the same: it was gone already, or another agent (a berth run reaping
// the same dead run's task) is removing it at this moment.
func removedAnyway(err error) bool {
	return cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress")
}
