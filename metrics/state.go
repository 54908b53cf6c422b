package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// State gives the cluster as the gauges show it, at each scrape.
type State interface {
	Snapshot() Snapshot
}

// Snapshot is the cluster's state, summed: tasks are counted, never
// listed.
type Snapshot struct {
	Tasks     []TaskCount
	Instances []Instance
	Clusters  []Cluster
	// Usage is what running tasks use and reserve, by cluster and launch
	// type, from the engine's stats.
	Usage   []Usage
	Fargate Fargate
	// Cost is the estimated cost so far, in US dollars, by launch type.
	Cost map[string]float64
	// Agents are the berth agents of other hosts, by cluster.
	Agents []AgentCount
}

// AgentCount is how many of the berth agents a cluster's instances run
// are connected now (0 when all are away).
type AgentCount struct {
	Cluster   string
	Connected int
}

// TaskCount is how many tasks of a cluster and launch type are in a status.
type TaskCount struct {
	Cluster, LaunchType, Status string
	Count                       int
}

// Instance is a container instance's registered and remaining resources,
// and what its tasks use now.
type Instance struct {
	Cluster, ID                 string
	RegisteredCPU, RemainingCPU int
	RegisteredMiB, RemainingMiB int
	// UsedCPU (units) and UsedMiB are what its tasks use, from the
	// engine's stats.
	UsedCPU, UsedMiB float64
}

// Cluster is what a cluster's ACTIVE and DRAINING instances register, and
// what its running tasks reserve and use of it.
type Cluster struct {
	Name                       string
	RegisteredCPU, ReservedCPU int
	RegisteredMiB, ReservedMiB int
	// UsedCPU (units) and UsedMiB are what its EC2 tasks use now.
	UsedCPU, UsedMiB float64
}

// Usage is what the running tasks of a cluster and launch type use and
// reserve.
type Usage struct {
	Cluster, LaunchType      string
	UsedCPU, UsedMiB         float64
	ReservedCPU, ReservedMiB int
}

// Fargate is the Fargate capacity in use against the account's limit.
type Fargate struct {
	VCPUs, VCPULimit float64
	MiB              int
}

var (
	descTasks = prometheus.NewDesc("berth_tasks",
		"Tasks by cluster, launch type and lastStatus.", []string{"cluster", "launch_type", "status"}, nil)
	descInstanceCPU = prometheus.NewDesc("berth_container_instance_cpu_units",
		"CPU units of a container instance: registered, remaining after its tasks' reservations, or used by its tasks now (from the engine's stats).", []string{"cluster", "container_instance", "kind"}, nil)
	descInstanceMemory = prometheus.NewDesc("berth_container_instance_memory_mib",
		"Memory (MiB) of a container instance: registered, remaining after its tasks' reservations, or used by its tasks now (from the engine's stats, less page cache).", []string{"cluster", "container_instance", "kind"}, nil)
	descCPUReservation = prometheus.NewDesc("berth_cluster_cpu_reservation_ratio",
		"CPU reserved by running tasks over CPU registered by ACTIVE and DRAINING instances; ×100 is CloudWatch's CPUReservation.", []string{"cluster"}, nil)
	descMemoryReservation = prometheus.NewDesc("berth_cluster_memory_reservation_ratio",
		"Memory reserved by running tasks over memory registered by ACTIVE and DRAINING instances; ×100 is CloudWatch's MemoryReservation.", []string{"cluster"}, nil)
	descCPUUtilization = prometheus.NewDesc("berth_cluster_cpu_utilization_ratio",
		"CPU used by the cluster's tasks over CPU registered by its instances; ×100 is CloudWatch's cluster CPUUtilization (EC2).", []string{"cluster"}, nil)
	descMemoryUtilization = prometheus.NewDesc("berth_cluster_memory_utilization_ratio",
		"Memory used by the cluster's tasks over memory registered by its instances; ×100 is CloudWatch's cluster MemoryUtilization (EC2).", []string{"cluster"}, nil)
	descTaskCPUUsed = prometheus.NewDesc("berth_tasks_cpu_used_units",
		"CPU units the running tasks use now (1024 a vCPU), from the engine's stats.", []string{"cluster", "launch_type"}, nil)
	descTaskMemoryUsed = prometheus.NewDesc("berth_tasks_memory_used_mib",
		"Memory (MiB) the running tasks use now, from the engine's stats.", []string{"cluster", "launch_type"}, nil)
	descTaskCPUUtilization = prometheus.NewDesc("berth_tasks_cpu_utilization_ratio",
		"CPU the running tasks use over what they reserve; ×100 is CloudWatch's service CPUUtilization.", []string{"cluster", "launch_type"}, nil)
	descTaskMemoryUtilization = prometheus.NewDesc("berth_tasks_memory_utilization_ratio",
		"Memory the running tasks use over what they reserve; ×100 is CloudWatch's service MemoryUtilization.", []string{"cluster", "launch_type"}, nil)
	descFargateVCPUs = prometheus.NewDesc("berth_fargate_vcpus",
		"Fargate vCPUs provisioned for running tasks.", nil, nil)
	descFargateVCPULimit = prometheus.NewDesc("berth_fargate_vcpu_limit",
		"The account's quota of Fargate vCPUs in use at once.", nil, nil)
	descFargateMemory = prometheus.NewDesc("berth_fargate_memory_mib",
		"Fargate memory (MiB) provisioned for running tasks.", nil, nil)
	descAgentsConnected = prometheus.NewDesc("berth_agents_connected",
		"Berth agents of other hosts connected now (their instances agentConnected), by cluster.", []string{"cluster"}, nil)
	descCost = prometheus.NewDesc("berth_estimated_cost_dollars",
		"What the cluster's tasks and instances would have cost on AWS so far, in US dollars, by launch type.", []string{"launch_type"}, nil)
)

// stateCollector reads the State at each scrape.
type stateCollector struct {
	mu    sync.Mutex
	state State
}

func (c *stateCollector) set(s State) {
	c.mu.Lock()
	c.state = s
	c.mu.Unlock()
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTasks, descInstanceCPU, descInstanceMemory, descCPUReservation, descMemoryReservation,
		descCPUUtilization, descMemoryUtilization, descTaskCPUUsed, descTaskMemoryUsed, descTaskCPUUtilization, descTaskMemoryUtilization,
		descFargateVCPUs, descFargateVCPULimit, descFargateMemory, descCost, descAgentsConnected} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	state := c.state
	c.mu.Unlock()
	if state == nil {
		return
	}
	s := state.Snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, t := range s.Tasks {
		gauge(descTasks, float64(t.Count), t.Cluster, t.LaunchType, t.Status)
	}
	for _, in := range s.Instances {
		gauge(descInstanceCPU, float64(in.RegisteredCPU), in.Cluster, in.ID, "registered")
		gauge(descInstanceCPU, float64(in.RemainingCPU), in.Cluster, in.ID, "remaining")
		gauge(descInstanceCPU, in.UsedCPU, in.Cluster, in.ID, "used")
		gauge(descInstanceMemory, float64(in.RegisteredMiB), in.Cluster, in.ID, "registered")
		gauge(descInstanceMemory, float64(in.RemainingMiB), in.Cluster, in.ID, "remaining")
		gauge(descInstanceMemory, in.UsedMiB, in.Cluster, in.ID, "used")
	}
	for _, cl := range s.Clusters {
		gauge(descCPUReservation, ratio(float64(cl.ReservedCPU), float64(cl.RegisteredCPU)), cl.Name)
		gauge(descMemoryReservation, ratio(float64(cl.ReservedMiB), float64(cl.RegisteredMiB)), cl.Name)
		gauge(descCPUUtilization, ratio(cl.UsedCPU, float64(cl.RegisteredCPU)), cl.Name)
		gauge(descMemoryUtilization, ratio(cl.UsedMiB, float64(cl.RegisteredMiB)), cl.Name)
	}
	for _, u := range s.Usage {
		gauge(descTaskCPUUsed, u.UsedCPU, u.Cluster, u.LaunchType)
		gauge(descTaskMemoryUsed, u.UsedMiB, u.Cluster, u.LaunchType)
		gauge(descTaskCPUUtilization, ratio(u.UsedCPU, float64(u.ReservedCPU)), u.Cluster, u.LaunchType)
		gauge(descTaskMemoryUtilization, ratio(u.UsedMiB, float64(u.ReservedMiB)), u.Cluster, u.LaunchType)
	}
	gauge(descFargateVCPUs, s.Fargate.VCPUs)
	gauge(descFargateVCPULimit, s.Fargate.VCPULimit)
	gauge(descFargateMemory, float64(s.Fargate.MiB))
	for lt, dollars := range s.Cost {
		gauge(descCost, dollars, lt)
	}
	for _, a := range s.Agents {
		gauge(descAgentsConnected, float64(a.Connected), a.Cluster)
	}
}

// ratio is a over b, 0 when there is no b: a cluster without instances
// reserves nothing of nothing.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Watch has the gauges read state at each scrape, from now on; a state
// given to New is replaced.
func (m *Metrics) Watch(state State) {
	m.watchMu.Lock()
	defer m.watchMu.Unlock()
	if m.watched == nil {
		m.watched = &stateCollector{}
		m.Registry.MustRegister(m.watched)
	}
	m.watched.set(state)
}
