package api

import (
	"fmt"
	"net/http"
)

// Error is an ECS API error: Type is the error shape's name
// (ClusterNotFoundException, InvalidParameterException ...), sent as the
// `__type` member and the X-Amzn-ErrorType header, which the AWS SDKs map to
// their typed errors (*types.ClusterNotFoundException in Go). Message is
// shown to the user. Err, when set, is the cause: it is logged, never sent.
type Error struct {
	Type    string
	Message string
	Err     error
	status  int
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Type, e.Message, e.Err)
	}
	return e.Type + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error of the same Type, so that callers may test
// errors.Is(err, &api.Error{Type: api.TypeClusterNotFound}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Type == e.Type && (t.Message == "" || t.Message == e.Message)
}

// HTTPStatus is the status the error is answered with: 500 for
// ServerException, the protocol's own status for requests that never reached
// an operation (405, 413, 415), 400 for everything else, as ECS answers.
func (e *Error) HTTPStatus() int {
	switch {
	case e.status != 0:
		return e.status
	case e.Type == TypeServer:
		return http.StatusInternalServerError
	default:
		return http.StatusBadRequest
	}
}

// Error types. The first group are ECS's own error shapes (the SDKs have a
// typed error for each); the last ones belong to the AWS JSON protocol.
const (
	TypeClient                                = "ClientException"
	TypeInvalidParameter                      = "InvalidParameterException"
	TypeClusterNotFound                       = "ClusterNotFoundException"
	TypeClusterContainsContainerInstances     = "ClusterContainsContainerInstancesException"
	TypeClusterContainsTasks                  = "ClusterContainsTasksException"
	TypeClusterContainsServices               = "ClusterContainsServicesException"
	TypeResourceInUse                         = "ResourceInUseException"
	TypeLimitExceeded                         = "LimitExceededException"
	TypeAttributeLimitExceeded                = "AttributeLimitExceededException"
	TypeAccessDenied                          = "AccessDeniedException"
	TypeResourceNotFound                      = "ResourceNotFoundException"
	TypeTargetNotFound                        = "TargetNotFoundException"
	TypeUnsupportedFeature                    = "UnsupportedFeatureException"
	TypeServiceNotFound                       = "ServiceNotFoundException"
	TypePlatformUnknown                       = "PlatformUnknownException"
	TypePlatformTaskDefinitionIncompatibility = "PlatformTaskDefinitionIncompatibilityException"
	TypeConflict                              = "ConflictException"
	TypeServer                                = "ServerException"

	// TypeThrottling is not an ECS shape, but the SDKs' retryers know it
	// and back off, which is what berth wants of a client it sheds.
	TypeThrottling = "ThrottlingException"
	// TypeSerialization is what AWS JSON services answer when the body
	// cannot be read as the operation's input: malformed JSON, a value of
	// the wrong type, or (in berth) a member the input does not have.
	TypeSerialization = "SerializationException"
	// TypeUnknownOperation is what AWS JSON services answer for a target
	// they do not serve.
	TypeUnknownOperation = "UnknownOperationException"
)

func newError(typ, format string, args []any) *Error {
	return &Error{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// ClientException: the request is wrong in a way the caller can fix (an
// unknown task definition, a task not found ...).
func ClientException(format string, args ...any) *Error {
	return newError(TypeClient, format, args)
}

// InvalidParameterException: a parameter's value breaks ECS's rules.
func InvalidParameterException(format string, args ...any) *Error {
	return newError(TypeInvalidParameter, format, args)
}

// ClusterNotFoundException: the named cluster does not exist. ECS's words
// are "Cluster not found.", the default when message is empty.
func ClusterNotFoundException(format string, args ...any) *Error {
	if format == "" {
		format = "Cluster not found."
	}
	return newError(TypeClusterNotFound, format, args)
}

// ClusterContainsContainerInstancesException: DeleteCluster on a cluster
// that still has registered instances.
func ClusterContainsContainerInstancesException(format string, args ...any) *Error {
	return newError(TypeClusterContainsContainerInstances, format, args)
}

// ClusterContainsTasksException: DeleteCluster on a cluster with tasks.
func ClusterContainsTasksException(format string, args ...any) *Error {
	return newError(TypeClusterContainsTasks, format, args)
}

// ClusterContainsServicesException: DeleteCluster on a cluster with services.
func ClusterContainsServicesException(format string, args ...any) *Error {
	return newError(TypeClusterContainsServices, format, args)
}

// ConflictException: the request conflicts with an earlier one: a RunTask
// client token used before with other parameters.
func ConflictException(format string, args ...any) *Error {
	return newError(TypeConflict, format, args)
}

// ResourceInUseException: the resource is in use and cannot be removed.
func ResourceInUseException(format string, args ...any) *Error {
	return newError(TypeResourceInUse, format, args)
}

// LimitExceededException: a quota would be exceeded.
func LimitExceededException(format string, args ...any) *Error {
	return newError(TypeLimitExceeded, format, args)
}

// AttributeLimitExceededException: more than 10 custom attributes on a
// resource (PutAttributes).
func AttributeLimitExceededException(format string, args ...any) *Error {
	return newError(TypeAttributeLimitExceeded, format, args)
}

// AccessDeniedException: the caller may not do this.
func AccessDeniedException(format string, args ...any) *Error {
	return newError(TypeAccessDenied, format, args)
}

// ResourceNotFoundException: the resource named (tagging) does not exist.
func ResourceNotFoundException(format string, args ...any) *Error {
	return newError(TypeResourceNotFound, format, args)
}

// TargetNotFoundException: the target of an attribute does not exist.
func TargetNotFoundException(format string, args ...any) *Error {
	return newError(TypeTargetNotFound, format, args)
}

// UnsupportedFeatureException: ECS has the feature, berth does not.
func UnsupportedFeatureException(format string, args ...any) *Error {
	return newError(TypeUnsupportedFeature, format, args)
}

// ThrottlingException: too many requests; the SDKs retry with backoff.
func ThrottlingException(format string, args ...any) *Error {
	return newError(TypeThrottling, format, args)
}

// ServerException: berth failed, not the caller. Answered with HTTP 500.
func ServerException(format string, args ...any) *Error {
	return newError(TypeServer, format, args)
}

// SerializationException: the body is not the operation's input.
func SerializationException(format string, args ...any) *Error {
	return newError(TypeSerialization, format, args)
}

func unknownOperation(status int, format string, args ...any) *Error {
	e := newError(TypeUnknownOperation, format, args)
	e.status = status
	return e
}
