package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/taskdef"
)

// labelSpare marks a spare pause container: started ahead of the awsvpc task
// that will take it, and owned by no task until then.
const labelSpare = "berth.spare-pause"

// labelPause, on a task's containers, holds the ID of the task's pause
// container, which carries no task label when it was a spare.
const labelPause = "berth.pause-container"

// startPause gives the task its started pause container and returns, under
// awsvpc, the task's address: the agent's spare when there is one (not for
// a task asking for an address of its own), otherwise a new one.
func (t *task) startPause(ctx context.Context) (addr string, err error) {
	def := t.def()
	awsvpc := def.NetworkMode == taskdef.NetworkAWSVPC
	if awsvpc && t.record.Address == "" {
		if id, addr, ok := t.a.spares.take(ctx, t.arn); ok {
			t.pauseID = id
			return addr, nil
		}
	}
	if err := images.Ensure(ctx, t.a.docker, t.a.binaryPath, images.PauseRef); err != nil {
		return "", engineErr(ResourceInitializationError, "build the pause image: %w", err)
	}
	if err := t.makeCgroup(ctx); err != nil {
		return "", err
	}
	cfg, host, netCfg := t.a.pauseConfig(t.containerLabels(pauseContainerName, nil))
	host.Resources.CgroupParent = t.cgroupParent
	if def.NetworkMode != taskdef.NetworkAWSVPC {
		host.NetworkMode = network.NetworkNone
		netCfg = &network.NetworkingConfig{}
	} else if t.record.Address != "" {
		netCfg.EndpointsConfig[t.a.network.name].IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: t.record.Address}
	}
	if def.IpcMode != "task" {
		host.IpcMode = ""
	}
	name := dockerName(def.Family, t.record.Revision, pauseContainerName)
	if awsvpc {
		leave, err := t.a.network.join(ctx)
		if err != nil {
			return "", err
		}
		defer leave()
	}
	id, err := t.a.createPause(ctx, cfg, host, netCfg, name, awsvpc)
	if err != nil {
		return "", engineErr(ResourceInitializationError, "create the task's pause container: %w", err)
	}
	t.pauseID = id
	if addr, err = t.a.runPause(ctx, id, awsvpc); err != nil {
		return "", engineErr(ResourceInitializationError, "start the task's pause container: %w", err)
	}
	return addr, nil
}

// pauseConfig is a pause container on the task network: the one of an
// awsvpc task, or a spare. Its IPC namespace is shareable so that a spare
// suits a task whose ipcMode is task as well.
func (a *Agent) pauseConfig(labels map[string]string) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	stop := 5
	cfg := &container.Config{Image: images.PauseRef, Labels: labels, StopTimeout: &stop}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(a.network.name),
		IpcMode:     "shareable",
		LogConfig:   container.LogConfig{Type: "json-file"},
	}
	netCfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{a.network.name: {}}}
	return cfg, host, netCfg
}

// createPause creates a pause container, on the task network when
// onNetwork, which it makes sure exists. Should another agent remove the
// network between that and the create, it is made again.
func (a *Agent) createPause(ctx context.Context, cfg *container.Config, host *container.HostConfig, netCfg *network.NetworkingConfig, name string, onNetwork bool) (string, error) {
	for attempt := 1; ; attempt++ {
		if onNetwork {
			if err := a.network.ensure(ctx); err != nil {
				return "", err
			}
			a.network.attach(host, netCfg)
		}
		created, err := a.docker.ContainerCreate(ctx, cfg, host, netCfg, nil, name)
		if err == nil {
			return created.ID, nil
		}
		if !onNetwork || !cerrdefs.IsNotFound(err) || attempt == networkAttempts {
			return "", err
		}
		a.network.forget()
	}
}

// runPause starts a pause container and returns its address on the task
// network, if it is on it. The engine looks the network up at the start:
// should another agent have just removed it, it is made again, the
// container moved onto it and the start tried again, networkAttempts
// times at most.
func (a *Agent) runPause(ctx context.Context, id string, onNetwork bool) (string, error) {
	for attempt := 1; ; attempt++ {
		err := a.docker.ContainerStart(ctx, id, container.StartOptions{})
		if err == nil {
			break
		}
		if !onNetwork || !cerrdefs.IsNotFound(err) || attempt == networkAttempts {
			return "", err
		}
		a.network.forget()
		if err := a.network.ensure(ctx); err != nil {
			return "", err
		}
		if err := a.network.reattach(ctx, id); err != nil {
			return "", err
		}
	}
	info, err := a.docker.ContainerInspect(ctx, id)
	if err != nil {
		return "", fmt.Errorf("inspect: %w", err)
	}
	return a.pauseAddress(info), nil
}

func (a *Agent) pauseAddress(info container.InspectResponse) string {
	if info.NetworkSettings == nil {
		return ""
	}
	if ep := info.NetworkSettings.Networks[a.network.name]; ep != nil {
		return ep.IPAddress
	}
	return ""
}

// spares keeps one started pause container on the task network for the
// agent's next awsvpc task: starting a pause container on a user-defined
// network costs as much as a whole docker run, and a spare takes it off the
// task's way. The first spare is made once an awsvpc task is RUNNING, and a
// new one each time a task has taken it; none outlives the agent: Close
// removes it, and a new agent removes those no task took (New, after a
// crash).
type spares struct {
	a     *Agent
	mu    sync.Mutex
	ready string // the started spare's ID, "" for none
	// made, while a spare is being made, is closed when that is over.
	made chan struct{}
	// owners maps the spares tasks took to the ARN of the task: the engine's
	// events about a spare carry no task label.
	owners map[string]string
}

// own records that the task arn holds the pause container id, a spare.
func (s *spares) own(id, arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owners == nil {
		s.owners = map[string]string{}
	}
	s.owners[id] = arn
}

// owner is the ARN of the task that took the spare id, or "".
func (s *spares) owner(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.owners[id]
}

// disown forgets a spare that is gone from the engine.
func (s *spares) disown(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.owners, id)
}

// take hands the spare over to the task arn: its ID and address. A spare being
// made is waited for, as it is further on than a pause container the task
// would begin now. It is false when there is none, or when the one there is
// no longer runs.
func (s *spares) take(ctx context.Context, arn string) (id, addr string, ok bool) {
	s.mu.Lock()
	if made := s.made; made != nil {
		s.mu.Unlock()
		select {
		case <-made:
		case <-ctx.Done():
			return "", "", false
		}
		s.mu.Lock()
	}
	id, s.ready = s.ready, ""
	s.mu.Unlock()
	if id == "" {
		return "", "", false
	}
	info, err := s.a.docker.ContainerInspect(ctx, id)
	if err == nil && info.State != nil && info.State.Running {
		if addr := s.a.pauseAddress(info); addr != "" {
			s.own(id, arn)
			return id, addr, true
		}
	}
	s.a.removeContainer(ctx, id)
	return "", "", false
}

// replenish makes a spare in the background unless there is one. Its
// callers hold the agent's wait group, so Close waits for it.
func (s *spares) replenish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.a.cfg.SparePause || s.ready != "" || s.made != nil || s.a.ctx.Err() != nil {
		return
	}
	s.made = make(chan struct{})
	s.a.wg.Add(1)
	go s.make()
}

func (s *spares) make() {
	defer s.a.wg.Done()
	// Close does not interrupt the making: a container created but not
	// known by its ID would be left behind. It waits instead, then removes
	// the spare.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.a.ctx), time.Minute)
	defer cancel()
	labels := map[string]string{}
	for k, v := range s.a.cfg.Labels {
		labels[k] = v
	}
	labels[LabelManaged] = "true"
	labels[LabelCluster] = s.a.cfg.Cluster
	labels[labelInstance] = s.a.cfg.Instance
	labels[labelSpare] = "true"
	cfg, host, netCfg := s.a.pauseConfig(labels)
	var id string
	leave, err := s.a.network.join(ctx)
	if err == nil {
		id, err = s.a.createPause(ctx, cfg, host, netCfg, "berth-spare-pause-"+randHex(6), true)
		if err == nil {
			_, err = s.a.runPause(ctx, id, true)
		}
		leave()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		close(s.made)
		s.made = nil
	}()
	if err != nil || s.a.ctx.Err() != nil {
		if err != nil {
			s.a.cfg.Logf("make a spare pause container: %v", err)
		}
		if id != "" {
			s.a.removeContainer(ctx, id)
		}
		return
	}
	s.ready = id
}

// close removes the spare no task took.
func (s *spares) close(ctx context.Context) {
	s.mu.Lock()
	id := s.ready
	s.ready = ""
	s.mu.Unlock()
	if id != "" {
		s.a.removeContainer(ctx, id)
	}
}

// removeContainer removes a container the agent made outside any task's
// cleanup, logging what goes wrong.
func (a *Agent) removeContainer(ctx context.Context, id string) {
	err := a.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if err != nil && !removedAnyway(err) {
		a.cfg.Logf("remove container %s: %v", id, err)
	}
}

// The ways a task's pause container can be lost, as its stoppedReason
// tells them.
const (
	pauseExited  = "exited"
	pauseKilled  = "was killed"
	pauseRemoved = "was removed from the engine"
)

// checkPause reads (off the run goroutine) the state of the task's pause
// container after the engine reported action on it (or after a gap in the
// events, action ""), and stops the task when the pause container no longer runs: with it go
// the namespaces the task's containers share. A kill that the pause
// container survives changes nothing.
func (t *task) checkPause(action events.Action) {
	if t.pauseID == "" || t.pauseStopped {
		return
	}
	t.inspectThen(t.pauseID, func(info container.InspectResponse, err error) {
		switch {
		case t.pauseStopped, t.a.ctx.Err() != nil:
		case cerrdefs.IsNotFound(err):
			t.pauseLost(pauseRemoved)
		case err != nil:
			t.logf("inspect the pause container: %v", err)
		case info.State == nil || !info.State.Running:
			how := pauseExited
			if action == events.ActionKill || (info.State != nil && info.State.ExitCode == 137) {
				how = pauseKilled
			}
			t.pauseLost(how)
		}
	})
}

// pauseLost stops a task whose pause container is gone or stopped while
// the task was to run. The ECS agent makes the pause container an
// essential container of the task, so the task stops as for any essential
// container's exit; the reason says which container and what the task
// lost with it.
func (t *task) pauseLost(how string) {
	t.pauseStopped = true
	if t.state.DesiredStatus != TaskRunning {
		return
	}
	t.beginStop(StopEssentialContainerExited, pauseLostReason(t.def(), how))
}

// pauseLostReason is the stoppedReason of a task whose pause container
// went: "Essential container in task exited: internal container
// ~internal~ecs~pause was removed from the engine; the task's network
// namespace is gone".
func pauseLostReason(def *taskdef.TaskDefinition, how string) string {
	var held []string
	if def.NetworkMode == taskdef.NetworkAWSVPC {
		held = append(held, "network")
	}
	if def.PidMode == "task" {
		held = append(held, "PID")
	}
	if def.IpcMode == "task" {
		held = append(held, "IPC")
	}
	what := "namespace is"
	if len(held) > 1 {
		what = "namespaces are"
	}
	return fmt.Sprintf("%s: internal container %s %s; the task's %s %s gone",
		reasonEssentialContainerExited, pauseContainerName, how, strings.Join(held, " and "), what)
}
