package agentproto

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller/api"
)

// Report is the TaskStateChange that tells the server a task's state, as
// the agent knows it: the facts of ECS's SubmitTaskStateChange and, for
// each container, of its SubmitContainerStateChange, and the rest of what
// DescribeTasks shows.
func Report(s agent.TaskState) TaskStateChange {
	m := TaskStateChange{
		MessageID: fmt.Sprintf("%s#%d", s.ARN, s.Version),
		Version:   s.Version,
		Change: api.SubmitTaskStateChangeInput{
			Cluster:            s.Cluster,
			Task:               s.ARN,
			Status:             s.LastStatus.String(),
			Reason:             s.StoppedReason,
			PullStartedAt:      api.Time(s.PullStartedAt),
			PullStoppedAt:      api.Time(s.PullStoppedAt),
			ExecutionStoppedAt: api.Time(s.ExecutionStoppedAt),
		},
		DesiredStatus: s.DesiredStatus.String(),
		StopCode:      string(s.StopCode),
		HealthStatus:  s.HealthStatus.String(),
		CreatedAt:     api.Time(s.CreatedAt),
		StartedAt:     api.Time(s.StartedAt),
		StoppingAt:    api.Time(s.StoppingAt),
		StoppedAt:     api.Time(s.StoppedAt),
		Health:        map[string]string{},
		Address:       s.Address,
	}
	for _, c := range s.Containers {
		ch := api.ContainerStateChange{ContainerName: c.Name, ImageDigest: c.ImageID, RuntimeID: c.DockerID,
			Reason: c.Reason, Status: c.LastStatus.String()}
		if c.ExitCode != nil {
			code := int32(*c.ExitCode)
			ch.ExitCode = &code
		}
		for _, b := range c.NetworkBindings {
			cp, hp := int32(b.ContainerPort), int32(b.HostPort)
			ch.NetworkBindings = append(ch.NetworkBindings, api.NetworkBinding{BindIP: b.BindIP, ContainerPort: &cp, HostPort: &hp, Protocol: b.Protocol})
		}
		m.Change.Containers = append(m.Change.Containers, ch)
		m.Health[c.Name] = c.HealthStatus.String()
	}
	return m
}

// State reads a report back into the task state it tells, as the server
// records an agent's state of its own: a status it does not know is an
// error naming it.
func (m TaskStateChange) State() (agent.TaskState, error) {
	last, ok := agent.ParseTaskStatus(m.Change.Status)
	if !ok || last == agent.TaskStatusNone {
		return agent.TaskState{}, fmt.Errorf("change.status: %q is not a task status", m.Change.Status)
	}
	if a, err := netip.ParseAddr(m.Address); m.Address != "" && (err != nil || !a.Is4()) {
		return agent.TaskState{}, fmt.Errorf("address: %q is not an IPv4 address", m.Address)
	}
	desired, ok := agent.ParseTaskStatus(m.DesiredStatus)
	if !ok {
		return agent.TaskState{}, fmt.Errorf("desiredStatus: %q is not a task status", m.DesiredStatus)
	}
	s := agent.TaskState{
		ARN: m.Change.Task, Cluster: m.Change.Cluster, LastStatus: last, DesiredStatus: desired, Version: m.Version,
		HealthStatus: health(m.HealthStatus), StopCode: agent.StopCode(m.StopCode), StoppedReason: m.Change.Reason,
		CreatedAt: m.CreatedAt.Time, PullStartedAt: m.Change.PullStartedAt.Time, PullStoppedAt: m.Change.PullStoppedAt.Time,
		StartedAt: m.StartedAt.Time, StoppingAt: m.StoppingAt.Time, ExecutionStoppedAt: m.Change.ExecutionStoppedAt.Time,
		StoppedAt: m.StoppedAt.Time, Address: m.Address,
	}
	for i, c := range m.Change.Containers {
		cs := agent.ContainerState{Name: c.ContainerName, ImageID: c.ImageDigest, DockerID: c.RuntimeID, Reason: c.Reason,
			HealthStatus: health(m.Health[c.ContainerName])}
		switch c.Status {
		case "PENDING":
			cs.LastStatus = agent.ContainerPending
		case "RUNNING":
			cs.LastStatus = agent.ContainerRunning
		case "STOPPED":
			cs.LastStatus = agent.ContainerStopped
		default:
			return agent.TaskState{}, fmt.Errorf("change.containers[%d].status: %q is not PENDING, RUNNING or STOPPED", i, c.Status)
		}
		if c.ExitCode != nil {
			code := int(*c.ExitCode)
			cs.ExitCode = &code
		}
		for _, b := range c.NetworkBindings {
			nb := agent.NetworkBinding{BindIP: b.BindIP, Protocol: b.Protocol}
			if b.ContainerPort != nil {
				nb.ContainerPort = int(*b.ContainerPort)
			}
			if b.HostPort != nil {
				nb.HostPort = int(*b.HostPort)
			}
			cs.NetworkBindings = append(cs.NetworkBindings, nb)
		}
		s.Containers = append(s.Containers, cs)
	}
	return s, nil
}

func health(name string) agent.HealthStatus {
	switch name {
	case "HEALTHY":
		return agent.HealthHealthy
	case "UNHEALTHY":
		return agent.HealthUnhealthy
	}
	return agent.HealthUnknown
}

// Stopped is the report of a task an agent was told to run and could not
// (its definition did not load; the engine refused), or was told to stop
// and does not have: STOPPED, with the stop code and reason given.
func Stopped(cluster, arn, code, reason string, now time.Time) TaskStateChange {
	// Its version is past any the agent gave the task: nothing it reported
	// before comes after it.
	const last = 1 << 62
	return TaskStateChange{
		MessageID: fmt.Sprintf("%s#stopped", arn), Version: last,
		Change:        api.SubmitTaskStateChangeInput{Cluster: cluster, Task: arn, Status: "STOPPED", Reason: reason, ExecutionStoppedAt: api.Time(now)},
		DesiredStatus: "STOPPED", StopCode: code, StoppingAt: api.Time(now), StoppedAt: api.Time(now),
	}
}
