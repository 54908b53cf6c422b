package agent

// TaskContainerName and PauseContainerName let the tests name a task's
// containers as the agent does.
var TaskContainerName = taskContainerName

const PauseContainerName = pauseContainerName
