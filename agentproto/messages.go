package agentproto

import (
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/taskdef"
)

// The frame types, named as ECS's ACS names its messages where ACS has
// the same message.
const (
	TypeHello           = "Hello"
	TypeWelcome         = "Welcome"
	TypePayload         = "PayloadMessage"
	TypeAck             = "AckRequest"
	TypeTaskStateChange = "TaskStateChange"
	TypeHeartbeat       = "HeartbeatMessage"
	TypeHeartbeatAck    = "HeartbeatAckRequest"
	TypeRefused         = "Refused"
)

// Hello is the agent's first frame on every connection: which container
// instance it is, and every task it runs with the status each has, so that
// the server can say what each should be.
type Hello struct {
	// ContainerInstanceArn is the instance the agent was before (its
	// state directory keeps it); empty registers a new one.
	ContainerInstanceArn string `json:"containerInstanceArn"`
	// RegistrationKey is the key the agent made and kept before its first
	// Hello: a Hello that names no instance registers again the one its
	// key registered, so an agent whose Welcome was lost, and that says
	// Hello again, is still one instance.
	RegistrationKey string `json:"registrationKey,omitempty"`
	Cluster         string `json:"cluster"`
	AgentVersion    string `json:"agentVersion"`
	// EngineAPIVersion is the Docker API version of the agent's engine
	// ("1.41"): the instance's capability attributes
	// (com.amazonaws.ecs.capability.docker-remote-api.*) are its.
	EngineAPIVersion string `json:"engineApiVersion"`
	// Host and Engine say where the agent runs: its host's name and the
	// Docker engine it drives (DOCKER_HOST, or the engine's socket).
	Host   string `json:"host"`
	Engine string `json:"engine"`
	// Registration is what the instance registers with, as the ECS
	// agent's RegisterContainerInstance carries it (resources less what is
	// reserved, attributes, versions); the server registers the instance
	// with it on every connection, under ContainerInstanceArn when set.
	Registration api.RegisterContainerInstanceInput `json:"registration"`
	// EngineReachable is false while the agent's engine does not answer:
	// the instance then takes no new tasks.
	EngineReachable bool         `json:"engineReachable"`
	Tasks           []TaskStatus `json:"tasks"`
}

// TaskStatus is what an agent knows of one of its tasks.
type TaskStatus struct {
	TaskArn       string `json:"taskArn"`
	LastStatus    string `json:"lastStatus"`
	DesiredStatus string `json:"desiredStatus"`
	Version       int64  `json:"version"`
}

// Welcome is the server's answer to Hello: how often to heartbeat, and the
// desired status of each task the agent should run (those it runs and
// the server knows, those the server assigned while it was away), with the
// stop code and reason of those to stop. A task the agent runs that the
// Welcome does not name is none of the server's: the agent leaves it be.
type Welcome struct {
	// ContainerInstanceArn is the instance the agent is: the one Hello
	// named, or a new one for the agent to keep.
	ContainerInstanceArn string `json:"containerInstanceArn"`
	// HeartbeatMillis is how often to heartbeat; an agent silent for
	// three of these is disconnected.
	HeartbeatMillis int64        `json:"heartbeatMillis"`
	Tasks           []Assignment `json:"tasks"`
}

// Refused is the server's answer to a Hello it cannot take (an instance
// deregistered, a cluster deleted), before it closes the connection: the
// agent stops and says why rather than try again.
type Refused struct {
	Reason string `json:"reason"`
}

// PayloadMessage carries assignments: tasks to start (desiredStatus
// RUNNING) and tasks to stop (STOPPED). Each is acknowledged with an
// AckRequest naming MessageID.
type PayloadMessage struct {
	MessageID string       `json:"messageId"`
	SeqNum    int64        `json:"seqNum"`
	Tasks     []Assignment `json:"tasks"`
}

// Assignment is one task as the server wants it on the agent's instance.
// An agent that gets the same assignment again (a payload sent again after
// a reconnect) starts nothing twice: the task ARN names it.
type Assignment struct {
	TaskArn       string `json:"taskArn"`
	DesiredStatus string `json:"desiredStatus"`
	// StopCode and StoppedReason say why, when DesiredStatus is STOPPED.
	StopCode      string `json:"stopCode,omitempty"`
	StoppedReason string `json:"stoppedReason,omitempty"`

	// What the agent needs to start it; absent from a stop.
	Family     string                  `json:"family,omitempty"`
	Revision   int                     `json:"revision,omitempty"`
	Definition *taskdef.TaskDefinition `json:"definition,omitempty"`
	LaunchType string                  `json:"launchType,omitempty"`
	Group      string                  `json:"group,omitempty"`
	StartedBy  string                  `json:"startedBy,omitempty"`
	Overrides  *api.TaskOverride       `json:"overrides,omitempty"`
	// Address is the task's own IPv4 address under awsvpc, as the server
	// provisioned it.
	Address string `json:"address,omitempty"`
}

// AckRequest acknowledges the message MessageID.
type AckRequest struct {
	MessageID string `json:"messageId"`
}

// TaskStateChange reports a task's change, as ECS's SubmitTaskStateChange
// carries it, with the task's version: the server keeps the latest
// version it has, so a report arriving late or twice changes nothing.
type TaskStateChange struct {
	MessageID string                         `json:"messageId"`
	Version   int64                          `json:"version"`
	Change    api.SubmitTaskStateChangeInput `json:"change"`

	// What ECS works out itself from its agent's reports, and berth's
	// agent knows at once: the desired status, why the task stops, its
	// health and its times.
	DesiredStatus string            `json:"desiredStatus"`
	StopCode      string            `json:"stopCode,omitempty"`
	HealthStatus  string            `json:"healthStatus,omitempty"`
	CreatedAt     api.Timestamp     `json:"createdAt,omitzero"`
	StartedAt     api.Timestamp     `json:"startedAt,omitzero"`
	StoppingAt    api.Timestamp     `json:"stoppingAt,omitzero"`
	StoppedAt     api.Timestamp     `json:"stoppedAt,omitzero"`
	Health        map[string]string `json:"containerHealth,omitempty"`
	// Address is the task's own IPv4 address under awsvpc once its
	// network is up: an EC2 task's network interface gets it from the
	// agent's host, as ECS learns it from the ENI the instance attached.
	Address string `json:"address,omitempty"`
}

// HeartbeatMessage and HeartbeatAckRequest keep the connection and the
// instance's agentConnected alive.
// A heartbeat from the agent says whether its engine answers.
type HeartbeatMessage struct {
	MessageID       string `json:"messageId"`
	EngineReachable bool   `json:"engineReachable,omitempty"`
}
