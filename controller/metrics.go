package controller

import (
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/metrics"
	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// MetricLabels are the label values the controller counts with, from the
// constants it counts with, for metrics.New to start their series at zero:
// the operations Register serves; the two launch types; the statuses a
// task enters (PENDING to STOPPED: PROVISIONING is where a Fargate or
// awsvpc task begins, never a status it changes to); the agent's stop
// codes; and the reasons a placement fails for: an EC2 task's, the
// scheduler's and StartTask's own for an instance that takes no task, a
// Fargate task's, the provisioner's.
func MetricLabels() metrics.Labels {
	var statuses, stopCodes, ec2Failures []string
	for s := agent.TaskPending; s <= agent.TaskStopped; s++ {
		statuses = append(statuses, s.String())
	}
	for _, code := range agent.StopCodes {
		stopCodes = append(stopCodes, string(code))
	}
	for _, reason := range scheduler.Reasons {
		ec2Failures = append(ec2Failures, string(reason))
	}
	return metrics.Labels{
		Operations:  Operations,
		LaunchTypes: []string{taskdef.LaunchEC2, taskdef.LaunchFargate},
		Statuses:    statuses,
		StopCodes:   stopCodes,
		PlacementFailures: map[string][]string{
			taskdef.LaunchEC2:     append(ec2Failures, reasonInactive, reasonDraining),
			taskdef.LaunchFargate: fargate.Reasons,
		},
	}
}

// MetricsState is the controller as the metrics' gauges read it at each
// scrape.
func (c *Controller) MetricsState() metrics.State { return metricsState{c} }

type metricsState struct{ c *Controller }

// Snapshot reads the sums the controller keeps of its tasks as they
// change (taskIndex), and the instances of the ACTIVE clusters: the counts
// of tasks by cluster, launch type and status; each instance's registered,
// remaining and used resources and each cluster's reservation and
// utilization; what the running tasks use against what they reserve, by
// the last round of stats; the Fargate capacity in use; and what it all
// would have cost on AWS so far. Its cost grows with the instances, never
// with the tasks.
func (s metricsState) Snapshot() metrics.Snapshot {
	c := s.c
	snap := metrics.Snapshot{Cost: map[string]float64{taskdef.LaunchEC2: 0, taskdef.LaunchFargate: 0}}
	snap.Fargate.VCPULimit = float64(c.opts.FargateVCPUQuota)
	if err := c.index.ensure(c.store); err != nil {
		c.opts.Logf("metrics: %v", err)
		return snap
	}
	now := c.now()
	type activeCluster struct {
		name      string
		instances []store.ContainerInstance
	}
	var active []activeCluster
	if clusters, err := c.store.Clusters(store.StatusActive); err == nil {
		for _, cl := range clusters {
			instances, err := c.store.ContainerInstancesUnloaded(cl.Name)
			if err != nil {
				continue
			}
			active = append(active, activeCluster{cl.Name, instances})
		}
	}
	prices := *c.opts.Prices
	sums := c.index.sums(prices, now)
	for k, n := range sums.counts {
		snap.Tasks = append(snap.Tasks, metrics.TaskCount{Cluster: k.cluster, LaunchType: k.launchType, Status: k.status, Count: n})
	}
	snap.Fargate.VCPUs = float64(sums.fargateCPU) / 1024
	snap.Fargate.MiB = sums.fargateMiB
	snap.Cost[taskdef.LaunchFargate] = sums.fargateDollars

	// The last round's usage, summed by cluster and launch type, and by
	// instance for the EC2 tasks.
	type usageKey struct{ cluster, launchType string }
	byLaunchType := map[usageKey]*metrics.Usage{}
	type used struct{ cpu, mib float64 }
	byInstance := map[string]used{}
	usage, _ := c.usage.usage()
	for _, u := range usage {
		k := usageKey{u.cluster, u.launchType}
		sum := byLaunchType[k]
		if sum == nil {
			sum = &metrics.Usage{Cluster: u.cluster, LaunchType: u.launchType}
			byLaunchType[k] = sum
		}
		sum.UsedCPU += u.usedCPU
		sum.UsedMiB += u.usedMiB
		sum.ReservedCPU += u.reservedCPU
		sum.ReservedMiB += u.reservedMiB
		if u.launchType != taskdef.LaunchFargate {
			k := u.cluster + "/" + u.instance
			byInstance[k] = used{byInstance[k].cpu + u.usedCPU, byInstance[k].mib + u.usedMiB}
		}
	}
	for _, sum := range byLaunchType {
		snap.Usage = append(snap.Usage, *sum)
	}

	var billed []cost.Instance
	for _, cl := range active {
		sum := metrics.Cluster{Name: cl.name}
		for _, in := range cl.instances {
			b := billedInstance(in)
			billed = append(billed, cost.Instance{InstanceType: b.InstanceType, Start: b.Start, End: endOrNow(b.End, now)})
			if in.Status == store.StatusInactive {
				continue
			}
			held := sums.held[instanceKey{cl.name, in.ID}]
			u := byInstance[cl.name+"/"+in.ID]
			snap.Instances = append(snap.Instances, metrics.Instance{Cluster: cl.name, ID: in.ID,
				RegisteredCPU: int(in.Registered.CPU), RemainingCPU: int(in.Registered.CPU - held.cpu), UsedCPU: u.cpu,
				RegisteredMiB: int(in.Registered.MemoryMiB), RemainingMiB: int(in.Registered.MemoryMiB - held.mib), UsedMiB: u.mib})
			sum.RegisteredCPU += int(in.Registered.CPU)
			sum.RegisteredMiB += int(in.Registered.MemoryMiB)
			sum.ReservedCPU += int(held.cpu)
			sum.ReservedMiB += int(held.mib)
			sum.UsedCPU += u.cpu
			sum.UsedMiB += u.mib
		}
		snap.Clusters = append(snap.Clusters, sum)
	}
	snap.Cost[taskdef.LaunchEC2] = prices.Bill(nil, billed).EC2.Dollars
	names := make([]string, 0, len(active))
	for _, cl := range active {
		names = append(names, cl.name)
	}
	snap.Agents = c.remote.connected(names)
	return snap
}

// endOrNow is end, or now for what has not ended.
func endOrNow(end, now time.Time) time.Time {
	if end.IsZero() {
		return now
	}
	return end
}
