package api

import "github.com/berthdev/berth/taskdef"

// The shapes of the ECS API (version 2014-11-13) that the operations of
// this package take and return, with the model's JSON member names. The
// model's Integer is int32, Long int64, Double float64; BoxedInteger and
// BoxedBoolean, whose absence means something else than zero, are pointers.
// Inputs carry every member the model gives them, so that a request the
// AWS CLI or an SDK builds is never refused as unknown; members that berth
// cannot honour are for the operation to refuse (UnsupportedFeatureException).
// Members tagged `ecs:"required"` are required by the model: the decoder
// refuses a request without them.

// Tag is a key and an optional value on a resource; the same shape as a
// task definition's tags.
type Tag = taskdef.Tag

// KeyValuePair is a name and a value (environment, statistics, details);
// the same shape as a task definition's environment.
type KeyValuePair = taskdef.KeyValuePair

// Failure is one item of a batch call that could not be done: Arn names
// the item, Reason says why in ECS's words (MISSING, RESOURCE:MEMORY ...).
type Failure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Attribute is a name and optional value on a target (a container
// instance); TargetType is "container-instance".
type Attribute struct {
	Name       string `json:"name" ecs:"required"`
	Value      string `json:"value,omitempty"`
	TargetType string `json:"targetType,omitempty"`
	TargetID   string `json:"targetId,omitempty"`
}

// Resource is one resource of a container instance. Type says which value
// member holds it: "INTEGER" (CPU, MEMORY), "STRINGSET" (PORTS,
// PORTS_UDP), "LONG" or "DOUBLE".
type Resource struct {
	Name           string   `json:"name,omitempty"`
	Type           string   `json:"type,omitempty"`
	DoubleValue    float64  `json:"doubleValue"`
	LongValue      int64    `json:"longValue"`
	IntegerValue   int32    `json:"integerValue"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

// Attachment is a resource attached to a task or cluster, such as the
// elastic network interface of an awsvpc task.
type Attachment struct {
	ID      string         `json:"id,omitempty"`
	Type    string         `json:"type,omitempty"`
	Status  string         `json:"status,omitempty"`
	Details []KeyValuePair `json:"details,omitempty"`
}

// Detail is the value of the attachment's detail name ("" when it has
// none).
func (a *Attachment) Detail(name string) string {
	for _, d := range a.Details {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

// CapacityProviderStrategyItem weighs a capacity provider.
type CapacityProviderStrategyItem struct {
	CapacityProvider string `json:"capacityProvider" ecs:"required"`
	Weight           int32  `json:"weight,omitempty"`
	Base             int32  `json:"base,omitempty"`
}

// PlacementConstraint is a hard rule of placement: "distinctInstance", or
// "memberOf" with a cluster query expression.
type PlacementConstraint struct {
	Type       string `json:"type,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// PlacementStrategy ranks instances: "random", "spread" or "binpack" on
// Field.
type PlacementStrategy struct {
	Type  string `json:"type,omitempty"`
	Field string `json:"field,omitempty"`
}

// NetworkConfiguration is the network of an awsvpc task.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// AwsVpcConfiguration names the subnets and security groups of a task's
// network interface.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets" ecs:"required"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

// EnvironmentFile is an S3 object of environment variables.
type EnvironmentFile struct {
	Value string `json:"value" ecs:"required"`
	Type  string `json:"type" ecs:"required"`
}

// ResourceRequirement asks for GPUs or an inference accelerator.
type ResourceRequirement struct {
	Value string `json:"value" ecs:"required"`
	Type  string `json:"type" ecs:"required"`
}

// EphemeralStorage sizes a task's ephemeral storage in GiB.
type EphemeralStorage struct {
	SizeInGiB int32 `json:"sizeInGiB" ecs:"required"`
}

// InferenceAccelerator is an Elastic Inference accelerator of a task.
type InferenceAccelerator struct {
	DeviceName string `json:"deviceName" ecs:"required"`
	DeviceType string `json:"deviceType" ecs:"required"`
}

// TaskOverride changes a task definition for one task (RunTask,
// StartTask), and is reported back on the task.
type TaskOverride struct {
	ContainerOverrides            []ContainerOverride            `json:"containerOverrides,omitempty"`
	CPU                           string                         `json:"cpu,omitempty"`
	InferenceAcceleratorOverrides []InferenceAcceleratorOverride `json:"inferenceAcceleratorOverrides,omitempty"`
	ExecutionRoleArn              string                         `json:"executionRoleArn,omitempty"`
	Memory                        string                         `json:"memory,omitempty"`
	TaskRoleArn                   string                         `json:"taskRoleArn,omitempty"`
	EphemeralStorage              *EphemeralStorage              `json:"ephemeralStorage,omitempty"`
}

// ContainerOverride changes one container of the task definition.
type ContainerOverride struct {
	Name                 string                `json:"name,omitempty"`
	Command              []string              `json:"command,omitempty"`
	Environment          []KeyValuePair        `json:"environment,omitempty"`
	EnvironmentFiles     []EnvironmentFile     `json:"environmentFiles,omitempty"`
	CPU                  *int32                `json:"cpu,omitempty"`
	Memory               *int32                `json:"memory,omitempty"`
	MemoryReservation    *int32                `json:"memoryReservation,omitempty"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
}

// InferenceAcceleratorOverride changes an inference accelerator's type.
type InferenceAcceleratorOverride struct {
	DeviceName string `json:"deviceName,omitempty"`
	DeviceType string `json:"deviceType,omitempty"`
}

// TaskVolumeConfiguration configures, at launch, a volume of the task
// definition marked configuredAtLaunch (an EBS volume managed by ECS).
type TaskVolumeConfiguration struct {
	Name             string                             `json:"name" ecs:"required"`
	ManagedEBSVolume *TaskManagedEBSVolumeConfiguration `json:"managedEBSVolume,omitempty"`
}

// TaskManagedEBSVolumeConfiguration is an EBS volume ECS creates for a task.
type TaskManagedEBSVolumeConfiguration struct {
	Encrypted                *bool                                  `json:"encrypted,omitempty"`
	KmsKeyID                 string                                 `json:"kmsKeyId,omitempty"`
	VolumeType               string                                 `json:"volumeType,omitempty"`
	SizeInGiB                *int32                                 `json:"sizeInGiB,omitempty"`
	SnapshotID               string                                 `json:"snapshotId,omitempty"`
	VolumeInitializationRate *int32                                 `json:"volumeInitializationRate,omitempty"`
	Iops                     *int32                                 `json:"iops,omitempty"`
	Throughput               *int32                                 `json:"throughput,omitempty"`
	TagSpecifications        []EBSTagSpecification                  `json:"tagSpecifications,omitempty"`
	RoleArn                  string                                 `json:"roleArn" ecs:"required"`
	TerminationPolicy        *TaskManagedEBSVolumeTerminationPolicy `json:"terminationPolicy,omitempty"`
	FilesystemType           string                                 `json:"filesystemType,omitempty"`
}

// EBSTagSpecification tags the EBS volumes ECS creates.
type EBSTagSpecification struct {
	ResourceType  string `json:"resourceType" ecs:"required"`
	Tags          []Tag  `json:"tags,omitempty"`
	PropagateTags string `json:"propagateTags,omitempty"`
}

// TaskManagedEBSVolumeTerminationPolicy says whether the volume outlives
// the task.
type TaskManagedEBSVolumeTerminationPolicy struct {
	DeleteOnTermination *bool `json:"deleteOnTermination" ecs:"required"`
}
