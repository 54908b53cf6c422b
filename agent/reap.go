package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// InstanceRef names one agent's share of an engine: its cluster and
// instance, as its containers' labels carry them.
type InstanceRef struct {
	Cluster, Instance string
}

// Instances lists the agents that have tasks on the engine, whether or not
// they still run, so that a caller who knows an agent is gone for good (its
// process died) can Reap what it left.
func Instances(ctx context.Context, docker client.APIClient) ([]InstanceRef, error) {
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))})
	if err != nil {
		return nil, fmt.Errorf("list berth's containers: %w", err)
	}
	seen := map[InstanceRef]bool{}
	for _, c := range list {
		ref := InstanceRef{Cluster: c.Labels[LabelCluster], Instance: c.Labels[labelInstance]}
		if ref.Cluster != "" {
			seen[ref] = true
		}
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
// started again: a task with a container that is not exited (running, or
// created and never started) is killed and removed with everything it
// made, and a task whose containers all exited is removed once its cleanup
// wait (cfg.CleanupWait after its last container finished) has passed, as
// that agent would have; one that stopped more recently stays for a later
// Reap. It returns how many tasks it removed.
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
	if err := a.network.removeIfUnused(ctx); err != nil {
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
// still has a container that has not exited, or its last container exited
// longer than the cleanup wait ago.
func (a *Agent) cleanupDue(ctx context.Context, ctrs []container.Summary) (bool, error) {
	var last time.Time
	for _, c := range ctrs {
		if c.State != "exited" && c.State != "dead" {
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
	if cgErr := removeCgroup(ctx, a.cgroups, taskID(arn)); cgErr != nil {
		err = errors.Join(err, cgErr)
	}
	return err
}
