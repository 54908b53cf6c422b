package controller

import (
	"context"
	"math/rand/v2"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/placement"
	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/taskdef"
)

// Failure reasons of StartTask for an instance that takes no task, besides
// the scheduler's (MISSING, RESOURCE:*, ATTRIBUTE).
const (
	// reasonInactive: the instance was deregistered.
	reasonInactive = "INACTIVE"
	// reasonDraining: the instance is DRAINING, which takes no new task.
	reasonDraining = "DRAINING"
)

// StartTask starts a task of a definition on each container instance named
// (1–10, by ID or ARN, the same one more than once for more than one task),
// without placement strategies: each instance must hold the task's CPU,
// memory and ports, and be ACTIVE. As RunTask's EC2 tasks, the check and
// the commit of what every task holds are one step under placeMu, so
// StartTasks and RunTasks at once never over-commit an instance. An
// instance that cannot take its task is a failure with ECS's reason
// (MISSING, INACTIVE, DRAINING, RESOURCE:CPU, RESOURCE:MEMORY,
// RESOURCE:PORTS, ATTRIBUTE), and the others' tasks start.
func (c *Controller) StartTask(ctx context.Context, in *api.StartTaskInput) (*api.StartTaskOutput, error) {
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, api.InvalidParameterException("containerInstances can not be empty and can have at most 10 items.")
	}
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.ContainerInstances))
	for i, ref := range in.ContainerInstances {
		inARN, id, err := api.ContainerInstanceRef(ref)
		if err != nil {
			return nil, err
		}
		if inARN != "" && inARN != cluster {
			return nil, api.InvalidParameterException("containerInstances[%d]: %s is of cluster %s, not %s", i, ref, inARN, cluster)
		}
		ids[i] = id
	}
	if rec, err := c.store.Cluster(cluster); err != nil || rec.Status != store.StatusActive {
		return nil, api.ClusterNotFoundException("")
	}
	rec, task, l, err := c.prepareLaunch(cluster, in.TaskDefinition, taskdef.LaunchEC2, in.NetworkConfiguration, startLaunch(in))
	if err != nil {
		return nil, err
	}
	needs := placement.Needs(task)
	required := placement.RequiredAttributes(task)

	c.placeMu.Lock()
	defer c.placeMu.Unlock()
	instances, byARN, status, err := c.snapshotInstances(cluster)
	if err != nil {
		return nil, err
	}
	// What placement sees of each instance, by ARN; INACTIVE ones are not
	// among them.
	seen := make(map[string]*scheduler.Instance, len(instances))
	for i := range instances {
		seen[instances[i].ARN] = &instances[i]
	}
	out := &api.StartTaskOutput{Tasks: []api.Task{}, Failures: []api.Failure{}}
	var placements []string
	for _, id := range ids {
		arn := c.namer.ContainerInstance(cluster, id)
		reason, detail := c.fits(status[id], seen[arn], needs, l.group, required)
		if reason != "" {
			out.Failures = append(out.Failures, api.Failure{Arn: arn, Reason: reason, Detail: detail})
			c.placed(taskdef.LaunchEC2, reason)
			continue
		}
		// The next task named for the same instance finds this one there.
		inst := seen[arn]
		inst.Tasks = append(inst.Tasks, scheduler.Task{ARN: c.namer.Task(cluster, api.NewID()), Group: l.group, Needs: needs})
		placements = append(placements, arn)
		c.placed(taskdef.LaunchEC2, "")
	}
	tasks, err := c.commitEC2(cluster, rec, task, l, placements, byARN, nil, nil)
	if err != nil {
		return nil, err
	}
	out.Tasks = tasks
	return out, nil
}

// fits says why an instance of the given status cannot take one more task
// needing needs, in ECS's words ("" when it can).
func (c *Controller) fits(status string, inst *scheduler.Instance, needs scheduler.Resources, group string, required []scheduler.RequiredAttribute) (reason, detail string) {
	switch status {
	case "":
		return string(scheduler.ReasonMissing), "The container instance is not registered with the cluster."
	case store.StatusInactive:
		return reasonInactive, "The container instance was deregistered and takes no task."
	case store.StatusDraining:
		return reasonDraining, "The container instance is DRAINING and takes no new task."
	}
	snap, err := scheduler.NewSnapshot([]scheduler.Instance{*inst})
	if err != nil {
		return string(scheduler.ReasonMissing), err.Error()
	}
	d, err := scheduler.Place(snap, scheduler.Request{Needs: needs, Group: group, Count: 1, RequiredAttributes: required, Seed: rand.Uint64()})
	if err != nil {
		return string(scheduler.ReasonMissing), err.Error()
	}
	if len(d.Placements) == 1 {
		return "", ""
	}
	f, _ := d.Closest()
	return string(f.Reason), f.Detail
}
