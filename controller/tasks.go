package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/internal/crashpoint"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// taskRuntime is what the controller keeps of a task beside its API shape:
// where it runs and what it holds there.
type taskRuntime struct {
	Group string `json:"group"`
	// Capacity is FARGATE, FARGATE_SPOT, or the container instance ID.
	Capacity  string `json:"capacity"`
	CPU       int    `json:"cpu,omitempty"`
	MemoryMiB int    `json:"memoryMiB,omitempty"`
	// The Fargate network interface.
	Address string `json:"address,omitempty"`
	Subnet  string `json:"subnet,omitempty"`
	Zone    string `json:"zone,omitempty"`
	ENI     string `json:"eni,omitempty"`
	// ReferenceID is the referenceId the task was started with.
	ReferenceID string `json:"referenceId,omitempty"`
}

// RunTask starts count tasks of a task definition. FARGATE (the launch type,
// or a capacity provider strategy over FARGATE and FARGATE_SPOT) gives each
// task capacity of its own size, with its own network interface in one of
// the subnets its networkConfiguration names; a task that cannot have it
// comes back in failures with ECS's reason, and nothing of it is made.
func (c *Controller) RunTask(ctx context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error) {
	count := 1
	if in.Count != nil {
		count = int(*in.Count)
	}
	if count < 1 || count > 10 {
		return nil, api.InvalidParameterException("count must be between 1 and 10; got %d", count)
	}
	cluster, err := c.clusterForTasks(in.Cluster)
	if err != nil {
		return nil, err
	}
	once, err := newRunOnce(in)
	if err != nil {
		return nil, err
	}
	if out, used, err := c.usedBefore(cluster, once); used || err != nil {
		return out, err
	}
	providers, err := launchProviders(in, count)
	if err != nil {
		return nil, err
	}
	if providers == nil {
		return c.runOnInstances(ctx, in, cluster, count, once)
	}
	rec, task, l, err := c.prepareLaunch(cluster, in.TaskDefinition, taskdef.LaunchFargate, in.NetworkConfiguration, runLaunch(in))
	if err != nil {
		return nil, err
	}
	group := l.group
	if err := c.ensureCluster(cluster); err != nil {
		return nil, err
	}

	out := &api.RunTaskOutput{Tasks: []api.Task{}, Failures: []api.Failure{}}
	var records []store.Task
	var provisioned []fargate.Capacity
	now := c.now().UTC()
	for _, provider := range providers {
		id := api.NewID()
		arn := c.namer.Task(cluster, id)
		capa, err := c.fargate.Provision(fargate.Request{TaskARN: arn, Group: group, CPU: task.CPU, MemoryMiB: task.Memory, Subnets: l.subnets})
		var ce *fargate.CapacityError
		if errors.As(err, &ce) {
			out.Failures = append(out.Failures, api.Failure{Arn: arn, Reason: ce.Reason, Detail: ce.Detail})
			c.placed(taskdef.LaunchFargate, ce.Reason)
			continue
		}
		if err != nil {
			c.releaseAll(provisioned)
			return nil, api.InvalidParameterException("%v", err)
		}
		provisioned = append(provisioned, capa)
		c.placed(taskdef.LaunchFargate, "")
		t := c.newFargateTask(cluster, arn, rec, task, capa, provider, l, now)
		body, _ := json.Marshal(t)
		rt, _ := json.Marshal(taskRuntime{Group: group, Capacity: provider, CPU: capa.CPU, MemoryMiB: capa.MemoryMiB,
			Address: capa.PrivateIPv4.String(), Subnet: capa.SubnetID, Zone: capa.AvailabilityZone, ENI: capa.ENI, ReferenceID: l.referenceID})
		records = append(records, store.Task{Cluster: cluster, ID: id, Family: rec.Family, LaunchType: taskdef.LaunchFargate,
			LastStatus: t.LastStatus, DesiredStatus: t.DesiredStatus, StartedBy: l.startedBy, CreatedAt: now, Version: 1, Body: body, Runtime: rt})
		out.Tasks = append(out.Tasks, *t)
	}
	// The tasks are recorded, all at once, before any container is made:
	// a server that dies now finds them at its next start.
	crashpoint.Reach(crashpoint.BeforeCommit)
	if err := c.createTasks(cluster, once, records, out.Failures); err != nil {
		c.releaseAll(provisioned)
		var repeated *repeatedRunError
		switch {
		case errors.As(err, &repeated):
			// A RunTask of the same token committed while this one
			// provisioned: its tasks are the answer.
			return c.repeated(cluster, once, repeated.prior)
		case errors.Is(err, store.ErrClusterInactive) || errors.Is(err, store.ErrNotFound):
			return nil, api.ClusterNotFoundException("")
		}
		return nil, err
	}
	for _, r := range records {
		c.taskChanged(r)
	}
	for i, t := range out.Tasks {
		spec := agent.TaskSpec{ARN: t.TaskArn, Task: task, Revision: rec.Revision, LaunchType: taskdef.LaunchFargate,
			Group: group, StartedBy: l.startedBy, Overrides: l.agentOverrides, Address: provisioned[i].PrivateIPv4.String()}
		c.start(cluster, spec, c.fargateCapacity)
	}
	return out, nil
}

// start hands a recorded task to its capacity, in the background: a slow
// engine never holds RunTask's answer up. A task the capacity refuses stops
// with TaskFailedToStart; one handed over as the controller closes is left
// for the next server.
func (c *Controller) start(cluster string, spec agent.TaskSpec, k runner) {
	if spec.Output == nil {
		spec.Output = c.keepOutput(cluster, spec)
	}
	c.mu.Lock()
	c.inFlight[spec.ARN] = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			delete(c.inFlight, spec.ARN)
			c.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := k.startTask(ctx, cluster, spec)
		if errors.Is(err, errClosing) {
			// Recorded and not yet on the engine, as after a crash at
			// this point: the next server's agent takes it up.
			return
		}
		if err != nil && !errors.Is(err, agent.ErrTaskExists) {
			c.stoppedWithout(cluster, spec.ARN, api.StopCodeTaskFailedToStart, "ResourceInitializationError: "+err.Error())
			return
		}
		// A StopTask that came while the task was on its way to the agent
		// is the agent's to carry out now.
		if rec, err := c.store.Task(cluster, taskID(spec.ARN)); err == nil && rec.DesiredStatus == "STOPPED" {
			if t, err := taskOf(rec); err == nil {
				k.stopTask(ctx, cluster, spec.ARN, t.StoppedReason, agent.StopCode(t.StopCode))
			}
		}
	}()
}

func (c *Controller) releaseAll(caps []fargate.Capacity) {
	for _, capa := range caps {
		c.fargate.Release(capa.TaskARN)
	}
}

// launchProviders says, for each of count tasks, which capacity provider
// takes it: FARGATE for the FARGATE launch type, the strategy's split
// otherwise; nil for the EC2 launch type.
func launchProviders(in *api.RunTaskInput, count int) ([]string, error) {
	if len(in.CapacityProviderStrategy) > 0 {
		if in.LaunchType != "" {
			return nil, api.InvalidParameterException("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
		}
		strategy := make([]fargate.StrategyItem, len(in.CapacityProviderStrategy))
		for i, s := range in.CapacityProviderStrategy {
			strategy[i] = fargate.StrategyItem{Provider: s.CapacityProvider, Base: int(s.Base), Weight: int(s.Weight)}
		}
		if err := fargate.CheckStrategy(strategy); err != nil {
			return nil, api.InvalidParameterException("%v", err)
		}
		return fargate.Split(strategy, count), nil
	}
	switch in.LaunchType {
	case taskdef.LaunchFargate:
		return slices.Repeat([]string{fargate.ProviderFargate}, count), nil
	case "", taskdef.LaunchEC2:
		return nil, nil
	}
	return nil, api.InvalidParameterException("launchType %q: want EC2 or FARGATE", in.LaunchType)
}

// clusterForTasks resolves the cluster a task goes to. The default
// cluster need not exist yet: ensureCluster makes it, as ECS makes it on
// first use, once the request has passed its checks.
func (c *Controller) clusterForTasks(ref string) (string, error) {
	if ref == "" {
		ref = "default"
	}
	name, err := api.ClusterName(ref)
	if err != nil {
		return "", err
	}
	rec, err := c.store.Cluster(name)
	switch {
	case errors.Is(err, store.ErrNotFound) && name == "default":
		return name, nil
	case errors.Is(err, store.ErrNotFound), err == nil && rec.Status != store.StatusActive:
		return "", api.ClusterNotFoundException("")
	case err != nil:
		return "", err
	}
	return name, nil
}

// ensureCluster makes the default cluster when it is not there yet.
func (c *Controller) ensureCluster(name string) error {
	if name != "default" {
		return nil
	}
	if _, err := c.store.Cluster(name); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, _, err := c.store.CreateCluster(store.Cluster{Name: name}, c.now())
	return err
}

// loadForLaunch resolves a task definition and loads it for launchType,
// refusing one that launch type cannot run, in ECS's words.
func (c *Controller) loadForLaunch(ref, launchType string) (store.TaskDefinition, *taskdef.Normalized, error) {
	family, rev, err := api.TaskDefinitionRef(ref)
	if err != nil {
		return store.TaskDefinition{}, nil, err
	}
	rec, err := c.store.TaskDefinition(family, rev)
	if errors.Is(err, store.ErrNotFound) {
		return store.TaskDefinition{}, nil, api.ClientException("Unable to find task definition '%s'.", ref)
	}
	if err != nil {
		return store.TaskDefinition{}, nil, err
	}
	if rev > 0 && rec.Status != store.StatusActive {
		return store.TaskDefinition{}, nil, api.ClientException("TaskDefinition is inactive")
	}
	data, err := json.Marshal(rec.Definition)
	if err != nil {
		return store.TaskDefinition{}, nil, err
	}
	task, report, err := taskdef.Load(data, taskdef.Options{LaunchType: launchType})
	if err != nil || !report.Valid() {
		return store.TaskDefinition{}, nil, api.InvalidParameterException("Task definition does not support launch_type %s.", launchType)
	}
	return rec, task, nil
}

// prepareLaunch is what RunTask and StartTask do alike before placing: the
// definition loaded for the launch type, its network configuration and
// the request's members checked as ECS checks them, and what its tasks get.
func (c *Controller) prepareLaunch(cluster, definition, launchType string, nc *api.NetworkConfiguration, req launchRequest) (store.TaskDefinition, *taskdef.Normalized, *launch, error) {
	rec, task, err := c.loadForLaunch(definition, launchType)
	if err != nil {
		return store.TaskDefinition{}, nil, nil, err
	}
	subnets, err := c.awsvpcSubnets(nc, task)
	if err != nil {
		return store.TaskDefinition{}, nil, nil, err
	}
	l, err := newLaunch(cluster, rec, task, req)
	if err != nil {
		return store.TaskDefinition{}, nil, nil, err
	}
	l.subnets = subnets
	return rec, task, l, nil
}

// awsvpcSubnets checks an awsvpc task's network configuration and returns
// its subnets, as ECS requires them.
func (c *Controller) awsvpcSubnets(nc *api.NetworkConfiguration, task *taskdef.Normalized) ([]string, error) {
	if task.Definition.NetworkMode != taskdef.NetworkAWSVPC {
		return nil, nil
	}
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return nil, api.InvalidParameterException("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	subnets := nc.AwsvpcConfiguration.Subnets
	if len(subnets) == 0 || len(subnets) > 16 {
		return nil, api.InvalidParameterException("subnets can not be empty and can have at most 16 items.")
	}
	known := map[string]bool{}
	var ids []string
	for _, s := range fargate.DefaultSubnets(DefaultRegion) {
		known[s.ID] = true
		ids = append(ids, s.ID+" ("+s.AvailabilityZone+")")
	}
	for _, s := range subnets {
		if !known[s] {
			return nil, api.InvalidParameterException("Error retrieving subnet information for [%s]: The subnet ID '%s' does not exist (berth's VPC has %s)", s, s, strings.Join(ids, ", "))
		}
	}
	return subnets, nil
}

// agentOverrides reads RunTask's container overrides of command and
// environment; the containers must exist. Overrides berth does not apply
// yet are refused rather than ignored.
func agentOverrides(o *api.TaskOverride, def *taskdef.TaskDefinition) ([]agent.ContainerOverride, error) {
	if o == nil {
		return nil, nil
	}
	if o.CPU != "" || o.Memory != "" || o.EphemeralStorage != nil {
		return nil, api.InvalidParameterException("overrides: task-level cpu, memory and ephemeralStorage overrides are not applied by berth yet")
	}
	var out []agent.ContainerOverride
	for i, co := range o.ContainerOverrides {
		if def.Container(co.Name) == nil {
			return nil, api.InvalidParameterException("overrides.containerOverrides[%d]: the task definition has no container named %q", i, co.Name)
		}
		if co.CPU != nil || co.Memory != nil || co.MemoryReservation != nil || len(co.EnvironmentFiles) > 0 || len(co.ResourceRequirements) > 0 {
			return nil, api.InvalidParameterException("overrides.containerOverrides[%d]: berth applies command and environment overrides only, so far", i)
		}
		out = append(out, agent.ContainerOverride{Name: co.Name, Command: co.Command, Environment: co.Environment})
	}
	return out, nil
}

// newFargateTask is a Fargate task as RunTask answers it: PROVISIONING,
// its network interface attaching.
func (c *Controller) newFargateTask(cluster, arn string, rec store.TaskDefinition, task *taskdef.Normalized, capa fargate.Capacity, provider string, l *launch, now time.Time) *api.Task {
	attachment := newUUID()
	t := &api.Task{
		Attachments: []api.Attachment{{ID: attachment, Type: "ElasticNetworkInterface", Status: "PRECREATED", Details: []api.KeyValuePair{
			{Name: "subnetId", Value: capa.SubnetID},
			{Name: "networkInterfaceId", Value: capa.ENI},
			{Name: "macAddress", Value: macAddress(capa.ENI)},
			{Name: "privateDnsName", Value: privateDNSName(capa.PrivateIPv4)},
			{Name: "privateIPv4Address", Value: capa.PrivateIPv4.String()},
		}}},
		AvailabilityZone:     capa.AvailabilityZone,
		CapacityProviderName: provider,
		ClusterArn:           c.namer.Cluster(cluster),
		CPU:                  strconv.Itoa(task.CPU),
		Memory:               strconv.Itoa(task.Memory),
		CreatedAt:            api.Time(now),
		DesiredStatus:        "RUNNING",
		LastStatus:           "PROVISIONING",
		Group:                l.group,
		LaunchType:           taskdef.LaunchFargate,
		PlatformVersion:      "1.4.0",
		PlatformFamily:       "Linux",
		StartedBy:            l.startedBy,
		Tags:                 l.tags,
		TaskArn:              arn,
		TaskDefinitionArn:    c.namer.TaskDefinition(rec.Family, rec.Revision),
		Overrides:            l.overrides,
		Version:              1,
		EphemeralStorage:     &api.EphemeralStorage{SizeInGiB: 20},
	}
	if t.Overrides == nil {
		t.Overrides = &api.TaskOverride{ContainerOverrides: []api.ContainerOverride{}}
	}
	for _, d := range task.Definition.ContainerDefinitions {
		t.Containers = append(t.Containers, api.Container{
			ContainerArn: c.namer.Container(cluster, taskID(arn), newUUID()),
			TaskArn:      arn, Name: d.Name, Image: d.Image, LastStatus: "PENDING", HealthStatus: "UNKNOWN",
			CPU:               strconv.Itoa(d.CPU),
			NetworkInterfaces: []api.NetworkInterface{{AttachmentID: attachment, PrivateIpv4Address: capa.PrivateIPv4.String()}},
		})
	}
	return t
}

// macAddress is the ENI's MAC address, made from its ID so it stays the
// same across restarts.
func macAddress(eni string) string {
	id, _ := strconv.ParseUint(strings.TrimPrefix(eni, "eni-"), 16, 64)
	return fmt.Sprintf("0a:%02x:%02x:%02x:%02x:%02x", byte(id>>32), byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
}

// privateDNSName is the name AWS gives an address in us-east-1.
func privateDNSName(a netip.Addr) string {
	return "ip-" + strings.ReplaceAll(a.String(), ".", "-") + ".ec2.internal"
}

// newUUID is a random UUID, as ECS names attachments and containers.
func newUUID() string {
	id := api.NewID() // 32 hex digits
	return id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

// taskID is the last part of a task ARN.
func taskID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// placed counts a placement of one task, "" when it was placed, else the
// reason it was not.
func (c *Controller) placed(launchType, reason string) {
	if c.opts.Metrics != nil {
		c.opts.Metrics.Placed(launchType, reason)
	}
}
