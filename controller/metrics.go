package controller

import (
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/metrics"
	"github.com/berthdev/berth/taskdef"
)

// MetricsState is the controller as the metrics' gauges read it at each
// scrape.
func (c *Controller) MetricsState() metrics.State { return metricsState{c} }

type metricsState struct{ c *Controller }

// Snapshot sums the store's tasks and instances: the counts of tasks by
// cluster, launch type and status; each instance's registered, remaining
// and used resources and each cluster's reservation and utilization; what
// the running tasks use against what they reserve, by the last round of
// stats; the Fargate capacity in use; and what it all would have cost on
// AWS so far.
func (s metricsState) Snapshot() metrics.Snapshot {
	c := s.c
	snap := metrics.Snapshot{Cost: map[string]float64{taskdef.LaunchEC2: 0, taskdef.LaunchFargate: 0}}
	in := c.fargateInUse()
	snap.Fargate = metrics.Fargate{VCPUs: in.VCPUs, VCPULimit: in.VCPULimit, MiB: in.MiB}
	bill := api.Billing{Now: c.now()}

	type key struct{ cluster, launchType, status string }
	counts := map[key]int{}
	tasks, err := c.store.Tasks("", nil)
	if err != nil {
		c.opts.Logf("metrics: %v", err)
		return snap
	}
	for _, rec := range tasks {
		counts[key{rec.Cluster, rec.LaunchType, rec.LastStatus}]++
		if rec.LaunchType != taskdef.LaunchFargate {
			continue
		}
		if t, ok := billedTask(rec); ok {
			bill.FargateTasks = append(bill.FargateTasks, t)
		}
	}
	for k, n := range counts {
		snap.Tasks = append(snap.Tasks, metrics.TaskCount{Cluster: k.cluster, LaunchType: k.launchType, Status: k.status, Count: n})
	}

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

	clusters, err := c.store.Clusters(store.StatusActive)
	if err != nil {
		return snap
	}
	for _, cl := range clusters {
		instances, err := c.store.ContainerInstances(cl.Name)
		if err != nil {
			continue
		}
		sum := metrics.Cluster{Name: cl.Name}
		for _, in := range instances {
			bill.Instances = append(bill.Instances, billedInstance(in))
			if in.Status == store.StatusInactive {
				continue
			}
			left := Remaining(in.Registered, in.Load)
			u := byInstance[cl.Name+"/"+in.ID]
			snap.Instances = append(snap.Instances, metrics.Instance{Cluster: cl.Name, ID: in.ID,
				RegisteredCPU: int(in.Registered.CPU), RemainingCPU: int(left.CPU), UsedCPU: u.cpu,
				RegisteredMiB: int(in.Registered.MemoryMiB), RemainingMiB: int(left.MemoryMiB), UsedMiB: u.mib})
			sum.RegisteredCPU += int(in.Registered.CPU)
			sum.RegisteredMiB += int(in.Registered.MemoryMiB)
			sum.ReservedCPU += int(in.Load.Held.CPU)
			sum.ReservedMiB += int(in.Load.Held.MemoryMiB)
			sum.UsedCPU += u.cpu
			sum.UsedMiB += u.mib
		}
		snap.Clusters = append(snap.Clusters, sum)
	}
	priced := bill.Priced(cost.Default())
	snap.Cost[taskdef.LaunchFargate] = priced.Fargate.Dollars
	snap.Cost[taskdef.LaunchEC2] = priced.EC2.Dollars
	return snap
}
