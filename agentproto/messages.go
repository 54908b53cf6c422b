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
)

// Hello is the agent's first frame on every connection: which container
// instance it is, and every task it runs with the status each has, so that
// the server can say what each should be.
type Hello struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	Cluster              string `json:"cluster"`
	AgentVersion         string `json:"agentVersion"`
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
	HeartbeatSeconds int          `json:"heartbeatSeconds"`
	Tasks            []Assignment `json:"tasks"`
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
}

// HeartbeatMessage and HeartbeatAckRequest keep the connection and the
// instance's agentConnected alive.
type HeartbeatMessage struct {
	MessageID string `json:"messageId"`
}
