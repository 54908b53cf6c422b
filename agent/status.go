package agent

// TaskStatus is where a task is in its life. The values are ordered: a task
// only ever moves to a greater status, so "has it started yet" is a
// comparison, and the API name of each status is data, not a switch spread
// over the code.
type TaskStatus int

// Task statuses in the order ECS moves through them.
const (
	TaskStatusNone TaskStatus = iota
	TaskProvisioning
	TaskPending
	TaskActivating
	TaskRunning
	TaskDeactivating
	TaskStopping
	TaskDeprovisioning
	TaskStopped
	TaskDeleted
)

var taskStatusNames = [...]string{
	TaskStatusNone:     "NONE",
	TaskProvisioning:   "PROVISIONING",
	TaskPending:        "PENDING",
	TaskActivating:     "ACTIVATING",
	TaskRunning:        "RUNNING",
	TaskDeactivating:   "DEACTIVATING",
	TaskStopping:       "STOPPING",
	TaskDeprovisioning: "DEPROVISIONING",
	TaskStopped:        "STOPPED",
	TaskDeleted:        "DELETED",
}

// String returns the name the ECS API uses for the status.
func (s TaskStatus) String() string {
	if s < 0 || int(s) >= len(taskStatusNames) {
		return "UNKNOWN"
	}
	return taskStatusNames[s]
}

// ParseTaskStatus returns the status the API calls name.
func ParseTaskStatus(name string) (TaskStatus, bool) {
	for s, n := range taskStatusNames {
		if n == name {
			return TaskStatus(s), true
		}
	}
	return TaskStatusNone, false
}

// ContainerStatus is where a container is in its life, ordered like
// TaskStatus.
type ContainerStatus int

// Container statuses. Created is the agent's own step between Pending and
// Running (the Docker container exists but has not been started); the API
// shows it as PENDING.
const (
	ContainerStatusNone ContainerStatus = iota
	ContainerPending
	ContainerCreated
	ContainerRunning
	ContainerStopped
)

var containerStatusNames = [...]string{
	ContainerStatusNone: "NONE",
	ContainerPending:    "PENDING",
	ContainerCreated:    "PENDING",
	ContainerRunning:    "RUNNING",
	ContainerStopped:    "STOPPED",
}

// String returns the name the ECS API uses for the status.
func (s ContainerStatus) String() string {
	if s < 0 || int(s) >= len(containerStatusNames) {
		return "UNKNOWN"
	}
	return containerStatusNames[s]
}

// HealthStatus is the health of a container or of a task.
type HealthStatus int

// Health statuses. Unknown means no health check, or none has decided yet.
const (
	HealthUnknown HealthStatus = iota
	HealthHealthy
	HealthUnhealthy
)

// String returns the name the ECS API uses for the health status.
func (h HealthStatus) String() string {
	switch h {
	case HealthHealthy:
		return "HEALTHY"
	case HealthUnhealthy:
		return "UNHEALTHY"
	default:
		return "UNKNOWN"
	}
}

// StopCode says why a task stopped, in ECS's words.
type StopCode string

// Stop codes ECS reports.
const (
	StopTaskFailedToStart          StopCode = "TaskFailedToStart"
	StopEssentialContainerExited   StopCode = "EssentialContainerExited"
	StopUserInitiated              StopCode = "UserInitiated"
	StopServiceSchedulerInitiated  StopCode = "ServiceSchedulerInitiated"
	StopSpotInterruption           StopCode = "SpotInterruption"
	StopTerminationNotice          StopCode = "TerminationNotice"
	reasonEssentialContainerExited          = "Essential container in task exited"
	reasonUserStopped                       = "Task stopped by user"
)

// StopCodes are all the stop codes above, for what must know them before
// any task stops: the metrics make a series of stops of each at zero.
var StopCodes = []StopCode{
	StopTaskFailedToStart, StopEssentialContainerExited, StopUserInitiated,
	StopServiceSchedulerInitiated, StopSpotInterruption, StopTerminationNotice,
}
