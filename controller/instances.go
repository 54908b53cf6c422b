package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/placement"
	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/scheduler/query"
)

// The attributes the ECS agent sets on every instance it registers.
const (
	attrAvailabilityZone = "ecs.availability-zone"
	attrInstanceType     = "ecs.instance-type"
	attrOSType           = "ecs.os-type"
	attrOSFamily         = "ecs.os-family"
	attrCPUArchitecture  = "ecs.cpu-architecture"
)

// LocalInstanceType is the ecs.instance-type of an instance registered
// without one: no EC2 instance type describes a slice of the local engine,
// and berth run's instance says the same.
const LocalInstanceType = "local"

// DefaultEngineAPIVersion is the Docker API version an instance's
// capabilities are named after when the engine's is not known.
const DefaultEngineAPIVersion = "1.41"

// The resources of an instance, by ECS's names.
const (
	resourceCPU      = "CPU"
	resourceMemory   = "MEMORY"
	resourcePorts    = "PORTS"
	resourcePortsUDP = "PORTS_UDP"
)

// RegisterContainerInstance registers an instance of the local engine with
// a cluster (the default cluster is created on first use, as ECS does). No
// instance identity document is needed. An instance that names its ARN is
// registered again under it, as a restarted ECS agent is. Missing CPU and
// memory come from the ecs.instance-type attribute's size, else from this
// machine's, as the ECS agent measures them.
func (c *Controller) RegisterContainerInstance(ctx context.Context, in *api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error) {
	return c.registerInstance(in, nil)
}

// EnsureContainerInstance (berth's own operation) registers a container
// instance of the server's engine, of its size and with the attributes
// given, only when the cluster has no instance that is not INACTIVE: the
// check and the registration are one store transaction, so that berth runs
// started at once on a cluster without instances register one between
// them, not one each.
func (c *Controller) EnsureContainerInstance(ctx context.Context, in *api.EnsureContainerInstanceInput) (*api.EnsureContainerInstanceOutput, error) {
	rec, err := c.instanceRecord(&api.RegisterContainerInstanceInput{Cluster: in.Cluster, Attributes: in.Attributes}, nil)
	if err != nil {
		return nil, err
	}
	stored, registered, err := c.store.RegisterFirstContainerInstance(rec, c.now())
	if err != nil {
		return nil, c.registrationError(err, rec.Cluster, rec.ID)
	}
	if !registered {
		return &api.EnsureContainerInstanceOutput{}, nil
	}
	c.instanceChanged(stored)
	return &api.EnsureContainerInstanceOutput{Registered: true, ContainerInstance: c.instance(stored, true)}, nil
}

// registerInstance registers an instance whose agent is remote (berth
// agent, which registers through its connection), or nil for the
// server's own engine.
func (c *Controller) registerInstance(in *api.RegisterContainerInstanceInput, remote *store.RemoteAgent) (*api.RegisterContainerInstanceOutput, error) {
	rec, err := c.instanceRecord(in, remote)
	if err != nil {
		return nil, err
	}
	// The load comes from the placement index, which holds each
	// instance's tasks, rather than from a walk over every task of the
	// cluster: an agent's Hello then costs what its instance holds.
	stored, err := c.store.RegisterContainerInstanceUnloaded(rec, c.now())
	if err != nil {
		return nil, c.registrationError(err, rec.Cluster, rec.ID)
	}
	if _, stored.Load, err = c.held.onInstance(c.store, stored.Cluster, stored.ID); err != nil {
		return nil, err
	}
	c.instanceChanged(stored)
	return &api.RegisterContainerInstanceOutput{ContainerInstance: c.instance(stored, true)}, nil
}

// instanceRecord is the instance a registration asks for, checked.
func (c *Controller) instanceRecord(in *api.RegisterContainerInstanceInput, remote *store.RemoteAgent) (store.ContainerInstance, error) {
	cluster, err := api.ClusterName(in.Cluster)
	if err != nil {
		return store.ContainerInstance{}, err
	}
	if err := checkTags("tags", in.Tags); err != nil {
		return store.ContainerInstance{}, err
	}
	id, err := registeringID(cluster, in.ContainerInstanceArn)
	if err != nil {
		return store.ContainerInstance{}, err
	}
	engineAPI := c.engineAPIVersion
	if remote != nil {
		// The instance's capabilities are its own engine's.
		engineAPI = remote.EngineAPIVersion
	}
	attrs, err := c.registeredAttributes(in.Attributes, engineAPI)
	if err != nil {
		return store.ContainerInstance{}, err
	}
	res, err := registeredResources(in.TotalResources, attrs[attrInstanceType], c.hostSize)
	if err != nil {
		return store.ContainerInstance{}, err
	}
	rec := store.ContainerInstance{
		Cluster:        cluster,
		ID:             id,
		EC2InstanceID:  "i-" + api.NewID()[:17],
		AgentConnected: true,
		Registered:     res,
		Attributes:     attrs,
		Tags:           in.Tags,
		Agent:          remote,
	}
	if in.VersionInfo != nil {
		rec.VersionInfo = store.VersionInfo(*in.VersionInfo)
	}
	if remote == nil && rec.VersionInfo.AgentVersion == "" {
		// The server is the agent of its own engine's instances.
		rec.VersionInfo.AgentVersion = c.opts.Version
	}
	return rec, nil
}

// registrationError is the API's error for a registration the store
// refused.
func (c *Controller) registrationError(err error, cluster, id string) error {
	var ofAgent *store.AgentInstanceError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return api.ClusterNotFoundException("")
	case errors.Is(err, store.ErrClusterInactive):
		return api.InvalidParameterException("The specified cluster is inactive. Specify an active cluster and try again.")
	case errors.Is(err, store.ErrInstanceInactive):
		return api.ClientException("Container instance %s is inactive.", id)
	case errors.As(err, &ofAgent):
		return api.ClientException("Container instance %s is run by the berth agent on host %s (engine %s), which alone registers it again; deregister it to register it through the API.",
			c.namer.ContainerInstance(cluster, id), ofAgent.Agent.Host, ofAgent.Agent.Engine)
	case errors.Is(err, store.ErrInstanceLocal):
		return api.ClientException("Container instance %s runs on berth server's own engine: a berth agent cannot register it as its own.", c.namer.ContainerInstance(cluster, id))
	case errors.Is(err, store.ErrNoHostAddress):
		return api.LimitExceededException("every loopback host address (127.0.0.2 to 127.0.255.254) is taken by a registered container instance")
	}
	return err
}

// registeringID is the ID of the instance containerInstanceArn names, or
// a new one.
func registeringID(cluster, arn string) (string, error) {
	if arn == "" {
		return api.NewID(), nil
	}
	named, id, err := api.ContainerInstanceRef(arn)
	if err != nil {
		return "", err
	}
	if named != "" && named != cluster {
		return "", api.InvalidParameterException("containerInstanceArn: %q is an instance of cluster %s, not of %s", arn, named, cluster)
	}
	return id, nil
}

// registeredAttributes checks the attributes of a registration by ECS's
// rules and adds the ones the ECS agent sets: the zone and instance type
// when not given, and the facts of this host and engine, which a caller
// cannot change.
func (c *Controller) registeredAttributes(in []api.Attribute, engineAPI string) (map[string]string, error) {
	if err := checkAttributes("attributes", in); err != nil {
		return nil, err
	}
	attrs := map[string]string{
		attrAvailabilityZone: c.region + "a",
		attrInstanceType:     LocalInstanceType,
	}
	for _, a := range in {
		attrs[a.Name] = a.Value
	}
	attrs[attrOSType] = "linux"
	attrs[attrOSFamily] = "LINUX"
	attrs[attrCPUArchitecture] = cpuArchitecture()
	caps, err := placement.Capabilities(engineAPI)
	if err != nil {
		return nil, fmt.Errorf("capabilities of the engine: %w", err)
	}
	for name, value := range caps {
		attrs[name] = value
	}
	if err := attributeLimit(attrs); err != nil {
		return nil, err
	}
	return attrs, nil
}

func checkAttributes(member string, in []api.Attribute) error {
	for i, a := range in {
		if err := checkAttribute(member, i, a.Name, a.Value); err != nil {
			return err
		}
	}
	return nil
}

// checkAttribute applies ECS's rules for attribute names and values.
func checkAttribute(member string, i int, name, value string) error {
	if err := scheduler.CheckAttribute(name, value); err != nil {
		return api.InvalidParameterException("%s[%d]: %v", member, i, err)
	}
	return nil
}

// cpuArchitecture is ecs.cpu-architecture of this machine, in ECS's words.
func cpuArchitecture() string {
	if runtime.GOARCH == "amd64" {
		return "x86_64"
	}
	return runtime.GOARCH
}

// registeredResources reads totalResources, adds ECS's reserved ports and
// fills the CPU and memory not given: from the instance type when it is
// not berth's own, else from size (this machine's).
func registeredResources(in []api.Resource, instanceType string, size func() (int64, int64)) (store.Resources, error) {
	var res store.Resources
	var haveCPU, haveMemory bool
	for i, r := range in {
		var err error
		switch r.Name {
		case resourceCPU:
			res.CPU, err = integerResource(i, r)
			haveCPU = true
		case resourceMemory:
			res.MemoryMiB, err = integerResource(i, r)
			haveMemory = true
		case resourcePorts:
			res.TCPPorts, err = portsResource(i, r)
		case resourcePortsUDP:
			res.UDPPorts, err = portsResource(i, r)
		default:
			err = api.InvalidParameterException("totalResources[%d].name: %q is not a resource berth registers: CPU, MEMORY, PORTS or PORTS_UDP", i, r.Name)
		}
		if err != nil {
			return store.Resources{}, err
		}
	}
	res.TCPPorts = mergePorts(res.TCPPorts, scheduler.DefaultReservedPorts)
	if len(res.TCPPorts) > scheduler.MaxReservedPorts || len(res.UDPPorts) > scheduler.MaxReservedPorts {
		return store.Resources{}, api.InvalidParameterException("totalResources: an instance reserves at most %d ports a protocol, ECS's reserved ones included", scheduler.MaxReservedPorts)
	}
	if haveCPU && haveMemory {
		return res, nil
	}
	cpu, memory := size()
	if instanceType != LocalInstanceType {
		t, err := placement.LookupInstanceType(instanceType)
		if err != nil {
			return store.Resources{}, api.InvalidParameterException("attributes: %s: %v", attrInstanceType, err)
		}
		cpu, memory = int64(t.CPU()), int64(t.MemoryMiB())
	}
	if !haveCPU {
		res.CPU = cpu
	}
	if !haveMemory {
		res.MemoryMiB = memory
	}
	return res, nil
}

func integerResource(i int, r api.Resource) (int64, error) {
	if r.Type != "" && r.Type != "INTEGER" {
		return 0, api.InvalidParameterException("totalResources[%d].type: %s is an INTEGER resource, not %s", i, r.Name, r.Type)
	}
	v := int64(r.IntegerValue)
	if v == 0 {
		v = r.LongValue
	}
	if v <= 0 || v > math.MaxInt32 {
		return 0, api.InvalidParameterException("totalResources[%d].integerValue: %s must be a whole number from 1 to %d, not %d", i, r.Name, math.MaxInt32, v)
	}
	return v, nil
}

func portsResource(i int, r api.Resource) ([]uint16, error) {
	if r.Type != "" && r.Type != "STRINGSET" {
		return nil, api.InvalidParameterException("totalResources[%d].type: %s is a STRINGSET resource, not %s", i, r.Name, r.Type)
	}
	ports := make([]uint16, 0, len(r.StringSetValue))
	for _, s := range r.StringSetValue {
		p, err := strconv.ParseUint(s, 10, 16)
		if err != nil || p == 0 {
			return nil, api.InvalidParameterException("totalResources[%d].stringSetValue: %q is not a port (1 to 65535)", i, s)
		}
		ports = append(ports, uint16(p))
	}
	return mergePorts(ports, nil), nil
}

// mergePorts is the sorted union of a and b.
func mergePorts(a, b []uint16) []uint16 {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// hostSize is this machine's CPU units (1024 a CPU) and MiB of memory, as
// the ECS agent reports its instance's.
func hostSize() (cpu, memoryMiB int64) {
	cpu = int64(runtime.NumCPU()) * 1024
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return cpu, 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return cpu, kib / 1024
		}
	}
	return cpu, 0
}

// instanceRef reads a container instance named by ID or ARN in cluster.
// An ARN of another cluster names an instance this cluster lacks.
func instanceRef(cluster, ref string) (id string, ok bool, err error) {
	named, id, err := api.ContainerInstanceRef(ref)
	if err != nil {
		return "", false, err
	}
	return id, named == "" || named == cluster, nil
}

// instanceNotFound is ECS's answer for an instance the cluster lacks.
func instanceNotFound(ref string) error {
	return api.InvalidParameterException("containerInstance: no container instance %s in the cluster", ref)
}

// findInstance reads the instance ref names in cluster; found is false
// when the cluster has no such instance.
func (c *Controller) findInstance(cluster, ref string) (rec store.ContainerInstance, found bool, err error) {
	id, ok, err := instanceRef(cluster, ref)
	if err != nil || !ok {
		return store.ContainerInstance{}, false, err
	}
	rec, err = c.shownInstance(cluster, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.ContainerInstance{}, false, nil
	}
	return rec, err == nil, err
}

// shownInstance reads instance id of cluster as the API shows it: the
// record, and its load from what placement finds held (placeIndex), so
// that the read costs what the instance holds, not what the cluster's
// tasks, stopped ones among them, number. A check that must hold when a
// change commits (a deregistration's) reads the load in the change's
// transaction instead (store.DeregisterContainerInstance).
func (c *Controller) shownInstance(cluster, id string) (store.ContainerInstance, error) {
	rec, err := c.store.ContainerInstanceUnloaded(cluster, id)
	if err != nil {
		return rec, err
	}
	_, rec.Load, err = c.held.onInstance(c.store, cluster, id)
	return rec, err
}

// shownInstances reads the instances of cluster as shownInstance does,
// with the groups of the tasks each holds, by instance ID.
func (c *Controller) shownInstances(cluster string) ([]store.ContainerInstance, map[string][]string, error) {
	recs, err := c.store.ContainerInstancesUnloaded(cluster)
	if err != nil {
		return nil, nil, err
	}
	held, err := c.held.loads(c.store, cluster)
	if err != nil {
		return nil, nil, err
	}
	groups := make(map[string][]string, len(held))
	for i := range recs {
		h := held[recs[i].ID]
		recs[i].Load, groups[recs[i].ID] = h.load, h.groups
	}
	return recs, groups, nil
}

// lookupInstance reads the instance ref names in cluster, which must have
// it.
func (c *Controller) lookupInstance(cluster, ref string) (store.ContainerInstance, error) {
	rec, found, err := c.findInstance(cluster, ref)
	if err == nil && !found {
		err = instanceNotFound(ref)
	}
	return rec, err
}

// existingCluster reads a cluster reference and checks that the cluster
// exists, ACTIVE or INACTIVE.
func (c *Controller) existingCluster(ref string) (string, error) {
	name, err := api.ClusterName(ref)
	if err != nil {
		return "", err
	}
	if _, err := c.store.Cluster(name); errors.Is(err, store.ErrNotFound) {
		return "", api.ClusterNotFoundException("")
	} else if err != nil {
		return "", err
	}
	return name, nil
}

// DeregisterContainerInstance makes an instance INACTIVE; it stays
// describable. Without force it refuses while tasks run or wait on the
// instance, as ECS does. Deregistering an INACTIVE instance answers it as
// it is.
func (c *Controller) DeregisterContainerInstance(ctx context.Context, in *api.DeregisterContainerInstanceInput) (*api.DeregisterContainerInstanceOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	rec, err := c.lookupInstance(cluster, in.ContainerInstance)
	if err != nil {
		return nil, err
	}
	if rec.Status != store.StatusInactive {
		rec, err = c.store.DeregisterContainerInstance(cluster, rec.ID, in.Force != nil && *in.Force, c.now())
		if err == nil {
			c.instanceChanged(rec)
			c.retireInstance(ctx, rec)
		}
	}
	switch {
	case errors.Is(err, store.ErrInstanceHasTasks):
		return nil, api.InvalidParameterException("Found running tasks on the instance. Specify force to deregister it; its tasks are then stopped.")
	case errors.Is(err, store.ErrInstanceInactive):
		rec, err = c.shownInstance(cluster, rec.ID)
	}
	if err != nil {
		return nil, err
	}
	return &api.DeregisterContainerInstanceOutput{ContainerInstance: c.instance(rec, true)}, nil
}

// DescribeContainerInstances describes instances by ID or ARN, INACTIVE
// ones too; one the cluster lacks is a failure with reason MISSING.
func (c *Controller) DescribeContainerInstances(ctx context.Context, in *api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	withTags, withHealth := false, false
	for i, v := range in.Include {
		switch v {
		case "TAGS":
			withTags = true
		case "CONTAINER_INSTANCE_HEALTH":
			// Only a berth agent's instance has a health berth keeps: its
			// engine's (remote.go).
			withHealth = true
		default:
			return nil, api.InvalidParameterException("include[%d]: %q is not one of TAGS, CONTAINER_INSTANCE_HEALTH", i, v)
		}
	}
	if err := checkBatch("containerInstances", len(in.ContainerInstances)); err != nil {
		return nil, err
	}
	out := &api.DescribeContainerInstancesOutput{ContainerInstances: []api.ContainerInstance{}, Failures: []api.Failure{}}
	for _, ref := range in.ContainerInstances {
		rec, found, err := c.findInstance(cluster, ref)
		if err != nil {
			return nil, err
		}
		if !found {
			out.Failures = append(out.Failures, api.Failure{Arn: c.instanceARN(cluster, ref), Reason: "MISSING"})
			continue
		}
		shown := c.instance(rec, withTags)
		if withHealth {
			shown.HealthStatus = c.remote.health(rec)
		}
		out.ContainerInstances = append(out.ContainerInstances, *shown)
	}
	return out, nil
}

// checkBatch bounds the instances of one call as ECS does: 1 to 100.
func checkBatch(member string, n int) error {
	if n == 0 || n > api.MaxResults {
		return api.InvalidParameterException("%s: %d named; name 1 to %d", member, n, api.MaxResults)
	}
	return nil
}

// instanceARN is the ARN of the instance ref names: ref itself when it is
// one.
func (c *Controller) instanceARN(cluster, ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return c.namer.ContainerInstance(cluster, ref)
}

// instanceStatuses are the statuses ListContainerInstances filters by:
// ECS's, and INACTIVE, which berth keeps for deregistered instances.
var instanceStatuses = []string{"ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED", "INACTIVE"}

// ListContainerInstances lists the ARNs of a cluster's instances in ID
// order: of one status, or every status but INACTIVE as ECS lists them,
// and those the filter, a cluster query expression, holds for.
func (c *Controller) ListContainerInstances(ctx context.Context, in *api.ListContainerInstancesInput) (*api.ListContainerInstancesOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Status != "" && !slices.Contains(instanceStatuses, in.Status) {
		return nil, api.InvalidParameterException("status: %q is not one of %s", in.Status, strings.Join(instanceStatuses, ", "))
	}
	var filter *query.Expr
	if in.Filter != "" {
		if filter, err = query.Parse(in.Filter); err != nil {
			return nil, api.InvalidParameterException("filter: %v", err)
		}
	}
	recs, groups, err := c.shownInstances(cluster)
	if err != nil {
		return nil, err
	}
	recs = slices.DeleteFunc(recs, func(r store.ContainerInstance) bool {
		if in.Status == "" && r.Status == store.StatusInactive || in.Status != "" && r.Status != in.Status {
			return true
		}
		return filter != nil && !filter.Match(instanceTarget{r, groups[r.ID]})
	})
	page, next, err := api.Paginate(recs, func(r store.ContainerInstance) string { return r.ID }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	arns := make([]string, 0, len(page))
	for _, r := range page {
		arns = append(arns, c.namer.ContainerInstance(r.Cluster, r.ID))
	}
	return &api.ListContainerInstancesOutput{ContainerInstanceArns: arns, NextToken: next}, nil
}

// UpdateContainerInstancesState sets instances ACTIVE or DRAINING. An
// instance the cluster lacks, or a deregistered one, is a failure.
func (c *Controller) UpdateContainerInstancesState(ctx context.Context, in *api.UpdateContainerInstancesStateInput) (*api.UpdateContainerInstancesStateOutput, error) {
	cluster, err := c.existingCluster(in.Cluster)
	if err != nil {
		return nil, err
	}
	if in.Status != store.StatusActive && in.Status != store.StatusDraining {
		return nil, api.InvalidParameterException("status: %q is not ACTIVE or DRAINING", in.Status)
	}
	if err := checkBatch("containerInstances", len(in.ContainerInstances)); err != nil {
		return nil, err
	}
	out := &api.UpdateContainerInstancesStateOutput{ContainerInstances: []api.ContainerInstance{}, Failures: []api.Failure{}}
	for _, ref := range in.ContainerInstances {
		id, ok, err := instanceRef(cluster, ref)
		if err != nil {
			return nil, err
		}
		rec, err := store.ContainerInstance{}, store.ErrNotFound
		changed := false
		if ok {
			rec, err = c.store.UpdateContainerInstance(cluster, id, func(r *store.ContainerInstance) (bool, error) {
				changed = r.Status != in.Status
				r.Status = in.Status
				return changed, nil
			})
		}
		if err == nil && changed {
			c.instanceChanged(rec)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			out.Failures = append(out.Failures, api.Failure{Arn: c.instanceARN(cluster, ref), Reason: "MISSING"})
		case errors.Is(err, store.ErrInstanceInactive):
			out.Failures = append(out.Failures, api.Failure{Arn: c.instanceARN(cluster, ref), Reason: "INACTIVE", Detail: "the container instance is deregistered"})
		case err != nil:
			return nil, err
		default:
			out.ContainerInstances = append(out.ContainerInstances, *c.instance(rec, false))
		}
	}
	return out, nil
}

// instance shows a record as DescribeContainerInstances does. Tags are
// shown when withTags.
func (c *Controller) instance(rec store.ContainerInstance, withTags bool) *api.ContainerInstance {
	out := &api.ContainerInstance{
		ContainerInstanceArn: c.namer.ContainerInstance(rec.Cluster, rec.ID),
		Ec2InstanceID:        rec.EC2InstanceID,
		Version:              rec.Version,
		VersionInfo:          (*api.VersionInfo)(&rec.VersionInfo),
		RegisteredResources:  resourceList(rec.Registered),
		RemainingResources:   resourceList(Remaining(rec.Registered, rec.Load)),
		Status:               rec.Status,
		AgentConnected:       rec.AgentConnected && rec.Status != store.StatusInactive,
		RunningTasksCount:    int32(rec.Load.Running),
		PendingTasksCount:    int32(rec.Load.Pending),
		Attributes:           attributeList(instanceAttributes(rec)),
		RegisteredAt:         api.Time(rec.RegisteredAt),
		BerthAgent:           c.remote.describe(rec),
	}
	if withTags {
		out.Tags = rec.Tags
		if out.Tags == nil {
			out.Tags = []api.Tag{}
		}
	}
	return out
}

// Remaining is what an instance has left for tasks: what it registered
// less what its tasks hold, ports taken by either.
func Remaining(registered store.Resources, load store.InstanceLoad) store.Resources {
	return store.Resources{
		CPU:       registered.CPU - load.Held.CPU,
		MemoryMiB: registered.MemoryMiB - load.Held.MemoryMiB,
		TCPPorts:  mergePorts(registered.TCPPorts, load.Held.TCPPorts),
		UDPPorts:  mergePorts(registered.UDPPorts, load.Held.UDPPorts),
	}
}

// resourceList shows resources in ECS's four Resource shapes.
func resourceList(r store.Resources) []api.Resource {
	return []api.Resource{
		{Name: resourceCPU, Type: "INTEGER", IntegerValue: int32(r.CPU)},
		{Name: resourceMemory, Type: "INTEGER", IntegerValue: int32(r.MemoryMiB)},
		{Name: resourcePorts, Type: "STRINGSET", StringSetValue: portStrings(r.TCPPorts)},
		{Name: resourcePortsUDP, Type: "STRINGSET", StringSetValue: portStrings(r.UDPPorts)},
	}
}

func portStrings(ports []uint16) []string {
	out := make([]string, 0, len(ports))
	for _, p := range ports {
		out = append(out, strconv.Itoa(int(p)))
	}
	return out
}

// attributeList shows attributes in name order.
func attributeList(attrs map[string]string) []api.Attribute {
	out := make([]api.Attribute, 0, len(attrs))
	for name, value := range attrs {
		out = append(out, api.Attribute{Name: name, Value: value})
	}
	slices.SortFunc(out, func(a, b api.Attribute) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// instanceTarget shows a stored instance to the cluster query language.
type instanceTarget struct {
	rec store.ContainerInstance
	// groups are those of the tasks that hold the instance, in order.
	groups []string
}

var _ query.Target = instanceTarget{}

func (t instanceTarget) AgentConnected() bool    { return t.rec.AgentConnected }
func (t instanceTarget) AgentVersion() string    { return t.rec.VersionInfo.AgentVersion }
func (t instanceTarget) EC2InstanceID() string   { return t.rec.EC2InstanceID }
func (t instanceTarget) RegisteredAt() time.Time { return t.rec.RegisteredAt }
func (t instanceTarget) RunningTasksCount() int  { return t.rec.Load.Running }
func (t instanceTarget) Attribute(name string) (string, bool) {
	if name == AttrHostAddress && t.rec.HostAddress != "" {
		return t.rec.HostAddress, true
	}
	v, ok := t.rec.Attributes[name]
	return v, ok
}

// HasTaskGroup and AnyTaskGroup see the groups of the tasks that hold the
// instance: those placed there and not STOPPED, as placement sees them.
func (t instanceTarget) HasTaskGroup(group string) bool {
	_, found := slices.BinarySearch(t.groups, group)
	return found
}

func (t instanceTarget) AnyTaskGroup(match func(string) bool) bool {
	return slices.ContainsFunc(t.groups, match)
}
