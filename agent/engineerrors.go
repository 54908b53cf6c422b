package agent

import (
	"errors"
	"fmt"
)

// ErrorName names a class of engine failure the way the ECS agent does. The
// name is what users see first in a stopped task's reason.
type ErrorName string

// Engine error names.
const (
	CannotPullContainerError    ErrorName = "CannotPullContainerError"
	CannotCreateContainerError  ErrorName = "CannotCreateContainerError"
	CannotStartContainerError   ErrorName = "CannotStartContainerError"
	CannotStopContainerError    ErrorName = "CannotStopContainerError"
	ResourceInitializationError ErrorName = "ResourceInitializationError"
	ContainerVanishedError      ErrorName = "ContainerVanishedError"
	OutOfMemoryError            ErrorName = "OutOfMemoryError"
)

// EngineError is a failure of the engine while running a task. Its message
// is "NAME: cause", the form of ECS's stoppedReason.
type EngineError struct {
	Name ErrorName
	Err  error
}

func (e *EngineError) Error() string { return string(e.Name) + ": " + e.Err.Error() }

func (e *EngineError) Unwrap() error { return e.Err }

// engineErr wraps err as the named engine error.
func engineErr(name ErrorName, format string, args ...any) *EngineError {
	return &EngineError{Name: name, Err: fmt.Errorf(format, args...)}
}

// ErrorNameOf returns the engine error name err carries, or "".
func ErrorNameOf(err error) ErrorName {
	var ee *EngineError
	if errors.As(err, &ee) {
		return ee.Name
	}
	return ""
}

// Errors callers decide on.
var (
	// ErrTaskNotFound: the agent runs no task with that ARN.
	ErrTaskNotFound = errors.New("task not found")
	// ErrTaskExists: a task with that ARN is already running here.
	ErrTaskExists = errors.New("task already exists")
	// ErrTaskNotStopped: the operation needs a STOPPED task.
	ErrTaskNotStopped = errors.New("task not stopped")
	// ErrClosed: the agent was closed.
	ErrClosed = errors.New("agent closed")
	// ErrInvalidSpec: the task spec cannot be run; the wrapped message names
	// the field.
	ErrInvalidSpec = errors.New("invalid task spec")
)

// The container reason ECS reports for a container the kernel killed for
// exceeding its memory limit.
const reasonOutOfMemory = "OutOfMemoryError: Container killed due to memory usage"
