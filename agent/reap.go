package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/volume"

	"github.com/berthdev/berth/agent/engine"
)

// InstanceRef names one agent's share of an engine: its cluster and
// instance, as its containers' labels carry them.
type InstanceRef struct {
	Cluster, Instance string
}

// Instances lists the agents that have tasks on the engine, whether or not
// they still run, so that a caller who knows an agent is gone for good (its
// process died) can Reap what it left. An agent that died before its task's
// first container was made left only the task's volumes: they name their
// agent too.
func Instances(ctx context.Context, docker engine.Engine) ([]InstanceRef, error) {
	managed := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: managed})
	if err != nil {
		return nil, fmt.Errorf("list berth's containers: %w", err)
	}
	vols, err := docker.VolumeList(ctx, volume.ListOptions{Filters: managed})
	if err != nil {
		return nil, fmt.Errorf("list berth's volumes: %w", err)
	}
	seen := map[InstanceRef]bool{}
	add := func(labels map[string]string) {
		ref := InstanceRef{Cluster: labels[LabelCluster], Instance: labels[labelInstance]}
		if ref.Cluster != "" {
			seen[ref] = true
		}
	}
	for _, c := range list {
		add(c.Labels)
	}
	for _, v := range vols.Volumes {
		add(v.Labels)
	}
	out := make([]InstanceRef, 0, len(seen))
	for ref := range seen {
		out = append(out, ref)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Cluster != out[j].Cluster {
			return out[i].Cluster < out[j].Cluster
		}
		return out[i].Instance < out[j].Instance
	})
	return out, nil
}

// Reap removes what an agent that is gone for good (its process died) left
// on the engine, named by cfg's Cluster and Instance. Nothing of it is
// started again: every task is killed and removed with everything it made,
// except a task kept on purpose (its containers carry LabelKeep) whose
// containers have all exited, which stays until its cleanup wait
// (cfg.CleanupWait after its last container finished) has passed, as that
// agent would have kept it. It returns how many tasks it removed.
func Reap(ctx context.Context, cfg Config) (int, error) {
	a, _, err := newAgent(ctx, cfg)
	if err != nil {
		return 0, err
	}
	defer a.cancel()
	list, err := a.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: a.ownFilters()})
	if err != nil {
		return 0, fmt.Errorf("list the containers of %s/%s: %w", a.cfg.Cluster, a.cfg.Instance, err)
	}
	byTask := map[string][]container.Summary{}
	var order []string
	for _, c := range list {
		arn := c.Labels[LabelTaskARN]
		if arn == "" {
			continue // a spare: the sweep below removes it
		}
		if _, seen := byTask[arn]; !seen {
			order = append(order, arn)
		}
		byTask[arn] = append(byTask[arn], c)
	}
	removed := 0
	var errs []error
	for _, arn := range order {
		due, err := a.cleanupDue(ctx, byTask[arn])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !due {
			continue
		}
		if err := a.reapTask(ctx, arn, byTask[arn]); err != nil {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	// What no task holds any more: spares, the task network, cgroups and
	// volumes of tasks that are gone.
	for _, c := range list {
		if c.Labels[labelSpare] == "true" && c.Labels[LabelTaskARN] == "" {
			a.removeContainer(ctx, c.ID)
		}
	}
	if err := a.network.RemoveIfUnused(ctx); err != nil {
		errs = append(errs, err)
	}
	a.sweepCgroups(ctx)
	if err := a.removeOrphanVolumes(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("reap the tasks of %s/%s: %w", a.cfg.Cluster, a.cfg.Instance, err)
	}
	return removed, nil
}

// cleanupDue reports whether a dead agent's task is to be removed now: it
// was not kept, or it still has a container that has not exited, or its
// last container exited longer than the cleanup wait ago.
func (a *Agent) cleanupDue(ctx context.Context, ctrs []container.Summary) (bool, error) {
	var last time.Time
	for _, c := range ctrs {
		if c.Labels[LabelKeep] != "true" || c.State != "exited" && c.State != "dead" {
			return true, nil
		}
		info, err := a.docker.ContainerInspect(ctx, c.ID)
		if err != nil {
			return false, fmt.Errorf("inspect container %s: %w", c.ID[:12], err)
		}
		if info.State == nil {
			return true, nil
		}
		finished, err := time.Parse(time.RFC3339Nano, info.State.FinishedAt)
		if err != nil {
			return true, nil // no finishing time to wait from
		}
		if finished.After(last) {
			last = finished
		}
	}
	return time.Since(last) >= a.cfg.CleanupWait, nil
}

// ReapTask removes one task of an agent that is gone for good from the
// engine, whatever state it is in: its containers (killing those still
// running), the pause container it took, its task volumes and its cgroup.
// It finds them by what they carry, so it works before the task's first
// container exists as well as after its last is gone.
func ReapTask(ctx context.Context, cfg Config, arn string) error {
	a, _, err := newAgent(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.cancel()
	list, err := a.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelTaskARN+"="+arn))})
	if err != nil {
		return fmt.Errorf("list the containers of task %s: %w", taskID(arn), err)
	}
	return a.reapTask(ctx, arn, list)
}

// reapTask removes a dead agent's task: its containers (killing those
// still running), the pause container it took, its task volumes and its
// cgroup.
func (a *Agent) reapTask(ctx context.Context, arn string, ctrs []container.Summary) error {
	err := a.removeTaskResources(ctx, arn)
	for _, c := range ctrs {
		if id := c.Labels[labelPause]; id != "" {
			a.removeContainer(ctx, id)
		}
	}
	if cgErr := a.removeCgroups(ctx, taskID(arn)); cgErr != nil {
		err = errors.Join(err, cgErr)
	}
	return err
}
