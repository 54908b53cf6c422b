package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// Fargate capacity is provisioned on the server's own engine: a task gets
// its zone, subnet, address and ENI from the provisioner, and an agent of
// the server runs it with its pause container at exactly that address, on
// a task network that holds the subnets (berth's VPC, 172.31.0.0/16, carved
// into one /20 per zone as a default VPC is).
const (
	// VPCNetwork is the engine network of Fargate tasks.
	VPCNetwork = "berth-vpc"
	// VPCCIDR is the address range of berth's VPC: the subnets are in it.
	VPCCIDR = "172.31.0.0/16"
	// fargateInstance names the server's Fargate agents among the engine's
	// containers (their labels), as an instance name names an agent.
	fargateInstance = "fargate"
	// vpcSpareRange is where the Fargate agents' spare pause containers
	// start, in berth's VPC but in none of its subnets, so no task is
	// ever given one of its addresses; a spare then waits off the network
	// and joins it at the address of the task that takes it (see
	// agent.Config.SpareRange).
	vpcSpareRange = "172.31.255.0/24"
	// DefaultFargateVCPUQuota is the account's Fargate On-Demand vCPU
	// quota, as AWS sets it by default.
	DefaultFargateVCPUQuota = 6
)

// capacity runs tasks on the server's engine: an agent per cluster, made
// when the cluster's first task comes.
type capacity struct {
	c        *Controller
	instance string       // the agents' instance name
	hostIP   string       // where its tasks' host ports bind; "" for 127.0.0.1
	slice    *agent.Slice // the container instance's share of the host; nil for Fargate
	network  string       // the awsvpc network, "" for the agent's default
	subnet   string
	// spares is where the agents' spare pause containers start when
	// every task comes with its address (Fargate); "" when a spare keeps
	// the address the engine gives it.
	spares string

	mu     sync.Mutex
	docker engine.Engine
	agents map[string]*agent.Agent
}

// errClosing: the controller is closing, and starts no agent.
var errClosing = errors.New("the server is closing")

// agentFor returns the agent of cluster, starting it (and following its
// tasks) on first use. Once the controller closes it starts none: Close
// has closed the agents it had, and one started after would be left
// running, its followers never ending.
func (k *capacity) agentFor(ctx context.Context, cluster string) (*agent.Agent, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.c.life.Err() != nil {
		return nil, errClosing
	}
	if a, ok := k.agents[cluster]; ok {
		return a, nil
	}
	if k.docker == nil {
		if k.c.opts.Docker == nil {
			return nil, fmt.Errorf("this server has no Docker engine to run tasks on")
		}
		d, err := k.c.opts.Docker()
		if err != nil {
			return nil, err
		}
		k.docker = d
	}
	serverID, err := k.c.store.ID()
	if err != nil {
		return nil, err
	}
	if k.network != "" {
		if err := k.networkIsOurs(ctx, serverID); err != nil {
			return nil, err
		}
	}
	// The metadata endpoint keeps its port across servers, so that the
	// tasks this agent recovers still reach theirs.
	portKey := k.instance + "/" + cluster
	port, err := k.c.store.MetadataPort(portKey)
	if err != nil {
		return nil, err
	}
	a, err := agent.New(ctx, agent.Config{
		Docker:       k.docker,
		MetadataPort: port,
		Slice:        k.slice,
		CgroupRoot:   k.c.opts.CgroupRoot,
		Cluster:      cluster,
		Region:       k.c.namer.Region,
		AccountID:    k.c.namer.AccountID,
		Instance:     k.instance,
		HostIP:       cmp.Or(k.hostIP, "127.0.0.1"),
		TaskNetwork:  k.network,
		TaskSubnet:   k.subnet,
		CleanupWait:  k.c.opts.CleanupWait,
		BinaryPath:   k.c.opts.BinaryPath,
		PullProgress: k.c.opts.Progress,
		SparePause:   true,
		SpareRange:   k.spares,
		Labels:       map[string]string{labelServer: serverID},
		Logf:         k.c.opts.Logf,
	})
	if err != nil {
		return nil, fmt.Errorf("start the agent of cluster %s: %w", cluster, err)
	}
	if k.agents == nil {
		k.agents = map[string]*agent.Agent{}
	}
	k.agents[cluster] = a
	k.keepMetadataPort(ctx, a, portKey, port)
	if k.slice != nil && a.CgroupDriver() == "systemd" {
		k.c.systemdSlices.Do(func() {
			k.c.opts.Logf("the engine uses the systemd cgroup driver: container instances' registered CPU and memory are counted by placement, not enforced as cgroup slices of the host")
		})
	}
	changes, _ := a.Subscribe(256)
	k.c.wg.Add(1)
	go func() {
		defer k.c.wg.Done()
		for ch := range changes {
			// Those that came while the last were being recorded go
			// together, in one transaction.
			states := []agent.TaskState{ch.Task}
			for more := true; more; {
				select {
				case ch, ok := <-changes:
					if ok {
						states = append(states, ch.Task)
					}
					more = ok
				default:
					more = false
				}
			}
			k.c.observe(cluster, states...)
		}
	}()
	// What the agent found on the engine, and what it did not.
	k.c.adopt(cluster, k.instance, a, k.docker)
	return a, nil
}

// keepMetadataPort starts the agent's task metadata endpoint now and
// records its port when it is not the one recorded: the first time, or
// when the recorded one was taken.
func (k *capacity) keepMetadataPort(ctx context.Context, a *agent.Agent, key string, recorded int) {
	base, err := a.MetadataEndpoint(ctx)
	if err != nil {
		k.c.opts.Logf("the task metadata endpoint of %s: %v", key, err)
		return
	}
	u, err := url.Parse(base)
	if err != nil {
		k.c.opts.Logf("the task metadata endpoint of %s: %v", key, err)
		return
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port == recorded {
		return
	}
	if err := k.c.store.SetMetadataPort(key, port); err != nil {
		k.c.opts.Logf("%v", err)
	}
}

// labelServer, on what a server's agents make, names the server's store.
const labelServer = "berth.server"

// networkIsOurs refuses a task network that another berth server on the
// engine made and still uses: each server gives Fargate addresses from its
// own provisioner, and two on one network would give the same address
// twice.
func (k *capacity) networkIsOurs(ctx context.Context, serverID string) error {
	info, err := k.docker.NetworkInspect(ctx, k.network, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect network %s: %w", k.network, err)
	}
	if owner := info.Labels[labelServer]; owner != "" && owner != serverID && len(info.Containers) > 0 {
		return fmt.Errorf("network %s (%s) is in use by another berth server on this engine; one server at a time runs Fargate tasks on an engine", k.network, k.subnet)
	}
	return nil
}

// close ends the agents; their tasks keep running for the next server.
func (k *capacity) close() {
	k.mu.Lock()
	agents := k.agents
	k.agents = nil
	k.mu.Unlock()
	for _, a := range agents {
		a.Close()
	}
}

// removeSlice removes the instance's slice of the host, its instance
// deregistered: through the agent that made it, or, when none runs, found
// by its name.
func (k *capacity) removeSlice(ctx context.Context, cluster string, closed *agent.Agent) {
	if k.slice == nil {
		return
	}
	var err error
	switch {
	case closed != nil:
		err = closed.RemoveSlice(ctx)
	case k.c.opts.Docker != nil:
		var d engine.Engine
		if d, err = k.c.opts.Docker(); err == nil {
			err = agent.RemoveInstanceSlice(ctx, agent.Config{Docker: d, Cluster: cluster, Instance: k.instance, Slice: k.slice,
				CgroupRoot: k.c.opts.CgroupRoot, BinaryPath: k.c.opts.BinaryPath, Labels: map[string]string{}})
		}
	}
	if err != nil {
		k.c.opts.Logf("remove the slice of container instance %s (it is removed at the server's next start): %v", k.instance, err)
	}
}

// newProvisioner is the Fargate provisioner of berth's VPC.
func newProvisioner(quota int) (*fargate.Provisioner, error) {
	subnets := fargate.DefaultSubnets(DefaultRegion)
	// A task given an address of the spares' range would share it with a
	// spare starting there.
	spares := netip.MustParsePrefix(vpcSpareRange)
	for _, s := range subnets {
		if s.CIDR.Overlaps(spares) {
			return nil, fmt.Errorf("subnet %s (%s) overlaps %s, where spare pause containers start", s.ID, s.CIDR, spares)
		}
	}
	return fargate.New(fargate.Config{
		Subnets:   subnets,
		VCPULimit: quota,
		ValidSize: taskdef.ValidFargateSize,
	})
}

// capacityOf reads a task's Fargate capacity back from its runtime record.
func capacityOf(arn string, rt taskRuntime) (fargate.Capacity, bool) {
	addr, err := netip.ParseAddr(rt.Address)
	if err != nil || rt.Subnet == "" {
		return fargate.Capacity{}, false
	}
	return fargate.Capacity{TaskARN: arn, Group: rt.Group, CPU: rt.CPU, MemoryMiB: rt.MemoryMiB,
		AvailabilityZone: rt.Zone, SubnetID: rt.Subnet, ENI: rt.ENI, PrivateIPv4: addr}, true
}
