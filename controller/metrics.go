package controller

import (
	"encoding/json"

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
// cluster, launch type and status; each instance's registered and
// remaining resources and each cluster's reservation; the Fargate
// capacity in use; and what it all would have cost on AWS so far.
func (s metricsState) Snapshot() metrics.Snapshot {
	c := s.c
	now := c.now()
	prices := cost.Default()
	snap := metrics.Snapshot{Cost: map[string]float64{taskdef.LaunchEC2: 0, taskdef.LaunchFargate: 0}}
	snap.Fargate.VCPULimit = float64(c.opts.FargateVCPUQuota)

	type key struct{ cluster, launchType, status string }
	counts := map[key]int{}
	// One task at a time, its body read where it is stored: a scrape
	// holds one task in memory, not every task the store keeps.
	err := c.store.EachTask("", func(rec *store.Task) error {
		counts[key{rec.Cluster, rec.LaunchType, rec.LastStatus}]++
		if rec.LaunchType != taskdef.LaunchFargate {
			return nil
		}
		var rt taskRuntime
		if json.Unmarshal(rec.Runtime, &rt) != nil {
			return nil
		}
		if rec.LastStatus != "STOPPED" {
			snap.Fargate.VCPUs += float64(rt.CPU) / 1024
			snap.Fargate.MiB += rt.MemoryMiB
		}
		var t struct {
			PullStartedAt api.Timestamp `json:"pullStartedAt"`
		}
		if json.Unmarshal(rec.Body, &t) != nil {
			return nil
		}
		start, end := t.PullStartedAt.Time, now
		if start.IsZero() {
			return nil // billed from the image pull on
		}
		if rec.StoppedAt != nil {
			end = *rec.StoppedAt
		}
		snap.Cost[taskdef.LaunchFargate] += prices.Fargate(cost.FargateTask{CPU: rt.CPU, MemoryMiB: rt.MemoryMiB,
			Spot: rt.Capacity == "FARGATE_SPOT", Start: start, End: end})
		return nil
	})
	if err != nil {
		c.opts.Logf("metrics: %v", err)
		return snap
	}
	for k, n := range counts {
		snap.Tasks = append(snap.Tasks, metrics.TaskCount{Cluster: k.cluster, LaunchType: k.launchType, Status: k.status, Count: n})
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
			if in.Status != store.StatusInactive {
				left := Remaining(in.Registered, in.Load)
				snap.Instances = append(snap.Instances, metrics.Instance{Cluster: cl.Name, ID: in.ID,
					RegisteredCPU: int(in.Registered.CPU), RemainingCPU: int(left.CPU),
					RegisteredMiB: int(in.Registered.MemoryMiB), RemainingMiB: int(left.MemoryMiB)})
				sum.RegisteredCPU += int(in.Registered.CPU)
				sum.RegisteredMiB += int(in.Registered.MemoryMiB)
				sum.ReservedCPU += int(in.Load.Held.CPU)
				sum.ReservedMiB += int(in.Load.Held.MemoryMiB)
			}
			end := now
			if in.DeregisteredAt != nil {
				end = *in.DeregisteredAt
			}
			if dollars, err := prices.EC2(cost.Instance{InstanceType: in.Attributes["ecs.instance-type"], Start: in.RegisteredAt, End: end}); err == nil {
				snap.Cost[taskdef.LaunchEC2] += dollars
			}
		}
		snap.Clusters = append(snap.Clusters, sum)
	}
	return snap
}
