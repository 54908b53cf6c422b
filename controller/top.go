package controller

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/taskdef"
)

// Top is a cluster's ACTIVE and DRAINING container instances and its
// RUNNING tasks, with what they register, reserve and, by the last round
// of stats, use.
func (c *Controller) Top(clusterRef string) (*api.Top, error) {
	cluster, err := c.activeCluster(clusterRef)
	if err != nil {
		return nil, err
	}
	usage, sampledAt := c.usage.usage()
	used := map[string]taskUsage{}
	for _, u := range usage {
		if u.cluster == cluster {
			used[u.id] = u
		}
	}
	out := &api.Top{Cluster: cluster, SampledAt: sampledAt, Instances: []api.TopInstance{}, Tasks: []api.TopTask{}}
	instances, _, err := c.shownInstances(cluster)
	if err != nil {
		return nil, err
	}
	byID := map[string]int{}
	for _, in := range instances {
		if in.Status == store.StatusInactive {
			continue
		}
		byID[in.ID] = len(out.Instances)
		out.Instances = append(out.Instances, api.TopInstance{ID: in.ID, Status: in.Status,
			Zone: in.Attributes["ecs.availability-zone"], InstanceType: in.Attributes["ecs.instance-type"],
			RunningTasks: in.Load.Running, PendingTasks: in.Load.Pending,
			RegisteredCPU: int(in.Registered.CPU), ReservedCPU: int(in.Load.Held.CPU),
			RegisteredMiB: int(in.Registered.MemoryMiB), ReservedMiB: int(in.Load.Held.MemoryMiB)})
	}
	recs, err := c.runningTasks(cluster, -1)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		u, ok := used[rec.ID]
		if !ok { // running since the last round
			if u, _, err = usageOf(rec); err != nil {
				continue
			}
		}
		out.Tasks = append(out.Tasks, api.TopTask{ID: rec.ID, TaskDefinition: u.taskDefinition, LaunchType: rec.LaunchType, Instance: rec.Instance,
			ReservedCPU: u.reservedCPU, UsedCPU: u.usedCPU, ReservedMiB: u.reservedMiB, UsedMiB: u.usedMiB, Sampled: u.sampled})
		if i, ok := byID[rec.Instance]; ok && rec.LaunchType != taskdef.LaunchFargate {
			out.Instances[i].UsedCPU += u.usedCPU
			out.Instances[i].UsedMiB += u.usedMiB
		}
	}
	out.Fargate = c.fargateInUse()
	return out, nil
}

// fargateInUse is the Fargate capacity the tasks of every cluster hold.
func (c *Controller) fargateInUse() api.FargateInUse {
	in := api.FargateInUse{VCPULimit: float64(c.opts.FargateVCPUQuota)}
	recs, err := c.store.TaskHeads("", func(t *store.Task) bool {
		return t.LaunchType == taskdef.LaunchFargate && t.LastStatus != "STOPPED"
	})
	if err != nil {
		return in
	}
	for _, rec := range recs {
		var rt taskRuntime
		if json.Unmarshal(rec.Runtime, &rt) == nil {
			in.VCPUs += float64(rt.CPU) / 1024
			in.MiB += rt.MemoryMiB
		}
	}
	return in
}

// Billing is what a cluster's capacity is billed by: its Fargate tasks
// that have started pulling, and its container instances, registered now
// or before; and the price table the server's metrics go by.
func (c *Controller) Billing(clusterRef string) (*api.Billing, error) {
	cluster, err := c.activeCluster(clusterRef)
	if err != nil {
		return nil, err
	}
	prices := *c.opts.Prices
	out := &api.Billing{Cluster: cluster, Now: c.now().UTC(), Prices: &prices, FargateTasks: []api.BilledTask{}, Instances: []api.BilledInstance{}}
	recs, err := c.store.Tasks(cluster, func(t *store.Task) bool { return t.LaunchType == taskdef.LaunchFargate })
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if t, ok := billedTask(rec); ok {
			out.FargateTasks = append(out.FargateTasks, t)
		}
	}
	instances, err := c.store.ContainerInstancesUnloaded(cluster)
	if err != nil {
		return nil, err
	}
	for _, in := range instances {
		out.Instances = append(out.Instances, billedInstance(in))
	}
	return out, nil
}

// billedTask is a Fargate task as AWS bills it: its size, from the start
// of its image pull to its stop; false for one that has not started
// pulling, which costs nothing yet.
func billedTask(rec store.Task) (api.BilledTask, bool) {
	var rt taskRuntime
	var t api.Task
	if json.Unmarshal(rec.Runtime, &rt) != nil || json.Unmarshal(rec.Body, &t) != nil || t.PullStartedAt.IsZero() {
		return api.BilledTask{}, false
	}
	b := api.BilledTask{ID: rec.ID, CPU: rt.CPU, MemoryMiB: rt.MemoryMiB, Spot: rt.Capacity == "FARGATE_SPOT", Start: t.PullStartedAt.Time.UTC()}
	if t.EphemeralStorage != nil {
		b.StorageGB = int(t.EphemeralStorage.SizeInGiB)
	}
	if rec.StoppedAt != nil {
		b.End = rec.StoppedAt.UTC()
	}
	return b, true
}

// billedInstance is a container instance as AWS bills it: its type, from
// its registration to its deregistration.
func billedInstance(in store.ContainerInstance) api.BilledInstance {
	b := api.BilledInstance{ID: in.ID, InstanceType: in.Attributes["ecs.instance-type"], Start: in.RegisteredAt.UTC()}
	if in.DeregisteredAt != nil {
		b.End = in.DeregisteredAt.UTC()
	}
	return b
}

// activeCluster is the name of an ACTIVE cluster ("" for default).
func (c *Controller) activeCluster(ref string) (string, error) {
	if ref == "" {
		ref = "default"
	}
	name, err := api.ClusterName(ref)
	if err != nil {
		return "", err
	}
	rec, err := c.store.Cluster(name)
	if errors.Is(err, store.ErrNotFound) || err == nil && rec.Status != store.StatusActive {
		return "", api.ClusterNotFoundException("cluster %s not found", name)
	}
	return name, err
}

// writeAnswer answers what get gives for the cluster, as JSON, or its
// error in the ECS API's shape.
func writeAnswer[T any](w http.ResponseWriter, get func(string) (*T, error), cluster string) {
	out, err := get(cluster)
	status := http.StatusOK
	var body any = out
	if err != nil {
		var e *api.Error
		if !errors.As(err, &e) {
			e = api.ServerException("%v", err)
		}
		status = e.HTTPStatus()
		w.Header().Set("X-Amzn-Errortype", e.Type)
		body = struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}{e.Type, e.Message}
	}
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
