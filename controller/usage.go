package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/taskdef"
)

// The running tasks' use of CPU and memory comes from the engine's
// one-shot stats of their containers, sampled in rounds: CloudWatch's
// CPUUtilization and MemoryUtilization are what a task uses over what it
// reserves, and a cluster's what its tasks use over what its instances
// register.
//
//	every UsageInterval ─► the store's RUNNING tasks (at most maxSampledTasks)
//	  ─► ContainerStatsOneShot of each container, usageConcurrency at once,
//	     each within statsDeadline
//	  ─► CPU: the cpu_stats delta since the last round's, over the host's,
//	     × online CPUs × 1024; memory: usage less page cache
//	  ─► the round's usage replaces the last (tasks no longer running drop out)
//
// A task is never a metric label: the gauges sum the usage by cluster,
// launch type and instance; berth top reads it task by task from Top.
const (
	// DefaultUsageInterval is how often the stats are sampled.
	DefaultUsageInterval = 2 * time.Second
	// usageConcurrency bounds the stats calls in flight at once, so a
	// round with many tasks does not crowd the engine.
	usageConcurrency = 4
	// statsDeadline bounds one stats call, its answer and its body.
	statsDeadline = 5 * time.Second
	// maxSampledTasks bounds a round: a server holding more running tasks
	// samples the first ones by cluster and ID.
	maxSampledTasks = 500
)

// taskUsage is what a running task reserves and uses.
type taskUsage struct {
	cluster, id, taskDefinition, launchType string
	instance                                string // container instance ID, EC2
	reservedCPU, reservedMiB                int
	usedCPU, usedMiB                        float64 // CPU units, MiB
	// sampled: usedCPU is known (it takes two samples of each container).
	sampled bool
}

// usageSampler keeps the last round's usage, and each container's last
// CPU counters, the "precpu" of its next sample.
type usageSampler struct {
	mu        sync.Mutex
	tasks     map[string]taskUsage // by cluster + "/" + task ID
	sampledAt time.Time

	// inRound is set while a round is under way: only that round reads
	// and writes docker and prevCPU.
	inRound atomic.Bool
	docker  engine.Engine
	prevCPU map[string]container.CPUStats // by Docker ID
}

// usage returns the last round's usage of the tasks, and when it was
// taken.
func (s *usageSampler) usage() ([]taskUsage, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]taskUsage, 0, len(s.tasks))
	for _, u := range s.tasks {
		out = append(out, u)
	}
	return out, s.sampledAt
}

// sampleUsage samples the stats every interval until ctx ends.
func (c *Controller) sampleUsage(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := c.SampleUsage(ctx); err != nil && ctx.Err() == nil {
			c.opts.Logf("usage of running tasks: %v", err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// sampledContainer is one container of a task whose stats a round asks
// for.
type sampledContainer struct {
	task     string // cluster + "/" + task ID
	dockerID string
	cpu      container.CPUStats
	usedMiB  float64
	cpuUnits float64
	cpuKnown bool
	err      error
}

// SampleUsage takes one round of the running tasks' stats now; Start takes
// one every UsageInterval. It connects to the engine only once some task
// runs. Rounds do not overlap: while one is under way, another call
// returns at once, having taken none.
func (c *Controller) SampleUsage(ctx context.Context) error {
	s := &c.usage
	if !s.inRound.CompareAndSwap(false, true) {
		return nil
	}
	defer s.inRound.Store(false)
	recs, err := c.runningTasks("", maxSampledTasks)
	if err != nil {
		return err
	}
	tasks := make(map[string]taskUsage, len(recs))
	var containers []*sampledContainer
	for _, rec := range recs {
		u, dockerIDs, err := usageOf(rec)
		if err != nil {
			c.opts.Logf("usage of task %s: %v", rec.ID, err)
			continue
		}
		key := rec.Cluster + "/" + rec.ID
		u.sampled = len(dockerIDs) > 0
		tasks[key] = u
		for _, id := range dockerIDs {
			containers = append(containers, &sampledContainer{task: key, dockerID: id})
		}
	}
	if len(containers) > 0 && s.docker == nil {
		if c.opts.Docker == nil {
			return nil
		}
		if s.docker, err = c.opts.Docker(); err != nil {
			return err
		}
	}

	sem := make(chan struct{}, usageConcurrency)
	var wg sync.WaitGroup
	for _, sc := range containers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			stats, err := containerStats(ctx, s.docker, sc.dockerID)
			if err != nil {
				sc.err = err
				return
			}
			sc.cpu, sc.usedMiB = stats.CPUStats, memoryUsedBytes(stats.MemoryStats)/(1<<20)
			pre := stats.PreCPUStats
			if prev, ok := s.prevCPU[sc.dockerID]; ok {
				pre = prev
			}
			sc.cpuUnits, sc.cpuKnown = cpuUnitsUsed(stats.CPUStats, pre)
		}()
	}
	wg.Wait()

	prevCPU := make(map[string]container.CPUStats, len(containers))
	for _, sc := range containers {
		u, ok := tasks[sc.task]
		if !ok {
			continue
		}
		if sc.err != nil {
			// A container that stopped since the store was read has no
			// stats: its task is stopping, and leaves the next round.
			delete(tasks, sc.task)
			continue
		}
		prevCPU[sc.dockerID] = sc.cpu
		u.usedCPU += sc.cpuUnits
		u.usedMiB += sc.usedMiB
		u.sampled = u.sampled && sc.cpuKnown
		tasks[sc.task] = u
	}
	s.prevCPU = prevCPU
	s.mu.Lock()
	s.tasks, s.sampledAt = tasks, c.now()
	s.mu.Unlock()
	return nil
}

// runningTasks are the RUNNING tasks of cluster ("" for every cluster),
// whole, by cluster then ID, at most limit of them (-1: all). The sums the
// controller keeps of its tasks say which they are, so only their records
// are read.
func (c *Controller) runningTasks(cluster string, limit int) ([]store.Task, error) {
	if err := c.index.ensure(c.store); err != nil {
		return nil, err
	}
	clusters, ids := c.index.runningIDs(cluster, limit)
	var out []store.Task
	for _, cl := range clusters {
		recs, err := c.store.TasksByID(cl, ids[cl])
		if err != nil {
			return nil, err
		}
		for _, id := range ids[cl] {
			if rec, ok := recs[id]; ok && rec.LastStatus == "RUNNING" {
				out = append(out, rec)
			}
		}
	}
	return out, nil
}

// usageOf is what a running task reserves, and the Docker IDs of its
// running containers.
func usageOf(rec store.Task) (taskUsage, []string, error) {
	var t api.Task
	if err := json.Unmarshal(rec.Body, &t); err != nil {
		return taskUsage{}, nil, err
	}
	u := taskUsage{cluster: rec.Cluster, id: rec.ID, launchType: rec.LaunchType, instance: rec.Instance,
		taskDefinition: familyRevision(t.TaskDefinitionArn)}
	if rec.LaunchType == taskdef.LaunchFargate {
		var rt taskRuntime
		if err := json.Unmarshal(rec.Runtime, &rt); err != nil {
			return taskUsage{}, nil, err
		}
		u.reservedCPU, u.reservedMiB = rt.CPU, rt.MemoryMiB
	} else {
		u.reservedCPU, u.reservedMiB = int(rec.Holds.CPU), int(rec.Holds.MemoryMiB)
	}
	var ids []string
	for _, ct := range t.Containers {
		if ct.RuntimeID != "" && ct.LastStatus == "RUNNING" {
			ids = append(ids, ct.RuntimeID)
		}
	}
	return u, ids, nil
}

// familyRevision is "family:revision" of a task definition's ARN.
func familyRevision(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}

// containerStats is the engine's one-shot stats of a container.
func containerStats(ctx context.Context, docker engine.Engine, id string) (container.StatsResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, statsDeadline)
	defer cancel()
	resp, err := docker.ContainerStatsOneShot(ctx, id)
	if err != nil {
		return container.StatsResponse{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	defer resp.Body.Close()
	var stats container.StatsResponse
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		return container.StatsResponse{}, fmt.Errorf("stats of container %s: %w", id, err)
	}
	return stats, nil
}

// cpuUnitsUsed is the CPU a container used between two samples, in CPU
// units (1024 a core), as docker stats computes its CPU %: the container's
// CPU time over the host's, times the host's CPUs. It is unknown (false)
// without an earlier sample, or when the counters went back (a restart).
func cpuUnitsUsed(cur, pre container.CPUStats) (float64, bool) {
	if pre.SystemUsage == 0 || cur.SystemUsage <= pre.SystemUsage || cur.CPUUsage.TotalUsage < pre.CPUUsage.TotalUsage {
		return 0, false
	}
	cpus := float64(cur.OnlineCPUs)
	if cpus == 0 {
		cpus = float64(len(cur.CPUUsage.PercpuUsage))
	}
	used := float64(cur.CPUUsage.TotalUsage-pre.CPUUsage.TotalUsage) / float64(cur.SystemUsage-pre.SystemUsage)
	return used * cpus * 1024, true
}

// memoryUsedBytes is a container's memory less its page cache, as docker
// stats shows it and ECS's agent reports it: the cache is memory the
// kernel takes back under pressure. cgroup v1 counts it as "cache", v2 as
// "inactive_file".
func memoryUsedBytes(m container.MemoryStats) float64 {
	cache, ok := m.Stats["cache"]
	if !ok {
		cache = m.Stats["inactive_file"]
	}
	if cache > m.Usage {
		return 0
	}
	return float64(m.Usage - cache)
}
