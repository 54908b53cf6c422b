package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// berth's own operations are not ECS's: what a class needs that ECS has no
// operation for (a Spot reclaim made on demand, the limits the engine
// enforces). They are served beside the ECS API, at POST
// BerthPath+OPERATION, with JSON bodies read as strictly as the ECS API's
// (Decode) and errors in its shape ({"__type", "message"}), so a client
// handles both alike; the aws CLI and the SDKs never send them.
const BerthPath = "/berth/v1/"

// HandleBerth serves fn as berth's own operation name at POST
// BerthPath+name on mux.
func HandleBerth[In, Out any](mux *http.ServeMux, logger *slog.Logger, name string, fn func(ctx context.Context, in *In) (*Out, error)) {
	m := NewMux(logger)
	Handle(m, name, fn)
	op := m.ops[name]
	mux.HandleFunc(BerthPath+name, func(w http.ResponseWriter, r *http.Request) {
		id := NewRequestID()
		w.Header().Set("X-Amzn-Requestid", id)
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			m.writeError(w, r, id, unknownOperation(http.StatusMethodNotAllowed, "berth's %s is served by POST %s%s, not %s", name, BerthPath, name, r.Method))
			return
		}
		if ct := r.Header.Get("Content-Type"); !acceptedContentType(ct) {
			e := SerializationException("content type %q is not application/json", ct)
			e.status = http.StatusUnsupportedMediaType
			m.writeError(w, r, id, e)
			return
		}
		m.serve(w, r, id, name, op)
	})
}

// readBody reads a request body of at most MaxBodySize bytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		e := SerializationException("the request body is larger than %d bytes", MaxBodySize)
		e.status = http.StatusRequestEntityTooLarge
		return nil, e
	case err != nil:
		return nil, SerializationException("reading the request body: %v", err)
	}
	return body, nil
}

// RegisterTaskDefinitionIfChangedOutput is berth's
// RegisterTaskDefinitionIfChanged (its input is RegisterTaskDefinition's):
// the family's latest ACTIVE revision when it is the definition given, or
// the new revision registered; Registered says which.
type RegisterTaskDefinitionIfChangedOutput struct {
	RegisterTaskDefinitionOutput
	Registered bool `json:"registered"`
}

// EnsureContainerInstanceInput is berth's EnsureContainerInstance: a
// container instance of the server's engine, registered only when the
// cluster has none, as berth run needs one to run an EC2 task on.
type EnsureContainerInstanceInput struct {
	Cluster    string      `json:"cluster,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
}

// EnsureContainerInstanceOutput says whether an instance was registered,
// and which.
type EnsureContainerInstanceOutput struct {
	Registered        bool               `json:"registered"`
	ContainerInstance *ContainerInstance `json:"containerInstance,omitempty"`
}

// InterruptTaskInput is berth's InterruptTask: a Fargate Spot reclaim of a
// task's capacity, made on demand.
type InterruptTaskInput struct {
	Cluster string `json:"cluster,omitempty"`
	Task    string `json:"task" ecs:"required"`
	// WarningSeconds shortens ECS's two-minute warning, for a class; the
	// task's stopTimeouts still apply within it. 1 to 120; none means 120.
	WarningSeconds *int32 `json:"warningSeconds,omitempty"`
}

// InterruptTaskOutput is what ECS emits when it reclaims the task: its
// task state change, as EventBridge delivers it.
type InterruptTaskOutput struct {
	Event TaskStateChangeEvent `json:"event"`
	// StopBy is when whatever of the task still runs is killed: the end
	// of the warning.
	StopBy Timestamp `json:"stopBy"`
}

// TaskStateChangeEvent is the EventBridge event "ECS Task State Change",
// as Event is, with its detail read.
type TaskStateChangeEvent struct {
	Version    string           `json:"version"`
	ID         string           `json:"id"`
	DetailType string           `json:"detail-type"`
	Source     string           `json:"source"`
	Account    string           `json:"account"`
	Time       time.Time        `json:"time"`
	Region     string           `json:"region"`
	Resources  []string         `json:"resources"`
	Detail     *TaskStateChange `json:"detail"`
}

// MarshalJSON writes the event with its time in whole seconds, UTC.
func (e TaskStateChangeEvent) MarshalJSON() ([]byte, error) {
	return marshalEnvelope(e.Version, e.ID, e.DetailType, e.Source, e.Account, e.Time, e.Region, e.Resources, e.Detail)
}

// DescribeTaskLimitsInput is berth's DescribeTaskLimits: the limits the
// engine enforces on tasks' containers, read back from it.
type DescribeTaskLimitsInput struct {
	Cluster string   `json:"cluster,omitempty"`
	Tasks   []string `json:"tasks" ecs:"required"`
}

// DescribeTaskLimitsOutput holds each task's limits; tasks the server does
// not hold, or whose containers are not on the engine, are failures.
type DescribeTaskLimitsOutput struct {
	Tasks    []TaskLimits `json:"tasks"`
	Failures []Failure    `json:"failures"`
}

// TaskLimits are the limits on one task, as the engine and the kernel hold
// them: the task cgroup its containers share (none for a task without
// task-level cpu or memory), and each container's own.
type TaskLimits struct {
	TaskArn    string `json:"taskArn"`
	LaunchType string `json:"launchType"`
	// CgroupParent is the containers' cgroup parent, /ecs/TASK_ID; empty
	// when the containers have none of their own.
	CgroupParent string            `json:"cgroupParent,omitempty"`
	TaskCgroup   *CgroupLimits     `json:"taskCgroup,omitempty"`
	Containers   []ContainerLimits `json:"containers"`
}

// CgroupLimits are the hard limits of a task cgroup, as its files hold
// them; a zero value is no limit.
type CgroupLimits struct {
	CPUQuotaMicros   int64 `json:"cpuQuotaMicros,omitempty"`
	CPUPeriodMicros  int64 `json:"cpuPeriodMicros,omitempty"`
	MemoryLimitBytes int64 `json:"memoryLimitBytes,omitempty"`
}

// ContainerLimits are a container's limits as the engine reports them (its
// HostConfig, and its stats for what binds it in the end); a zero value
// is none.
type ContainerLimits struct {
	Name      string `json:"name"`
	RuntimeID string `json:"runtimeId"`
	// CPUShares is its relative weight against the other containers.
	CPUShares int64 `json:"cpuShares,omitempty"`
	// NanoCPUs and CPUQuotaMicros are a hard CPU limit of its own.
	NanoCPUs       int64 `json:"nanoCpus,omitempty"`
	CPUQuotaMicros int64 `json:"cpuQuotaMicros,omitempty"`
	// MemoryBytes is its own hard limit; MemoryReservationBytes its soft
	// one, which the kernel reclaims down to under pressure.
	MemoryBytes            int64 `json:"memoryBytes,omitempty"`
	MemoryReservationBytes int64 `json:"memoryReservationBytes,omitempty"`
	// EffectiveMemoryLimitBytes is the lowest hard memory limit over the
	// container, its own or a cgroup's above it (the task's), as the
	// engine's stats report it; zero when the engine does not say.
	EffectiveMemoryLimitBytes int64 `json:"effectiveMemoryLimitBytes,omitempty"`
}
