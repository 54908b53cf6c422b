package agent

// NewTaskARN makes a task ARN of the form ECS uses, with a 32-hex-digit ID,
// for a caller that records the task before the agent starts it.
func NewTaskARN(region, account, cluster string) string {
	return newTaskARN(region, account, cluster)
}
