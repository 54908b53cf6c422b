// Package placement puts a task definition before the scheduler: it turns
// a normalised definition into what placement needs (resources, group,
// constraints, attributes) and describes the local Docker engine as the
// container instance berth run places its task on.
package placement

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/taskdef"
)

// Needs is what a task consumes on its container instance, accounted as
// ECS accounts it (see scheduler.Consumption).
func Needs(t *taskdef.Normalized) scheduler.Resources {
	ctrs := make([]scheduler.Container, 0, len(t.Definition.ContainerDefinitions))
	for _, c := range t.Definition.ContainerDefinitions {
		sc := scheduler.Container{CPU: c.CPU}
		if c.Memory != nil {
			sc.Memory = *c.Memory
		}
		if c.MemoryReservation != nil {
			sc.MemoryReservation = *c.MemoryReservation
		}
		for _, pm := range c.PortMappings {
			if pm.ContainerPort == nil {
				continue // a containerPortRange: dynamic host ports, not counted
			}
			m := scheduler.PortMapping{ContainerPort: *pm.ContainerPort, Protocol: pm.Protocol}
			if pm.HostPort != nil {
				m.HostPort = *pm.HostPort
			}
			sc.PortMappings = append(sc.PortMappings, m)
		}
		ctrs = append(ctrs, sc)
	}
	return scheduler.Consumption(t.CPU, t.Memory, t.Definition.NetworkMode, ctrs)
}

// Group is a standalone task's group, as ECS names it.
func Group(t *taskdef.Normalized) string { return "family:" + t.Definition.Family }

// Constraints are the task definition's placement constraints.
func Constraints(t *taskdef.Normalized) []scheduler.Constraint {
	out := make([]scheduler.Constraint, len(t.Definition.PlacementConstraints))
	for i, pc := range t.Definition.PlacementConstraints {
		out[i] = scheduler.Constraint{Type: pc.Type, Expression: pc.Expression}
	}
	return out
}

// RequiredAttributes are the attributes the definition's runtime platform
// asks of an instance.
func RequiredAttributes(t *taskdef.Normalized) []scheduler.RequiredAttribute {
	rp := t.Definition.RuntimePlatform
	if rp == nil {
		return nil
	}
	var out []scheduler.RequiredAttribute
	if rp.CPUArchitecture != "" {
		out = append(out, scheduler.RequiredAttribute{Name: "ecs.cpu-architecture", Value: strings.ToLower(rp.CPUArchitecture)})
	}
	if rp.OperatingSystemFamily != "" {
		os := "linux"
		if strings.HasPrefix(rp.OperatingSystemFamily, "WINDOWS") {
			os = "windows"
		}
		out = append(out, scheduler.RequiredAttribute{Name: "ecs.os-type", Value: os})
	}
	return out
}

// LocalAttributes are the attributes of the local engine as a container
// instance: what ECS's agent would report on such a machine.
// ecs.instance-type is "local", for no EC2 instance type describes it;
// callers let the user set it, and any other attribute, to try
// constraints.
func LocalAttributes(region string) map[string]string {
	arch := runtime.GOARCH
	switch arch {
	case "amd64":
		arch = "x86_64"
	case "arm64":
		arch = "arm64"
	}
	return map[string]string{
		"ecs.os-type":           "linux",
		"ecs.cpu-architecture":  arch,
		"ecs.availability-zone": region + "a",
		"ecs.instance-type":     "local",
	}
}

// Local is the local engine as a container instance of cluster, offering
// cpu units and memory MiB, with the given attributes.
func Local(region, account, cluster, id string, cpu, memoryMiB int, attributes map[string]string) scheduler.Instance {
	return scheduler.Instance{
		ARN:            fmt.Sprintf("arn:aws:ecs:%s:%s:container-instance/%s/%s", region, account, cluster, id),
		EC2InstanceID:  "i-" + id,
		Status:         scheduler.StatusActive,
		AgentConnected: true,
		RegisteredAt:   time.Now(),
		Attributes:     attributes,
		Registered: scheduler.Resources{
			CPU:       cpu,
			MemoryMiB: memoryMiB,
			TCPPorts:  append([]uint16(nil), scheduler.DefaultReservedPorts...),
		},
	}
}

// NotPlacedError is a task the scheduler could not place, with ECS's
// reason and the closest instance's shortfall.
type NotPlacedError struct {
	Failure scheduler.Failure
}

func (e *NotPlacedError) Error() string {
	return fmt.Sprintf("the task could not be placed: %s: %s", e.Failure.Reason, e.Failure.Detail)
}

// PlaceOn places one task on one instance: nil when it fits and meets its
// constraints, a *NotPlacedError saying why not, or the scheduler's
// *ValidationError for constraints it cannot read.
func PlaceOn(inst scheduler.Instance, t *taskdef.Normalized) error {
	policy, err := scheduler.Compile(Constraints(t), nil, nil, scheduler.Standalone)
	if err != nil {
		return err
	}
	snap, err := scheduler.NewSnapshot([]scheduler.Instance{inst})
	if err != nil {
		return err
	}
	d, err := scheduler.Place(snap, scheduler.Request{
		Needs:              Needs(t),
		Group:              Group(t),
		Count:              1,
		Policy:             policy,
		RequiredAttributes: RequiredAttributes(t),
	})
	if err != nil {
		return err
	}
	if f, ok := d.Closest(); ok && len(d.Placements) == 0 {
		return &NotPlacedError{Failure: f}
	}
	return nil
}
