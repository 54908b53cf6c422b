package agent

import (
	"context"
	"fmt"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/agent/dockerspec"
	"github.com/berthdev/berth/agent/tasknet"
	"github.com/berthdev/berth/taskdef"
)

// recover finds the tasks of this agent's cluster and instance already on
// the engine, from their containers' labels, and resumes each one where it
// is: a running task is tracked on, a task that was starting goes on
// starting, a stopped one waits for its cleanup. A container of the task
// that is no longer on the engine is STOPPED with ContainerVanishedError;
// a task to run whose pause container is gone or stopped is stopped, as
// when the agent sees its pause container go.
func (a *Agent) recover(ctx context.Context) error {
	list, err := a.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: a.ownFilters()})
	if err != nil {
		return fmt.Errorf("list the engine's berth containers: %w", err)
	}
	byTask := map[string][]container.Summary{}
	var order []string
	taken := map[string]bool{} // pause containers the tasks' containers name
	for _, c := range list {
		if id := c.Labels[labelPause]; id != "" {
			taken[id] = true
		}
	}
	for _, c := range list {
		if c.Labels[labelSpare] == "true" && !taken[c.ID] {
			// A spare of an agent that ended without removing it.
			a.removeContainer(ctx, c.ID)
			continue
		}
		arn := c.Labels[LabelTaskARN]
		if arn == "" {
			continue
		}
		if _, seen := byTask[arn]; !seen {
			order = append(order, arn)
		}
		byTask[arn] = append(byTask[arn], c)
	}
	for _, arn := range order {
		t, err := a.recoverTask(ctx, byTask[arn])
		if err != nil {
			a.ports.release(arn)
			a.cfg.Logf("recover task %s: %v", arn, err)
			continue
		}
		a.mu.Lock()
		a.tasks[arn] = t
		a.wg.Add(1)
		a.mu.Unlock()
		t.publish("")
		go t.run(true)
	}
	if err := a.network.RemoveIfUnused(ctx); err != nil {
		a.cfg.Logf("%v", err)
	}
	a.sweepCgroups(ctx)
	return a.removeOrphanVolumes(ctx)
}

func (a *Agent) ownFilters() filters.Args {
	return filters.NewArgs(
		filters.Arg("label", LabelManaged+"=true"),
		filters.Arg("label", LabelCluster+"="+a.cfg.Cluster),
		filters.Arg("label", labelInstance+"="+a.cfg.Instance),
	)
}

func (a *Agent) recoverTask(ctx context.Context, summaries []container.Summary) (*task, error) {
	// Any container's record will do, but the pause container's is written
	// before the pulls and lacks their times.
	var rec *taskRecord
	for _, s := range summaries {
		r, err := decodeRecord(s.Labels[labelTaskRecord])
		if err != nil {
			continue
		}
		if rec == nil || s.Labels[LabelContainerName] != pauseContainerName {
			rec = r
		}
	}
	if rec == nil {
		return nil, fmt.Errorf("no container carries a readable %s label", labelTaskRecord)
	}
	t := baseTask(a, *rec)
	t.pullBehavior = a.cfg.PullBehavior
	if rec.CPU > 0 || rec.Memory > 0 {
		t.cgroupParent = a.cgroups.Parent(t.id)
	} else {
		t.cgroupParent = a.cgroups.Base
	}
	// A pause container that was a spare carries no task label: the
	// task's containers name it.
	pause := ""
	for _, s := range summaries {
		if s.Labels[LabelContainerName] == pauseContainerName {
			pause = ""
			break
		}
		if id := s.Labels[labelPause]; id != "" {
			pause = id
		}
	}
	if pause != "" {
		info, err := a.docker.ContainerInspect(ctx, pause)
		switch {
		case err == nil:
			t.pauseID = pause
			t.pauseStopped = info.State == nil || !info.State.Running
			a.spares.Own(pause, t.arn)
		case !cerrdefs.IsNotFound(err):
			return nil, fmt.Errorf("inspect the pause container %s: %w", pause, err)
		}
	}
	for _, s := range summaries {
		info, err := a.docker.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", s.ID, err)
		}
		name := s.Labels[LabelContainerName]
		if name == pauseContainerName {
			t.pauseID = s.ID
			t.pauseStopped = info.State == nil || !info.State.Running
			continue
		}
		c := t.ctr(name)
		if c == nil {
			continue
		}
		t.byID[s.ID] = c
		c.st.DockerID = s.ID
		c.st.DockerName = strings.TrimPrefix(info.Name, "/")
		c.st.CreatedAt = parseTime(info.Created)
		c.st.LastStatus = ContainerCreated
		c.bindings = recoveredBindings(t, c, info)
		for _, b := range c.bindings {
			a.ports.hold(t.arn, b.HostPort, b.Protocol)
		}
		t.observe(c, info)
		c.startRequested = c.started
	}
	for _, c := range t.ctrs {
		if c.st.DockerID == "" {
			t.vanished(c)
		}
	}
	if t.state.DesiredStatus == TaskRunning && t.allStarted() {
		t.setLast(TaskRunning)
		for _, c := range t.ctrs {
			if c.st.StartedAt.After(t.state.StartedAt) {
				t.state.StartedAt = c.st.StartedAt
			}
		}
	}
	t.recoverPause()
	if t.state.DesiredStatus == TaskStopped && t.allStopped() {
		// Stopped while no agent was watching: the last exit is the best
		// account of when.
		for _, c := range t.ctrs {
			if c.st.FinishedAt.After(t.state.ExecutionStoppedAt) {
				t.state.ExecutionStoppedAt = c.st.FinishedAt
			}
		}
		if t.state.ExecutionStoppedAt.IsZero() {
			t.state.ExecutionStoppedAt = t.a.clock.Now().UTC()
		}
	}
	return t, nil
}

// recoverPause stops a recovered task that was to run but whose pause
// container is gone or stopped: it went while no agent was watching, and
// the task's containers lost their shared namespaces with it.
func (t *task) recoverPause() {
	if !tasknet.NeedsPause(t.def()) || t.record.Alone || t.state.DesiredStatus != TaskRunning {
		return
	}
	switch {
	case t.pauseID == "":
		t.pauseLost(pauseRemoved)
	case t.pauseStopped:
		t.pauseLost(pauseExited)
	}
}

// recoveredBindings reads a container's published ports back from Docker.
func recoveredBindings(t *task, c *ctr, info container.InspectResponse) []NetworkBinding {
	mode := t.def().NetworkMode
	if mode == taskdef.NetworkAWSVPC || mode == taskdef.NetworkNone {
		return nil
	}
	var out []NetworkBinding
	if mode == taskdef.NetworkHost {
		ports, _ := dockerspec.PortMappings(c.def)
		for _, p := range ports {
			out = append(out, NetworkBinding{BindIP: t.record.HostIP, ContainerPort: p.ContainerPort, HostPort: p.ContainerPort, Protocol: p.Protocol})
		}
		return out
	}
	if info.HostConfig == nil {
		return nil
	}
	for port, binds := range info.HostConfig.PortBindings {
		for _, b := range binds {
			hp := 0
			fmt.Sscan(b.HostPort, &hp)
			out = append(out, NetworkBinding{BindIP: b.HostIP, ContainerPort: port.Int(), HostPort: hp, Protocol: port.Proto()})
		}
	}
	return out
}

// removeOrphanVolumes removes task volumes whose task has no container left
// on the engine: their task ended while no agent was there to clean up.
func (a *Agent) removeOrphanVolumes(ctx context.Context) error {
	f := a.ownFilters()
	f.Add("label", labelScope+"=task")
	list, err := a.docker.VolumeList(ctx, volume.ListOptions{Filters: f})
	if err != nil {
		return fmt.Errorf("list the engine's berth volumes: %w", err)
	}
	for _, v := range list.Volumes {
		arn := v.Labels[LabelTaskARN]
		if _, live := a.lookup(arn); live || arn == "" {
			continue
		}
		if err := a.docker.VolumeRemove(ctx, v.Name, false); err != nil && !cerrdefs.IsNotFound(err) {
			a.cfg.Logf("remove orphan volume %s: %v", v.Name, err)
		}
	}
	return nil
}
