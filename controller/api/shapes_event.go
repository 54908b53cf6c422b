package api

import (
	"encoding/json"
	"time"
)

// EventBridge's detail types of the events ECS sends, which berth server
// answers at GET /v1/events.
const (
	DetailTypeTask     = "ECS Task State Change"
	DetailTypeInstance = "ECS Container Instance State Change"
)

// Event is an event as EventBridge delivers it: ECS sends one for each
// change of a task or a container instance, with the task (as
// DescribeTasks shows it) or the instance (as DescribeContainerInstances
// shows it) in Detail.
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
