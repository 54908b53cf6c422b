package controller

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

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
	snap.Fargate.VCPULimit = float64(c.opts.FargateVCPUQuota)
	bill := api.Billing{Now: c.now()}

	// The tasks' heads say all but when a Fargate task's pull started,
	// which its body says; heads are decoded once and kept, with the pull
	// start once read, so a scrape decodes only what changed since the
	// last.
	heads, err := c.heads.read(c.store)
	if err != nil {
		c.opts.Logf("metrics: %v", err)
		return snap
	}
	type key struct{ cluster, launchType, status string }
	counts := map[key]int{}
	for _, h := range heads {
		rec := h.rec
		counts[key{rec.Cluster, rec.LaunchType, rec.LastStatus}]++
		if rec.LaunchType != taskdef.LaunchFargate || h.rt == nil {
			continue
		}
		if rec.LastStatus != "STOPPED" {
			snap.Fargate.VCPUs += float64(h.rt.CPU) / 1024
			snap.Fargate.MiB += h.rt.MemoryMiB
		}
		if h.start == nil || h.start.start.IsZero() {
			continue // not billed (yet)
		}
		t := api.BilledTask{ID: h.rec.ID, CPU: h.rt.CPU, MemoryMiB: h.rt.MemoryMiB, StorageGB: h.start.storageGB,
			Spot: h.rt.Capacity == "FARGATE_SPOT", Start: h.start.start}
		if h.rec.StoppedAt != nil {
			t.End = *h.rec.StoppedAt
		}
		bill.FargateTasks = append(bill.FargateTasks, t)
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

// headCache keeps the tasks' heads as the last scrape decoded them, in the
// store's key order, beside the bytes they were decoded from: the next
// scrape walks the store and its cache side by side and decodes only the
// heads whose bytes changed. A task's pull start, read from its body, is
// kept with it, as it never changes once the pull has started.
type headCache struct {
	mu    sync.Mutex
	heads []*cachedHead
}

type cachedHead struct {
	key, raw []byte
	rec      store.Task
	rt       *taskRuntime // Fargate tasks'
	start    *billedStart // once known
}

// billedStart is when a task's pull started (zero: it never did, and the
// task has stopped) and its ephemeral storage.
type billedStart struct {
	start     time.Time
	storageGB int
}

// read returns the store's task heads, decoding those that changed. The
// cache is not locked while the store is read, and the heads it holds are
// never changed, only replaced: two scrapes at once each decode what they
// must.
func (hc *headCache) read(st *store.Store) ([]*cachedHead, error) {
	hc.mu.Lock()
	prev := hc.heads
	hc.mu.Unlock()
	next := make([]*cachedHead, 0, len(prev))
	i := 0
	err := st.EachTaskHead(func(key, raw []byte) {
		for i < len(prev) && bytes.Compare(prev[i].key, key) < 0 {
			i++ // a task the store no longer holds
		}
		var old *cachedHead
		if i < len(prev) && bytes.Equal(prev[i].key, key) {
			old = prev[i]
			i++
			if bytes.Equal(old.raw, raw) {
				next = append(next, old)
				return
			}
		}
		fresh := &cachedHead{key: bytes.Clone(key), raw: bytes.Clone(raw)}
		if json.Unmarshal(raw, &fresh.rec) != nil {
			return
		}
		if fresh.rec.LaunchType == taskdef.LaunchFargate {
			var rt taskRuntime
			if json.Unmarshal(fresh.rec.Runtime, &rt) == nil {
				fresh.rt = &rt
			}
		}
		if old != nil {
			fresh.start = old.start
		}
		next = append(next, fresh)
	})
	if err != nil {
		return nil, err
	}
	// The Fargate tasks whose pull start is not known yet: their bodies
	// are read, by cluster in one read each; their heads are copied before
	// they are changed.
	unknown := map[string]map[string]int{} // cluster → task ID → index in next
	for n, h := range next {
		if h.rt != nil && h.start == nil {
			if unknown[h.rec.Cluster] == nil {
				unknown[h.rec.Cluster] = map[string]int{}
			}
			unknown[h.rec.Cluster][h.rec.ID] = n
		}
	}
	for cluster, byID := range unknown {
		ids := make([]string, 0, len(byID))
		for id := range byID {
			ids = append(ids, id)
		}
		recs, err := st.TasksByID(cluster, ids)
		if err != nil {
			return nil, err
		}
		for id, rec := range recs {
			start := &billedStart{} // stopped before its pull: never billed, never read again
			if t, ok := billedTask(rec); ok {
				start = &billedStart{start: t.Start, storageGB: t.StorageGB}
			} else if rec.LastStatus != "STOPPED" {
				continue // its pull has not started yet
			}
			copied := *next[byID[id]]
			copied.start = start
			next[byID[id]] = &copied
		}
	}
	hc.mu.Lock()
	hc.heads = next
	hc.mu.Unlock()
	return next, nil
}
