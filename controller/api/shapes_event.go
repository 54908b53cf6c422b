package api

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventBridge's detail types of the events ECS sends, which berth server
// answers at GET /berth/v1/events.
const (
	DetailTypeTask     = "ECS Task State Change"
	DetailTypeInstance = "ECS Container Instance State Change"
)

// Event is an event as EventBridge delivers it: ECS sends one for each
// change of a task (Detail a TaskStateChange) or of a container instance
// (Detail a ContainerInstanceStateChange). Time is written in whole
// seconds, as EventBridge writes it ("2020-01-23T17:57:58Z"); the server
// keeps it whole, so that --since reads the events as they happened.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// MarshalJSON writes the event with its time in whole seconds, UTC.
func (e Event) MarshalJSON() ([]byte, error) {
	return marshalEnvelope(e.Version, e.ID, e.DetailType, e.Source, e.Account, e.Time, e.Region, e.Resources, e.Detail)
}

// envelope is an event as EventBridge writes it.
type envelope struct {
	Version    string   `json:"version"`
	ID         string   `json:"id"`
	DetailType string   `json:"detail-type"`
	Source     string   `json:"source"`
	Account    string   `json:"account"`
	Time       string   `json:"time"`
	Region     string   `json:"region"`
	Resources  []string `json:"resources"`
	Detail     any      `json:"detail"`
}

// marshalEnvelope writes an event with its time in whole seconds, UTC
// ("2020-01-23T17:57:58Z"), as EventBridge does.
func marshalEnvelope(version, id, detailType, source, account string, at time.Time, region string, resources []string, detail any) ([]byte, error) {
	return json.Marshal(envelope{Version: version, ID: id, DetailType: detailType, Source: source, Account: account,
		Time: at.UTC().Truncate(time.Second).Format(time.RFC3339), Region: region, Resources: resources, Detail: detail})
}

// EventTime is a time in an event's detail: an ISO-8601 string in UTC
// with milliseconds ("2020-01-23T17:57:34.402Z"), as EventBridge carries
// the task's and the instance's times, where the ECS API carries epoch
// seconds (Timestamp). Use the `omitzero` tag option, as with Timestamp.
type EventTime struct {
	time.Time
}

// eventTimeLayout is EventTime's form.
const eventTimeLayout = "2006-01-02T15:04:05.000Z"

// EventTimeOf converts an API timestamp.
func EventTimeOf(t Timestamp) EventTime { return EventTime(t) }

// MarshalJSON writes the ISO-8601 string; a zero time is null.
func (t EventTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Truncate(time.Millisecond).Format(eventTimeLayout))
}

// UnmarshalJSON reads an ISO-8601 string (RFC 3339); null leaves it zero.
func (t *EventTime) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*t = EventTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("want an ISO-8601 time string, got %s", data)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want an ISO-8601 time string: %w", err)
	}
	*t = EventTime{Time: v.UTC()}
	return nil
}

// AttachmentTypeENIEvent is the type an ENI attachment has in a task's
// event: "eni", where DescribeTasks says "ElasticNetworkInterface".
const AttachmentTypeENIEvent = "eni"

// attachmentTypeENI is the type DescribeTasks gives an ENI attachment.
const attachmentTypeENI = "ElasticNetworkInterface"

// TaskStateChange is the detail of an "ECS Task State Change": the task as
// DescribeTasks shows it, with the members the event's schema has (no
// tags, no health: ECS leaves the task's health out of its events), its
// times as ISO-8601 strings, its ENI attachments of type "eni", and
// updatedAt, when it changed. Version grows by one at each change.
type TaskStateChange struct {
	Attachments          []Attachment     `json:"attachments,omitempty"`
	Attributes           []Attribute      `json:"attributes,omitempty"`
	AvailabilityZone     string           `json:"availabilityZone,omitempty"`
	CapacityProviderName string           `json:"capacityProviderName,omitempty"`
	ClusterArn           string           `json:"clusterArn,omitempty"`
	Connectivity         string           `json:"connectivity,omitempty"`
	ConnectivityAt       EventTime        `json:"connectivityAt,omitzero"`
	ContainerInstanceArn string           `json:"containerInstanceArn,omitempty"`
	Containers           []EventContainer `json:"containers,omitempty"`
	CPU                  string           `json:"cpu,omitempty"`
	CreatedAt            EventTime        `json:"createdAt,omitzero"`
	DesiredStatus        string           `json:"desiredStatus,omitempty"`
	ExecutionStoppedAt   EventTime        `json:"executionStoppedAt,omitzero"`
	Group                string           `json:"group,omitempty"`
	LastStatus           string           `json:"lastStatus,omitempty"`
	LaunchType           string           `json:"launchType,omitempty"`
	Memory               string           `json:"memory,omitempty"`
	Overrides            *TaskOverride    `json:"overrides,omitempty"`
	PlatformVersion      string           `json:"platformVersion,omitempty"`
	PullStartedAt        EventTime        `json:"pullStartedAt,omitzero"`
	PullStoppedAt        EventTime        `json:"pullStoppedAt,omitzero"`
	StartedAt            EventTime        `json:"startedAt,omitzero"`
	StartedBy            string           `json:"startedBy,omitempty"`
	StopCode             string           `json:"stopCode,omitempty"`
	StoppedAt            EventTime        `json:"stoppedAt,omitzero"`
	StoppedReason        string           `json:"stoppedReason,omitempty"`
	StoppingAt           EventTime        `json:"stoppingAt,omitzero"`
	TaskArn              string           `json:"taskArn,omitempty"`
	TaskDefinitionArn    string           `json:"taskDefinitionArn,omitempty"`
	UpdatedAt            EventTime        `json:"updatedAt"`
	Version              int64            `json:"version"`
}

// EventContainer is a container of a task's event.
type EventContainer struct {
	ContainerArn      string             `json:"containerArn,omitempty"`
	CPU               string             `json:"cpu,omitempty"`
	ExitCode          *int32             `json:"exitCode,omitempty"`
	GpuIDs            []string           `json:"gpuIds,omitempty"`
	Image             string             `json:"image,omitempty"`
	ImageDigest       string             `json:"imageDigest,omitempty"`
	LastStatus        string             `json:"lastStatus,omitempty"`
	Memory            string             `json:"memory,omitempty"`
	MemoryReservation string             `json:"memoryReservation,omitempty"`
	Name              string             `json:"name,omitempty"`
	NetworkBindings   []NetworkBinding   `json:"networkBindings,omitempty"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces,omitempty"`
	Reason            string             `json:"reason,omitempty"`
	RuntimeID         string             `json:"runtimeId,omitempty"`
	TaskArn           string             `json:"taskArn,omitempty"`
}

// NewTaskStateChange is the detail of t's change at updatedAt.
func NewTaskStateChange(t *Task, updatedAt time.Time) *TaskStateChange {
	d := &TaskStateChange{
		Attributes: t.Attributes, AvailabilityZone: t.AvailabilityZone, CapacityProviderName: t.CapacityProviderName,
		ClusterArn: t.ClusterArn, Connectivity: t.Connectivity, ConnectivityAt: EventTimeOf(t.ConnectivityAt),
		ContainerInstanceArn: t.ContainerInstanceArn, CPU: t.CPU, CreatedAt: EventTimeOf(t.CreatedAt), DesiredStatus: t.DesiredStatus,
		ExecutionStoppedAt: EventTimeOf(t.ExecutionStoppedAt), Group: t.Group, LastStatus: t.LastStatus, LaunchType: t.LaunchType,
		Memory: t.Memory, Overrides: t.Overrides, PlatformVersion: t.PlatformVersion, PullStartedAt: EventTimeOf(t.PullStartedAt),
		PullStoppedAt: EventTimeOf(t.PullStoppedAt), StartedAt: EventTimeOf(t.StartedAt), StartedBy: t.StartedBy, StopCode: t.StopCode,
		StoppedAt: EventTimeOf(t.StoppedAt), StoppedReason: t.StoppedReason, StoppingAt: EventTimeOf(t.StoppingAt), TaskArn: t.TaskArn,
		TaskDefinitionArn: t.TaskDefinitionArn, UpdatedAt: EventTime{Time: updatedAt}, Version: t.Version,
	}
	for _, a := range t.Attachments {
		if a.Type == attachmentTypeENI {
			a.Type = AttachmentTypeENIEvent
		}
		d.Attachments = append(d.Attachments, a)
	}
	for _, c := range t.Containers {
		d.Containers = append(d.Containers, EventContainer{ContainerArn: c.ContainerArn, CPU: c.CPU, ExitCode: c.ExitCode, GpuIDs: c.GpuIDs,
			Image: c.Image, ImageDigest: c.ImageDigest, LastStatus: c.LastStatus, Memory: c.Memory, MemoryReservation: c.MemoryReservation,
			Name: c.Name, NetworkBindings: c.NetworkBindings, NetworkInterfaces: c.NetworkInterfaces, Reason: c.Reason, RuntimeID: c.RuntimeID,
			TaskArn: c.TaskArn})
	}
	return d
}

// Task is the task the detail tells of, in DescribeTasks' shape, with
// what the event carries of it: a reader of the events (berth run) reads
// each change as it reads DescribeTasks' answer.
func (d *TaskStateChange) Task() Task {
	t := Task{
		Attributes: d.Attributes, AvailabilityZone: d.AvailabilityZone, CapacityProviderName: d.CapacityProviderName,
		ClusterArn: d.ClusterArn, Connectivity: d.Connectivity, ConnectivityAt: Timestamp(d.ConnectivityAt),
		ContainerInstanceArn: d.ContainerInstanceArn, CPU: d.CPU, CreatedAt: Timestamp(d.CreatedAt), DesiredStatus: d.DesiredStatus,
		ExecutionStoppedAt: Timestamp(d.ExecutionStoppedAt), Group: d.Group, LastStatus: d.LastStatus, LaunchType: d.LaunchType,
		Memory: d.Memory, Overrides: d.Overrides, PlatformVersion: d.PlatformVersion, PullStartedAt: Timestamp(d.PullStartedAt),
		PullStoppedAt: Timestamp(d.PullStoppedAt), StartedAt: Timestamp(d.StartedAt), StartedBy: d.StartedBy, StopCode: d.StopCode,
		StoppedAt: Timestamp(d.StoppedAt), StoppedReason: d.StoppedReason, StoppingAt: Timestamp(d.StoppingAt), TaskArn: d.TaskArn,
		TaskDefinitionArn: d.TaskDefinitionArn, Version: d.Version,
	}
	for _, a := range d.Attachments {
		if a.Type == AttachmentTypeENIEvent {
			a.Type = attachmentTypeENI
		}
		t.Attachments = append(t.Attachments, a)
	}
	for _, c := range d.Containers {
		t.Containers = append(t.Containers, Container{ContainerArn: c.ContainerArn, CPU: c.CPU, ExitCode: c.ExitCode, GpuIDs: c.GpuIDs,
			Image: c.Image, ImageDigest: c.ImageDigest, LastStatus: c.LastStatus, Memory: c.Memory, MemoryReservation: c.MemoryReservation,
			Name: c.Name, NetworkBindings: c.NetworkBindings, NetworkInterfaces: c.NetworkInterfaces, Reason: c.Reason, RuntimeID: c.RuntimeID,
			TaskArn: c.TaskArn})
	}
	return t
}

// ContainerInstanceStateChange is the detail of an "ECS Container Instance
// State Change": the instance as DescribeContainerInstances shows it,
// with the members the event's schema has (berth's own berthAgent is
// not one), its cluster's ARN, its registration time as an ISO-8601
// string, and updatedAt, when it changed.
type ContainerInstanceStateChange struct {
	AgentConnected       bool            `json:"agentConnected"`
	AgentUpdateStatus    string          `json:"agentUpdateStatus,omitempty"`
	Attachments          []Attachment    `json:"attachments,omitempty"`
	Attributes           []Attribute     `json:"attributes,omitempty"`
	ClusterArn           string          `json:"clusterArn,omitempty"`
	ContainerInstanceArn string          `json:"containerInstanceArn,omitempty"`
	Ec2InstanceID        string          `json:"ec2InstanceId,omitempty"`
	PendingTasksCount    int32           `json:"pendingTasksCount"`
	RegisteredAt         EventTime       `json:"registeredAt,omitzero"`
	RegisteredResources  []EventResource `json:"registeredResources,omitempty"`
	RemainingResources   []EventResource `json:"remainingResources,omitempty"`
	RunningTasksCount    int32           `json:"runningTasksCount"`
	Status               string          `json:"status,omitempty"`
	StatusReason         string          `json:"statusReason,omitempty"`
	UpdatedAt            EventTime       `json:"updatedAt"`
	Version              int64           `json:"version"`
	VersionInfo          *VersionInfo    `json:"versionInfo,omitempty"`
}

// NewContainerInstanceStateChange is the detail of in's change, in the
// cluster clusterArn, at updatedAt.
func NewContainerInstanceStateChange(in *ContainerInstance, clusterArn string, updatedAt time.Time) *ContainerInstanceStateChange {
	return &ContainerInstanceStateChange{
		AgentConnected: in.AgentConnected, AgentUpdateStatus: in.AgentUpdateStatus, Attachments: in.Attachments, Attributes: in.Attributes,
		ClusterArn: clusterArn, ContainerInstanceArn: in.ContainerInstanceArn, Ec2InstanceID: in.Ec2InstanceID,
		PendingTasksCount: in.PendingTasksCount, RegisteredAt: EventTimeOf(in.RegisteredAt), RegisteredResources: eventResources(in.RegisteredResources),
		RemainingResources: eventResources(in.RemainingResources), RunningTasksCount: in.RunningTasksCount, Status: in.Status, StatusReason: in.StatusReason,
		UpdatedAt: EventTime{Time: updatedAt}, Version: in.Version, VersionInfo: in.VersionInfo,
	}
}

// EventResource is a resource of an instance's event: only the value its
// type names is written ("integerValue" of an INTEGER, "stringSetValue"
// of a STRINGSET), as ECS's events write it.
type EventResource Resource

func eventResources(rs []Resource) []EventResource {
	out := make([]EventResource, len(rs))
	for i, r := range rs {
		out[i] = EventResource(r)
	}
	return out
}

// MarshalJSON writes the name, the type and the value of that type.
func (r EventResource) MarshalJSON() ([]byte, error) {
	out := struct {
		Name           string    `json:"name"`
		Type           string    `json:"type"`
		IntegerValue   *int32    `json:"integerValue,omitempty"`
		LongValue      *int64    `json:"longValue,omitempty"`
		DoubleValue    *float64  `json:"doubleValue,omitempty"`
		StringSetValue *[]string `json:"stringSetValue,omitempty"`
	}{Name: r.Name, Type: r.Type}
	switch r.Type {
	case "INTEGER":
		out.IntegerValue = &r.IntegerValue
	case "LONG":
		out.LongValue = &r.LongValue
	case "DOUBLE":
		out.DoubleValue = &r.DoubleValue
	case "STRINGSET":
		set := append([]string{}, r.StringSetValue...)
		out.StringSetValue = &set
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *EventResource) UnmarshalJSON(data []byte) error {
	return json.Unmarshal(data, (*Resource)(r))
}
