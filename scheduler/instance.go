package scheduler

import (
	"strings"
	"time"
)

// Status is a container instance's status.
type Status string

// Container instance statuses. Only ACTIVE instances take new tasks.
const (
	StatusActive   Status = "ACTIVE"
	StatusDraining Status = "DRAINING"
	StatusInactive Status = "INACTIVE"
)

// Attribute names ECS sets on every container instance.
const (
	AttrAvailabilityZone = "ecs.availability-zone"
	AttrInstanceType     = "ecs.instance-type"
	AttrOSType           = "ecs.os-type"
	AttrCPUArchitecture  = "ecs.cpu-architecture"
)

// DefaultReservedPorts are the TCP ports every container instance registers
// as taken: SSH, the Docker daemon and the ECS agent's introspection API.
var DefaultReservedPorts = []uint16{22, 2375, 2376, 51678, 51679}

// MaxReservedPorts is how many reserved ports an instance may register per
// protocol.
const MaxReservedPorts = 100

// Instance is a container instance as placement sees it.
type Instance struct {
	// ARN is arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID.
	ARN            string
	EC2InstanceID  string
	Status         Status
	AgentConnected bool
	AgentVersion   string
	RegisteredAt   time.Time
	// Attributes holds ecs.availability-zone, ecs.instance-type,
	// ecs.os-type, ecs.cpu-architecture and custom attributes.
	Attributes map[string]string
	// Registered is what the instance offers: CPU units, MiB, and the ports
	// that are never available to tasks (DefaultReservedPorts and the
	// instance's own).
	Registered Resources
	// Tasks are the tasks the instance runs (any not STOPPED); their
	// resources are subtracted from Registered.
	Tasks []Task
}

// ID is the last part of the instance's ARN, as ECS messages print it.
func (i *Instance) ID() string { return lastSegment(i.ARN) }

// Resources are CPU units (1024 per vCPU), memory in MiB, host ports, and
// elastic network interfaces for awsvpc tasks.
type Resources struct {
	CPU       int
	MemoryMiB int
	TCPPorts  []uint16
	UDPPorts  []uint16
	// ENIs is, for a task, 1 in awsvpc network mode (the task gets its own
	// interface) and 0 otherwise; for an instance, how many task
	// interfaces it can attach, with 0 meaning no limit is modelled.
	ENIs int
}

// Task is a task that holds resources on an instance.
type Task struct {
	ARN string
	// Group is "service:NAME" or "family:FAMILY" (or a RunTask group).
	Group string
	// Needs is what the task consumes; see Consumption.
	Needs Resources
}

func lastSegment(arn string) string {
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

// Container is the part of a container definition that decides what a task
// consumes on an instance.
type Container struct {
	CPU               int
	Memory            int // hard limit, MiB; 0 when unset
	MemoryReservation int // soft limit, MiB; 0 when unset
	PortMappings      []PortMapping
}

// PortMapping is a container port mapping; HostPort 0 means unset.
type PortMapping struct {
	ContainerPort int
	HostPort      int
	Protocol      string // "tcp" (the default) or "udp"
}

// Consumption is what a task holds on its instance, the way ECS accounts it:
//   - CPU: the task's cpu, else the sum of its containers' cpu;
//   - memory: the task's memory, else per container memoryReservation when
//     set, else memory;
//   - ports: its static host ports. In bridge mode a host port of 0 (or
//     none, or a containerPortRange) is dynamic, taken from the ephemeral
//     range, and not counted; in host mode the host port is the container
//     port; in awsvpc and none modes the task holds no host ports, since it
//     has its own network interface (or none);
//   - an elastic network interface in awsvpc mode.
//
// taskCPU and taskMemoryMiB are 0 when the task definition leaves them unset.
func Consumption(taskCPU, taskMemoryMiB int, networkMode string, containers []Container) Resources {
	var r Resources
	for _, c := range containers {
		if taskCPU == 0 {
			r.CPU += c.CPU
		}
		if taskMemoryMiB == 0 {
			if c.MemoryReservation > 0 {
				r.MemoryMiB += c.MemoryReservation
			} else {
				r.MemoryMiB += c.Memory
			}
		}
		for _, pm := range c.PortMappings {
			var port int
			switch networkMode {
			case "host":
				port = pm.ContainerPort
				if pm.HostPort != 0 {
					port = pm.HostPort
				}
			case "bridge", "":
				port = pm.HostPort
			}
			if port <= 0 || port > 65535 {
				continue
			}
			if strings.EqualFold(pm.Protocol, "udp") {
				r.UDPPorts = append(r.UDPPorts, uint16(port))
			} else {
				r.TCPPorts = append(r.TCPPorts, uint16(port))
			}
		}
	}
	if networkMode == "awsvpc" {
		r.ENIs = 1
	}
	if taskCPU != 0 {
		r.CPU = taskCPU
	}
	if taskMemoryMiB != 0 {
		r.MemoryMiB = taskMemoryMiB
	}
	return r
}
