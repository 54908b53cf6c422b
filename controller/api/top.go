package api

import (
	"time"

	"github.com/berthdev/berth/cost"
)

// Berth's own endpoints, beside the ECS API: what ECS shows in CloudWatch
// and the billing console rather than through its API. They are GETs that
// take the cluster as a query parameter (?cluster=NAME, default "default")
// and answer JSON, or an error in the ECS API's shape.
const (
	// PathTop answers a Top: the cluster's capacity and what its running
	// tasks reserve and use, for berth top.
	PathTop = BerthPath + "top"
	// PathBilling answers a Billing: what the cluster's capacity is billed
	// by, for berth cost.
	PathBilling = BerthPath + "billing"
)

// Top is a cluster's container instances and running tasks, with what they
// register, reserve and use now. CPU is in units (1024 a vCPU) and memory
// in MiB; used figures come from the engine's stats, sampled every few
// seconds, and are zero until a task's first two samples.
type Top struct {
	Cluster string `json:"cluster"`
	// SampledAt is when the stats were last sampled; zero before the
	// first round.
	SampledAt time.Time     `json:"sampledAt,omitzero"`
	Instances []TopInstance `json:"instances"`
	Tasks     []TopTask     `json:"tasks"`
	Fargate   FargateInUse  `json:"fargate"`
}

// TopInstance is a container instance that is ACTIVE or DRAINING.
type TopInstance struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	Zone         string `json:"zone,omitempty"`
	InstanceType string `json:"instanceType,omitempty"`
	RunningTasks int    `json:"runningTasks"`
	PendingTasks int    `json:"pendingTasks"`

	RegisteredCPU int     `json:"registeredCpu"`
	ReservedCPU   int     `json:"reservedCpu"`
	UsedCPU       float64 `json:"usedCpu"`
	RegisteredMiB int     `json:"registeredMemoryMiB"`
	ReservedMiB   int     `json:"reservedMemoryMiB"`
	UsedMiB       float64 `json:"usedMemoryMiB"`
}

// TopTask is a RUNNING task: what it reserves (the task size on Fargate,
// what placement took of its instance on EC2) and what it uses.
type TopTask struct {
	ID             string `json:"id"`
	TaskDefinition string `json:"taskDefinition"` // family:revision
	LaunchType     string `json:"launchType"`
	// Instance is the container instance ID of an EC2 task.
	Instance string `json:"instance,omitempty"`

	ReservedCPU int     `json:"reservedCpu"`
	UsedCPU     float64 `json:"usedCpu"`
	ReservedMiB int     `json:"reservedMemoryMiB"`
	UsedMiB     float64 `json:"usedMemoryMiB"`
	// Sampled is false until the stats have given the task's CPU: it takes
	// two samples, a delta.
	Sampled bool `json:"sampled"`
}

// FargateInUse is the Fargate capacity the account's tasks hold, against
// its vCPU quota.
type FargateInUse struct {
	VCPUs     float64 `json:"vcpus"`
	VCPULimit float64 `json:"vcpuLimit"`
	MiB       int     `json:"memoryMiB"`
}

// Billing is what a cluster's capacity is billed by, as AWS bills it:
// Fargate tasks by their size and time, container instances by their time,
// busy or idle. A price table turns it into dollars (package cost).
type Billing struct {
	Cluster string `json:"cluster"`
	// Now is the server's time: the end of what has not ended.
	Now time.Time `json:"now"`
	// Prices is the price table the server's estimated cost goes by
	// (berth server --prices); absent from a server before it said.
	Prices       *cost.Prices     `json:"prices,omitempty"`
	FargateTasks []BilledTask     `json:"fargateTasks"`
	Instances    []BilledInstance `json:"instances"`
}

// BilledTask is a Fargate task that has started pulling its images.
type BilledTask struct {
	ID        string `json:"id"`
	CPU       int    `json:"cpu"`
	MemoryMiB int    `json:"memoryMiB"`
	StorageGB int    `json:"ephemeralStorageGiB,omitempty"`
	Spot      bool   `json:"spot,omitempty"`
	// Start is the start of its image pull; End its stop, zero while it
	// runs.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// BilledInstance is a container instance, registered now or before.
type BilledInstance struct {
	ID           string `json:"id"`
	InstanceType string `json:"instanceType"`
	// Start is its registration; End its deregistration, zero while it
	// is registered.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// Priced is what the items cost by a price table: those that have not
// ended are billed until Now.
func (b Billing) Priced(p cost.Prices) cost.Bill {
	tasks := make([]cost.FargateTask, 0, len(b.FargateTasks))
	for _, t := range b.FargateTasks {
		tasks = append(tasks, cost.FargateTask{CPU: t.CPU, MemoryMiB: t.MemoryMiB, StorageGB: t.StorageGB, Spot: t.Spot,
			Start: t.Start, End: endOr(t.End, b.Now)})
	}
	instances := make([]cost.Instance, 0, len(b.Instances))
	for _, in := range b.Instances {
		instances = append(instances, cost.Instance{InstanceType: in.InstanceType, Start: in.Start, End: endOr(in.End, b.Now)})
	}
	return p.Bill(tasks, instances)
}

func endOr(end, now time.Time) time.Time {
	if end.IsZero() {
		return now
	}
	return end
}
