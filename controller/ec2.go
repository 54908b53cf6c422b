package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/cgroups"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/internal/crashpoint"
	"github.com/berthdev/berth/placement"
	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// runOnInstances is RunTask under the EC2 launch type: the scheduler places
// each task on one of the cluster's container instances, and the decision
// is committed (recorded with what each task holds of its instance) before
// any container starts. Placement and commit happen under one lock, over a
// snapshot read in it, so that RunTasks at once never over-commit an
// instance's CPU, memory or ports; the engine is asked nothing meanwhile.
func (c *Controller) runOnInstances(ctx context.Context, in *api.RunTaskInput, cluster string, count int, once *runOnce) (*api.RunTaskOutput, error) {
	rec, task, l, err := c.prepareLaunch(cluster, in.TaskDefinition, taskdef.LaunchEC2, in.NetworkConfiguration, runLaunch(in))
	if err != nil {
		return nil, err
	}
	policy, err := compilePolicy(in, task)
	if err != nil {
		return nil, err
	}
	group := l.group
	needs := placement.Needs(task)

	c.placeMu.Lock()
	defer c.placeMu.Unlock()
	instances, byARN, _, err := c.snapshotInstances(cluster)
	if err != nil {
		return nil, err
	}
	snap, err := scheduler.NewSnapshot(instances)
	if err != nil {
		return nil, err
	}
	decision, err := scheduler.Place(snap, scheduler.Request{Needs: needs, Group: group, Count: count, Policy: policy,
		RequiredAttributes: placement.RequiredAttributes(task), Seed: rand.Uint64()})
	var invalid *scheduler.ValidationError
	if errors.As(err, &invalid) {
		return nil, api.InvalidParameterException("%v", err)
	}
	if err != nil {
		return nil, err
	}
	out := &api.RunTaskOutput{Tasks: []api.Task{}, Failures: []api.Failure{}}
	for range decision.Placements {
		c.placed(taskdef.LaunchEC2, "")
	}
	if len(decision.Placements) < count {
		if f, ok := decision.Closest(); ok {
			out.Failures = append(out.Failures, api.Failure{Arn: f.Arn, Reason: string(f.Reason), Detail: f.Detail})
			for range count - len(decision.Placements) {
				c.placed(taskdef.LaunchEC2, string(f.Reason))
			}
		}
	}
	if err := c.ensureCluster(cluster); err != nil {
		return nil, err
	}
	tasks, err := c.commitEC2(cluster, rec, task, l, decision.Placements, byARN, once, out.Failures)
	var repeated *repeatedRunError
	if errors.As(err, &repeated) {
		// A RunTask of the same token committed first: its tasks are the
		// answer (placeMu is held: it committed before this one placed).
		return c.repeated(cluster, once, repeated.prior)
	}
	if err != nil {
		return nil, err
	}
	out.Tasks = tasks
	return out, nil
}

// commitEC2 records a task of the definition on each instance of
// placements (ARNs), holding what it needs of it, in one store
// transaction, then hands each to its instance's agent. The caller holds
// placeMu, so that nothing is placed between its check and this commit.
// A RunTask's client token (once) is recorded in the same transaction, with
// the RunTask's failures; when a RunTask recorded it first, nothing is and
// the error is an *repeatedRunError.
func (c *Controller) commitEC2(cluster string, rec store.TaskDefinition, task *taskdef.Normalized, l *launch, placements []string, byARN map[string]store.ContainerInstance, once *runOnce, failures []api.Failure) ([]api.Task, error) {
	needs := placement.Needs(task)
	now := c.now().UTC()
	var records []store.Task
	var specs []agent.TaskSpec
	out := []api.Task{}
	holds := store.Resources{CPU: int64(needs.CPU), MemoryMiB: int64(needs.MemoryMiB), TCPPorts: needs.TCPPorts, UDPPorts: needs.UDPPorts}
	for _, instanceARN := range placements {
		inst := byARN[instanceARN]
		id := api.NewID()
		arn := c.namer.Task(cluster, id)
		t := c.newEC2Task(cluster, arn, rec, task, inst, l, now)
		body, _ := json.Marshal(t)
		rt, _ := json.Marshal(taskRuntime{Group: l.group, Capacity: inst.ID, CPU: needs.CPU, MemoryMiB: needs.MemoryMiB, ReferenceID: l.referenceID})
		records = append(records, store.Task{Cluster: cluster, ID: id, Family: rec.Family, LaunchType: taskdef.LaunchEC2, Instance: inst.ID,
			Group: l.group, Holds: holds, LastStatus: t.LastStatus, DesiredStatus: t.DesiredStatus, StartedBy: l.startedBy,
			CreatedAt: now, Version: 1, Body: body, Runtime: rt})
		specs = append(specs, agent.TaskSpec{ARN: arn, Task: task, Revision: rec.Revision, LaunchType: taskdef.LaunchEC2,
			Group: l.group, StartedBy: l.startedBy, Overrides: l.agentOverrides})
		out = append(out, *t)
	}
	if len(records) == 0 {
		return out, nil
	}
	crashpoint.Reach(crashpoint.BeforeCommit)
	if err := c.createTasks(cluster, once, records, failures); err != nil {
		if errors.Is(err, store.ErrClusterInactive) || errors.Is(err, store.ErrNotFound) {
			return nil, api.ClusterNotFoundException("")
		}
		return nil, err
	}
	for _, r := range records {
		c.taskChanged(r)
	}
	for i, spec := range specs {
		c.start(cluster, spec, c.instanceCapacity(byARN[placements[i]]))
	}
	return out, nil
}

// compilePolicy reads RunTask's and the definition's placement
// constraints and strategies, as ECS takes them.
func compilePolicy(in *api.RunTaskInput, task *taskdef.Normalized) (*scheduler.Policy, error) {
	request := make([]scheduler.Constraint, len(in.PlacementConstraints))
	for i, pc := range in.PlacementConstraints {
		request[i] = scheduler.Constraint{Type: pc.Type, Expression: pc.Expression}
	}
	strategies := make([]scheduler.Strategy, len(in.PlacementStrategy))
	for i, ps := range in.PlacementStrategy {
		strategies[i] = scheduler.Strategy{Type: ps.Type, Field: ps.Field}
	}
	policy, err := scheduler.Compile(placement.Constraints(task), request, strategies, scheduler.Standalone)
	if err != nil {
		return nil, api.InvalidParameterException("%v", err)
	}
	return policy, nil
}

// snapshotInstances is the cluster's container instances as placement sees
// them (ACTIVE and DRAINING), with the tasks each holds; byARN finds the
// record of a chosen instance, and status is every instance's status by ID,
// INACTIVE ones too, as read with them. The instances are read from the
// store, without their loads, and the tasks they hold from the index kept
// as the tasks change (placeIndex): a placement reads no task of the
// cluster, stopped or not.
func (c *Controller) snapshotInstances(cluster string) (instances []scheduler.Instance, byARN map[string]store.ContainerInstance, status map[string]string, err error) {
	recs, err := c.store.ContainerInstancesUnloaded(cluster)
	if err != nil {
		return nil, nil, nil, err
	}
	held, err := c.held.tasksOf(c.store, cluster, func(id string) string { return c.namer.Task(cluster, id) })
	if err != nil {
		return nil, nil, nil, err
	}
	byARN = make(map[string]store.ContainerInstance, len(recs))
	status = make(map[string]string, len(recs))
	instances = make([]scheduler.Instance, 0, len(recs))
	for _, r := range recs {
		status[r.ID] = r.Status
		if r.Status == store.StatusInactive {
			continue
		}
		arn := c.namer.ContainerInstance(cluster, r.ID)
		byARN[arn] = r
		instances = append(instances, scheduler.Instance{
			ARN: arn, EC2InstanceID: r.EC2InstanceID, Status: scheduler.Status(r.Status), AgentConnected: r.AgentConnected && (r.Agent == nil || r.Agent.EngineReachable),
			AgentVersion: r.VersionInfo.AgentVersion, RegisteredAt: r.RegisteredAt, Attributes: instanceAttributes(r),
			Registered: scheduler.Resources{CPU: int(r.Registered.CPU), MemoryMiB: int(r.Registered.MemoryMiB), TCPPorts: r.Registered.TCPPorts, UDPPorts: r.Registered.UDPPorts},
			Tasks:      held[r.ID],
		})
	}
	return instances, byARN, status, nil
}

// newEC2Task is an EC2 task as RunTask answers it: PENDING on its instance.
func (c *Controller) newEC2Task(cluster, arn string, rec store.TaskDefinition, task *taskdef.Normalized, inst store.ContainerInstance, l *launch, now time.Time) *api.Task {
	t := &api.Task{
		AvailabilityZone:     inst.Attributes["ecs.availability-zone"],
		ClusterArn:           c.namer.Cluster(cluster),
		ContainerInstanceArn: c.namer.ContainerInstance(cluster, inst.ID),
		CreatedAt:            api.Time(now),
		DesiredStatus:        "RUNNING",
		LastStatus:           "PENDING",
		Group:                l.group,
		LaunchType:           taskdef.LaunchEC2,
		StartedBy:            l.startedBy,
		Tags:                 l.tags,
		TaskArn:              arn,
		TaskDefinitionArn:    c.namer.TaskDefinition(rec.Family, rec.Revision),
		Overrides:            l.overrides,
		Version:              1,
	}
	if task.CPU > 0 {
		t.CPU = strconv.Itoa(task.CPU)
	}
	if task.Memory > 0 {
		t.Memory = strconv.Itoa(task.Memory)
	}
	if t.Overrides == nil {
		t.Overrides = &api.TaskOverride{ContainerOverrides: []api.ContainerOverride{}}
	}
	var eni *api.NetworkInterface
	if len(l.subnets) > 0 {
		t.Attachments = []api.Attachment{instanceENI(l.subnets, inst)}
		eni = &api.NetworkInterface{AttachmentID: t.Attachments[0].ID}
	}
	for _, d := range task.Definition.ContainerDefinitions {
		ct := api.Container{ContainerArn: c.namer.Container(cluster, taskID(arn), newUUID()), TaskArn: arn, Name: d.Name, Image: d.Image,
			LastStatus: "PENDING", HealthStatus: "UNKNOWN", CPU: strconv.Itoa(d.CPU)}
		if eni != nil {
			ct.NetworkInterfaces = []api.NetworkInterface{*eni}
		}
		if d.Memory != nil {
			ct.Memory = strconv.Itoa(*d.Memory)
		}
		if d.MemoryReservation != nil {
			ct.MemoryReservation = strconv.Itoa(*d.MemoryReservation)
		}
		t.Containers = append(t.Containers, ct)
	}
	return t
}

// instanceENI is the network interface of an awsvpc task on a container
// instance, as ECS attaches one to the instance for the task: in the
// task's subnet of the instance's zone (the first of them when none is),
// PRECREATED; its address is the one the task's agent reports, filled in
// when it does (applyState).
func instanceENI(subnets []string, inst store.ContainerInstance) api.Attachment {
	subnet := subnets[0]
	zones := map[string]string{}
	for _, s := range fargate.DefaultSubnets(DefaultRegion) {
		zones[s.ID] = s.AvailabilityZone
	}
	for _, s := range subnets {
		if zones[s] == inst.Attributes["ecs.availability-zone"] {
			subnet = s
			break
		}
	}
	eni := fmt.Sprintf("eni-%017x", rand.Uint64())
	return api.Attachment{ID: newUUID(), Type: attachmentENI, Status: "PRECREATED", Details: []api.KeyValuePair{
		{Name: "subnetId", Value: subnet},
		{Name: "networkInterfaceId", Value: eni},
		{Name: "macAddress", Value: macAddress(eni)},
	}}
}

// instanceCapacity is the capacity of a container instance: the berth
// agent that connects for it (remote.go), or an agent on the server's
// engine whose tasks' host ports bind to the instance's own loopback
// address.
func (c *Controller) instanceCapacity(inst store.ContainerInstance) runner {
	if inst.Agent != nil {
		return c.remote.of(inst.Cluster, inst.ID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := inst.Cluster + "/" + inst.ID
	if k, ok := c.instances[key]; ok {
		return k
	}
	k := &capacity{c: c, instance: inst.ID, hostIP: inst.HostAddress,
		slice: &agent.Slice{Name: inst.ID, CPU: int(inst.Registered.CPU), MemoryMiB: int(inst.Registered.MemoryMiB)}}
	c.instances[key] = k
	return k
}

// capacityOf is the capacity a recorded task runs on.
func (c *Controller) capacityOf(rec store.Task) (runner, error) {
	if rec.LaunchType == taskdef.LaunchFargate {
		return c.fargateCapacity, nil
	}
	// The instance's record alone: what it holds is not asked, and would
	// cost a walk over the cluster's tasks for each task taken up.
	inst, err := c.store.ContainerInstanceUnloaded(rec.Cluster, rec.Instance)
	if err != nil {
		return nil, err
	}
	return c.instanceCapacity(inst), nil
}

// retireInstance ends the agent of a deregistered container instance and
// removes its slice of the host, once it holds no task: one deregistered
// with force keeps both while its tasks run, and its slice goes at a
// later start of the server (removeRetiredSlices).
func (c *Controller) retireInstance(ctx context.Context, inst store.ContainerInstance) {
	if inst.Load.Running+inst.Load.Pending > 0 {
		return
	}
	k, ok := c.instanceCapacity(inst).(*capacity)
	if !ok {
		return // a berth agent's host, whose engine is the agent's
	}
	c.mu.Lock()
	delete(c.instances, inst.Cluster+"/"+inst.ID)
	c.mu.Unlock()
	k.mu.Lock()
	a := k.agents[inst.Cluster]
	k.agents = nil
	k.mu.Unlock()
	if a != nil {
		// The instance is gone: its stopped tasks' containers go now, not
		// after the cleanup wait, which its closed agent would not see.
		for _, t := range a.Tasks() {
			if t.LastStatus >= agent.TaskStopped {
				if err := a.RemoveTask(ctx, t.ARN); err != nil {
					c.opts.Logf("container instance %s: remove the containers of task %s: %v", inst.ID, t.ARN, err)
				}
			}
		}
		a.Close()
	}
	if a != nil || cgroups.SliceExists(c.opts.CgroupRoot, inst.ID) {
		k.removeSlice(ctx, inst.Cluster, a)
	}
}

// removeRetiredSlices removes the slices of the host that deregistered
// container instances left: a server that died, or an instance
// deregistered with force while its tasks ran. Each is found by its name,
// the instance's ID.
func (c *Controller) removeRetiredSlices(ctx context.Context) {
	clusters, err := c.store.Clusters("")
	if err != nil {
		c.opts.Logf("find the slices of deregistered instances: %v", err)
		return
	}
	for _, cl := range clusters {
		recs, _, err := c.shownInstances(cl.Name)
		if err != nil {
			c.opts.Logf("find the slices of deregistered instances: %v", err)
			return
		}
		for _, inst := range recs {
			if inst.Status == store.StatusInactive && inst.Load.Running+inst.Load.Pending == 0 && cgroups.SliceExists(c.opts.CgroupRoot, inst.ID) {
				c.retireInstance(ctx, inst)
			}
		}
	}
}
