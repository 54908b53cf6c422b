package agent

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/agent/tasknet"
	"github.com/berthdev/berth/images"
	"github.com/berthdev/berth/taskdef"
)

// labelSpare marks a spare pause container (see tasknet.Spares).
const labelSpare = tasknet.LabelSpare

// labelPause, on a task's containers, holds the ID of the task's pause
// container, which carries no task label when it was a spare.
const labelPause = "berth.pause-container"

// startPause gives the task its started pause container and returns, under
// awsvpc, the task's address: the agent's spare when there is one that
// suits the task (see tasknet.Spares.Take), otherwise a new one.
func (t *task) startPause(ctx context.Context) (addr string, err error) {
	def := t.def()
	awsvpc := def.NetworkMode == taskdef.NetworkAWSVPC
	if awsvpc {
		if id, addr, ok := t.a.spares.Take(ctx, t.arn, t.record.Address); ok {
			t.pauseID = id
			return addr, nil
		}
		if err := ctx.Err(); err != nil {
			return "", err // a stop of the task, or the agent's end
		}
	}
	if err := t.a.ensureImage(ctx, images.PauseRef); err != nil {
		return "", engineErr(ResourceInitializationError, "build the pause image: %w", err)
	}
	if err := t.makeCgroup(ctx); err != nil {
		return "", err
	}
	cfg, host, netCfg := t.a.network.PauseConfig(t.containerLabels(pauseContainerName, nil))
	host.Resources.CgroupParent = t.cgroupParent
	if def.NetworkMode != taskdef.NetworkAWSVPC {
		host.NetworkMode = network.NetworkNone
		netCfg = &network.NetworkingConfig{}
	} else if t.record.Address != "" {
		netCfg.EndpointsConfig[t.a.network.Name()].IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: t.record.Address}
	}
	if def.IpcMode != "task" {
		host.IpcMode = ""
	}
	name := taskContainerName(def.Family, t.record.Revision, pauseContainerName, t.arn)
	if awsvpc {
		leave, err := t.a.network.Join(ctx)
		if err != nil {
			return "", err
		}
		defer leave()
	}
	// As for the task's containers (createContainer): a create cut short
	// by the agent's end is let finish, so that the pause container it
	// makes is one the next agent finds, and one made unseen by an agent
	// that died is removed when never started.
	cctx, cancel := lingering(ctx, createGrace)
	defer cancel()
	id, err := t.a.network.CreatePause(cctx, cfg, host, netCfg, name, awsvpc)
	if cerrdefs.IsConflict(err) && t.removeStray(cctx, name) {
		id, err = t.a.network.CreatePause(cctx, cfg, host, netCfg, name, awsvpc)
	}
	if err != nil {
		return "", engineErr(ResourceInitializationError, "create the task's pause container: %w", err)
	}
	t.pauseID = id
	if addr, err = t.a.network.RunPause(ctx, id, awsvpc); err != nil {
		return "", engineErr(ResourceInitializationError, "start the task's pause container: %w", err)
	}
	return addr, nil
}

// spareLabels are the labels of the agent's spare pause containers: what
// New needs to find, among the engine's containers, the spares this agent
// left.
func (a *Agent) spareLabels() map[string]string {
	labels := map[string]string{}
	for k, v := range a.cfg.Labels {
		labels[k] = v
	}
	labels[LabelManaged] = "true"
	labels[LabelCluster] = a.cfg.Cluster
	labels[labelInstance] = a.cfg.Instance
	return labels
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
