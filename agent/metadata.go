package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/berthdev/berth/agent/metadata"
	"github.com/berthdev/berth/taskdef"
)

// The environment variables through which a container finds its task
// metadata endpoint, as the ECS agent sets them.
const (
	EnvMetadataURIV4 = "ECS_CONTAINER_METADATA_URI_V4"
	EnvMetadataURIV3 = "ECS_CONTAINER_METADATA_URI"
)

// The agent's task metadata endpoint (package metadata) starts with its
// first container, or with the agent when it recovers tasks, and ends with
// the agent, on Config.MetadataPort when one is given.

// newMetadataServer is the endpoint of the agent's tasks.
func newMetadataServer(a *Agent) *metadata.Server {
	return &metadata.Server{Source: metadataSource{a}, Port: a.cfg.MetadataPort, Logf: a.cfg.Logf}
}

// metadataURIs returns the v4 and v3 endpoint URLs of a container of the
// task, or "" when there is no endpoint. It starts the endpoint if it has
// not started; one that could not start is tried again for the next
// container, as what kept it may pass.
func (a *Agent) metadataURIs(taskID, container string) (v4, v3 string) {
	if a.cfg.NoMetadataEndpoint {
		return "", ""
	}
	// Not the task's context: a stop of the task must not cut off the
	// endpoint of the agent's other tasks.
	base, err := a.metadata.Ensure(a.ctx)
	if err != nil {
		a.cfg.Logf("container %s gets no task metadata endpoint: %v", container, err)
		return "", ""
	}
	if base == "" {
		return "", ""
	}
	return metadata.URIs(base, taskID, container)
}

// MetadataEndpoint starts the agent's task metadata endpoint, if it has not
// started, and returns its base URL (http://GATEWAY:PORT), whose port a
// later agent may be given as Config.MetadataPort. It returns
// ErrMetadataDisabled when Config.NoMetadataEndpoint is set.
func (a *Agent) MetadataEndpoint(ctx context.Context) (string, error) {
	if a.cfg.NoMetadataEndpoint {
		return "", ErrMetadataDisabled
	}
	base, err := a.metadata.Ensure(ctx)
	if err == nil && base == "" {
		err = ErrClosed
	}
	return base, err
}

// ErrMetadataDisabled: the agent was configured with no task metadata
// endpoint.
var ErrMetadataDisabled = errors.New("the task metadata endpoint is turned off")

// metadataSource answers the endpoint from the agent's tasks.
type metadataSource struct{ a *Agent }

// Resolve finds the task and container a token names.
func (s metadataSource) Resolve(taskID, token string) (metadata.Answer, error) {
	t, found := s.a.lookup(taskID)
	if !found {
		return metadata.Answer{}, fmt.Errorf("task %s is not one of this agent's", taskID)
	}
	st := t.snapshotState()
	for _, c := range st.Containers {
		if metadata.Token(taskID, c.Name) == token {
			return metadata.Answer{Task: s.describeTask(t, st), Container: s.containerMetadata(t, st, c)}, nil
		}
	}
	return metadata.Answer{}, fmt.Errorf("task %s has no container that answers to %q", taskID, token)
}

// Bridge is the engine's default bridge network.
func (s metadataSource) Bridge(ctx context.Context) (network.Inspect, error) {
	return s.a.docker.NetworkInspect(ctx, "bridge", network.InspectOptions{})
}

// Stats is the engine's one-shot stats of a container, as the engine
// gives them.
func (s metadataSource) Stats(ctx context.Context, dockerID string) (json.RawMessage, error) {
	resp, err := s.a.docker.ContainerStatsOneShot(ctx, dockerID)
	if err != nil {
		return nil, fmt.Errorf("stats of container %s: %w", dockerID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("stats of container %s: %w", dockerID, err)
	}
	if !json.Valid(body) {
		return nil, fmt.Errorf("stats of container %s: the engine's answer is not JSON", dockerID)
	}
	return json.RawMessage(body), nil
}

// describeTask is the task as the endpoint shows it.
func (s metadataSource) describeTask(t *task, st TaskState) metadata.Task {
	out := metadata.Task{
		Cluster:            st.Cluster,
		TaskARN:            st.ARN,
		Family:             st.Family,
		Revision:           strconv.Itoa(st.Revision),
		DesiredStatus:      st.DesiredStatus.String(),
		KnownStatus:        st.LastStatus.String(),
		PullStartedAt:      timeOrNil(st.PullStartedAt),
		PullStoppedAt:      timeOrNil(st.PullStoppedAt),
		ExecutionStoppedAt: timeOrNil(st.ExecutionStoppedAt),
		AvailabilityZone:   s.a.cfg.AvailabilityZone,
		LaunchType:         st.LaunchType,
		Containers:         []metadata.Container{},
	}
	if st.LaunchType == taskdef.LaunchFargate {
		// Fargate's endpoint names the cluster by its ARN, EC2's by name.
		out.Cluster = fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", s.a.cfg.Region, s.a.cfg.AccountID, st.Cluster)
	}
	if st.CPU > 0 || st.Memory > 0 {
		out.Limits = &metadata.TaskLimits{CPU: float64(st.CPU) / 1024, Memory: st.Memory}
	}
	for _, c := range st.Containers {
		out.Containers = append(out.Containers, s.containerMetadata(t, st, c))
	}
	return out
}

// containerMetadata is one container as the endpoint shows it.
func (s metadataSource) containerMetadata(t *task, st TaskState, c ContainerState) metadata.Container {
	out := metadata.Container{
		DockerID:      c.DockerID,
		Name:          c.Name,
		DockerName:    c.DockerName,
		Image:         c.Image,
		ImageID:       c.ImageID,
		DesiredStatus: c.DesiredStatus.String(),
		KnownStatus:   c.LastStatus.String(),
		ExitCode:      c.ExitCode,
		CreatedAt:     timeOrNil(c.CreatedAt),
		StartedAt:     timeOrNil(c.StartedAt),
		FinishedAt:    timeOrNil(c.FinishedAt),
		Type:          "NORMAL",
		ContainerARN:  containerARN(st.ARN, c.Name),
		Labels:        map[string]string{},
	}
	// A task's containers are fixed when it is made, so its goroutine and
	// this one may both read them.
	if tc := t.ctr(c.Name); tc != nil {
		def := tc.def
		out.Limits = metadata.ContainerLimits{CPU: def.CPU}
		if def.Memory != nil {
			out.Limits.Memory = *def.Memory
		}
		for k, v := range def.DockerLabels {
			out.Labels[k] = v
		}
		if def.LogConfiguration != nil {
			out.LogDriver = def.LogConfiguration.LogDriver
			out.LogOptions = def.LogConfiguration.Options
		}
		if def.HealthCheck != nil {
			out.Health = &metadata.Health{
				Status: c.HealthStatus.String(),
				Since:  timeOrNil(c.HealthStatusSince),
				Output: c.HealthOutput,
			}
			if c.HealthExitCode != nil {
				out.Health.ExitCode = *c.HealthExitCode
			}
		}
	}
	// The labels ECS sets, which win over the definition's; not berth's own.
	t.addECSLabels(out.Labels, c.Name)
	for _, b := range c.NetworkBindings {
		out.Ports = append(out.Ports, metadata.Port{ContainerPort: b.ContainerPort, Protocol: b.Protocol, HostPort: b.HostPort, HostIP: b.BindIP})
	}
	mode := st.NetworkMode
	if mode == "" {
		mode = taskdef.NetworkBridge
	}
	nw := metadata.Network{NetworkMode: mode}
	switch {
	case mode == taskdef.NetworkAWSVPC && st.Address != "":
		nw.IPv4Addresses = []string{st.Address}
	case c.IP != "":
		nw.IPv4Addresses = []string{c.IP}
	}
	out.Networks = []metadata.Network{nw}
	return out
}

// containerARN gives a container an ARN of ECS's form, the same every time
// for one container of one task.
func containerARN(taskARN, name string) string {
	prefix, taskID, ok := strings.Cut(taskARN, ":task/")
	if !ok {
		return ""
	}
	h := fnv.New128a()
	h.Write([]byte(taskARN + "\x00" + name))
	sum := h.Sum(nil)
	id := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
	return prefix + ":container/" + taskID + "/" + id
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
