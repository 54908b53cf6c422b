package agent

import "time"

// TaskState is what the agent knows about one task: the fields of an ECS
// Task as DescribeTasks shows them. It is a copy; changing it changes
// nothing.
type TaskState struct {
	ARN        string
	Cluster    string
	Family     string
	Revision   int
	LaunchType string
	Group      string
	StartedBy  string
	// CPU and Memory are the task-level values (units and MiB), 0 if unset.
	CPU, Memory int

	LastStatus    TaskStatus
	DesiredStatus TaskStatus
	// Version increases at every change of the task or its containers.
	Version      int64
	HealthStatus HealthStatus

	CreatedAt          time.Time
	PullStartedAt      time.Time
	PullStoppedAt      time.Time
	StartedAt          time.Time
	StoppingAt         time.Time
	ExecutionStoppedAt time.Time
	StoppedAt          time.Time

	StopCode      StopCode
	StoppedReason string

	// NetworkMode is the task's network mode; under awsvpc Address is the
	// task's own IPv4 address, shared by all its containers.
	NetworkMode string
	Address     string
	// HostIP is the host address the task's host ports bind to.
	HostIP string

	Containers []ContainerState
	// Warnings name what berth only approximates for this task.
	Warnings []string
}

// ContainerState is one container of a task, as the ECS API shows it, plus
// the Docker details behind it.
type ContainerState struct {
	Name          string
	Image         string
	ImageID       string
	DockerID      string
	DockerName    string
	Essential     bool
	LastStatus    ContainerStatus
	DesiredStatus ContainerStatus
	// ExitCode is set once the container has exited.
	ExitCode        *int
	Reason          string
	NetworkBindings []NetworkBinding
	HealthStatus    HealthStatus
	// HealthStatusSince is when HealthStatus last changed (for a container
	// with a health check, from its start on). HealthOutput and
	// HealthExitCode are what its last health check printed and exited
	// with; HealthExitCode is nil before the first check has finished.
	HealthStatusSince time.Time
	HealthOutput      string
	HealthExitCode    *int
	// IP is the container's address on its network ("" for host and none).
	IP         string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// NetworkBinding is a published port, as in the ECS API.
type NetworkBinding struct {
	BindIP        string
	ContainerPort int
	HostPort      int
	Protocol      string
}

// StateChange is one step of a task: the task after the change and, when
// the change was a container's, its name.
type StateChange struct {
	Task      TaskState
	Container string
}

// Container returns the state of the container named name.
func (s TaskState) Container(name string) (ContainerState, bool) {
	for _, c := range s.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return ContainerState{}, false
}

// ID returns the task ID, the last part of the ARN.
func (s TaskState) ID() string { return taskID(s.ARN) }

// clone returns a deep copy, safe to hand to callers.
func (s *TaskState) clone() TaskState {
	out := *s
	out.Containers = make([]ContainerState, len(s.Containers))
	for i, c := range s.Containers {
		if c.ExitCode != nil {
			code := *c.ExitCode
			c.ExitCode = &code
		}
		if c.HealthExitCode != nil {
			code := *c.HealthExitCode
			c.HealthExitCode = &code
		}
		c.NetworkBindings = append([]NetworkBinding(nil), c.NetworkBindings...)
		out.Containers[i] = c
	}
	out.Warnings = append([]string(nil), s.Warnings...)
	return out
}
