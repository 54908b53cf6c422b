package api

// Task is a task as DescribeTasks shows it.
type Task struct {
	Attachments             []Attachment           `json:"attachments,omitempty"`
	Attributes              []Attribute            `json:"attributes,omitempty"`
	AvailabilityZone        string                 `json:"availabilityZone,omitempty"`
	CapacityProviderName    string                 `json:"capacityProviderName,omitempty"`
	ClusterArn              string                 `json:"clusterArn,omitempty"`
	Connectivity            string                 `json:"connectivity,omitempty"`
	ConnectivityAt          Timestamp              `json:"connectivityAt,omitzero"`
	ContainerInstanceArn    string                 `json:"containerInstanceArn,omitempty"`
	Containers              []Container            `json:"containers,omitempty"`
	CPU                     string                 `json:"cpu,omitempty"`
	CreatedAt               Timestamp              `json:"createdAt,omitzero"`
	DesiredStatus           string                 `json:"desiredStatus,omitempty"`
	EnableExecuteCommand    bool                   `json:"enableExecuteCommand"`
	ExecutionStoppedAt      Timestamp              `json:"executionStoppedAt,omitzero"`
	Group                   string                 `json:"group,omitempty"`
	HealthStatus            string                 `json:"healthStatus,omitempty"`
	InferenceAccelerators   []InferenceAccelerator `json:"inferenceAccelerators,omitempty"`
	LastStatus              string                 `json:"lastStatus,omitempty"`
	LaunchType              string                 `json:"launchType,omitempty"`
	Memory                  string                 `json:"memory,omitempty"`
	Overrides               *TaskOverride          `json:"overrides,omitempty"`
	PlatformVersion         string                 `json:"platformVersion,omitempty"`
	PlatformFamily          string                 `json:"platformFamily,omitempty"`
	PullStartedAt           Timestamp              `json:"pullStartedAt,omitzero"`
	PullStoppedAt           Timestamp              `json:"pullStoppedAt,omitzero"`
	StartedAt               Timestamp              `json:"startedAt,omitzero"`
	StartedBy               string                 `json:"startedBy,omitempty"`
	StopCode                string                 `json:"stopCode,omitempty"`
	StoppedAt               Timestamp              `json:"stoppedAt,omitzero"`
	StoppedReason           string                 `json:"stoppedReason,omitempty"`
	StoppingAt              Timestamp              `json:"stoppingAt,omitzero"`
	Tags                    []Tag                  `json:"tags,omitempty"`
	TaskArn                 string                 `json:"taskArn,omitempty"`
	TaskDefinitionArn       string                 `json:"taskDefinitionArn,omitempty"`
	Version                 int64                  `json:"version"`
	EphemeralStorage        *EphemeralStorage      `json:"ephemeralStorage,omitempty"`
	FargateEphemeralStorage *TaskEphemeralStorage  `json:"fargateEphemeralStorage,omitempty"`
}

// Task stop codes.
const (
	StopCodeTaskFailedToStart         = "TaskFailedToStart"
	StopCodeEssentialContainerExited  = "EssentialContainerExited"
	StopCodeUserInitiated             = "UserInitiated"
	StopCodeServiceSchedulerInitiated = "ServiceSchedulerInitiated"
	StopCodeSpotInterruption          = "SpotInterruption"
	StopCodeTerminationNotice         = "TerminationNotice"
)

// TaskEphemeralStorage is the ephemeral storage a Fargate task got.
type TaskEphemeralStorage struct {
	SizeInGiB int32  `json:"sizeInGiB,omitempty"`
	KmsKeyID  string `json:"kmsKeyId,omitempty"`
}

// Container is one container of a task. ExitCode is nil until the
// container has exited.
type Container struct {
	ContainerArn      string             `json:"containerArn,omitempty"`
	TaskArn           string             `json:"taskArn,omitempty"`
	Name              string             `json:"name,omitempty"`
	Image             string             `json:"image,omitempty"`
	ImageDigest       string             `json:"imageDigest,omitempty"`
	RuntimeID         string             `json:"runtimeId,omitempty"`
	LastStatus        string             `json:"lastStatus,omitempty"`
	ExitCode          *int32             `json:"exitCode,omitempty"`
	Reason            string             `json:"reason,omitempty"`
	NetworkBindings   []NetworkBinding   `json:"networkBindings,omitempty"`
	NetworkInterfaces []NetworkInterface `json:"networkInterfaces,omitempty"`
	HealthStatus      string             `json:"healthStatus,omitempty"`
	ManagedAgents     []ManagedAgent     `json:"managedAgents,omitempty"`
	CPU               string             `json:"cpu,omitempty"`
	Memory            string             `json:"memory,omitempty"`
	MemoryReservation string             `json:"memoryReservation,omitempty"`
	GpuIDs            []string           `json:"gpuIds,omitempty"`
}

// NetworkBinding is a port of a container bound on the host.
type NetworkBinding struct {
	BindIP             string `json:"bindIP,omitempty"`
	ContainerPort      *int32 `json:"containerPort,omitempty"`
	HostPort           *int32 `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	HostPortRange      string `json:"hostPortRange,omitempty"`
}

// NetworkInterface is the network interface of an awsvpc task's container.
type NetworkInterface struct {
	AttachmentID       string `json:"attachmentId,omitempty"`
	PrivateIpv4Address string `json:"privateIpv4Address,omitempty"`
	Ipv6Address        string `json:"ipv6Address,omitempty"`
}

// ManagedAgent is an agent ECS runs in a container (ExecuteCommandAgent).
type ManagedAgent struct {
	LastStartedAt Timestamp `json:"lastStartedAt,omitzero"`
	Name          string    `json:"name,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	LastStatus    string    `json:"lastStatus,omitempty"`
}

// RunTaskInput is the input of RunTask. Count is 1–10, 1 when nil.
type RunTaskInput struct {
	CapacityProviderStrategy []CapacityProviderStrategyItem `json:"capacityProviderStrategy,omitempty"`
	Cluster                  string                         `json:"cluster,omitempty"`
	Count                    *int32                         `json:"count,omitempty"`
	EnableECSManagedTags     bool                           `json:"enableECSManagedTags,omitempty"`
	EnableExecuteCommand     bool                           `json:"enableExecuteCommand,omitempty"`
	Group                    string                         `json:"group,omitempty"`
	LaunchType               string                         `json:"launchType,omitempty"`
	NetworkConfiguration     *NetworkConfiguration          `json:"networkConfiguration,omitempty"`
	Overrides                *TaskOverride                  `json:"overrides,omitempty"`
	PlacementConstraints     []PlacementConstraint          `json:"placementConstraints,omitempty"`
	PlacementStrategy        []PlacementStrategy            `json:"placementStrategy,omitempty"`
	PlatformVersion          string                         `json:"platformVersion,omitempty"`
	PropagateTags            string                         `json:"propagateTags,omitempty"`
	ReferenceID              string                         `json:"referenceId,omitempty"`
	StartedBy                string                         `json:"startedBy,omitempty"`
	Tags                     []Tag                          `json:"tags,omitempty"`
	TaskDefinition           string                         `json:"taskDefinition" ecs:"required"`
	ClientToken              string                         `json:"clientToken,omitempty"`
	VolumeConfigurations     []TaskVolumeConfiguration      `json:"volumeConfigurations,omitempty"`
}

// RunTaskOutput is the output of RunTask.
type RunTaskOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// StartTaskInput is the input of StartTask: a task on instances the
// caller names, without berth's placement.
type StartTaskInput struct {
	Cluster              string                    `json:"cluster,omitempty"`
	ContainerInstances   []string                  `json:"containerInstances" ecs:"required"`
	EnableECSManagedTags bool                      `json:"enableECSManagedTags,omitempty"`
	EnableExecuteCommand bool                      `json:"enableExecuteCommand,omitempty"`
	Group                string                    `json:"group,omitempty"`
	NetworkConfiguration *NetworkConfiguration     `json:"networkConfiguration,omitempty"`
	Overrides            *TaskOverride             `json:"overrides,omitempty"`
	PropagateTags        string                    `json:"propagateTags,omitempty"`
	ReferenceID          string                    `json:"referenceId,omitempty"`
	StartedBy            string                    `json:"startedBy,omitempty"`
	Tags                 []Tag                     `json:"tags,omitempty"`
	TaskDefinition       string                    `json:"taskDefinition" ecs:"required"`
	VolumeConfigurations []TaskVolumeConfiguration `json:"volumeConfigurations,omitempty"`
}

// StartTaskOutput is the output of StartTask.
type StartTaskOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// StopTaskInput is the input of StopTask.
type StopTaskInput struct {
	Cluster string `json:"cluster,omitempty"`
	Task    string `json:"task" ecs:"required"`
	Reason  string `json:"reason,omitempty"`
}

// StopTaskOutput is the output of StopTask.
type StopTaskOutput struct {
	Task *Task `json:"task,omitempty"`
}

// DescribeTasksInput is the input of DescribeTasks (at most 100 tasks).
// Include takes TAGS.
type DescribeTasksInput struct {
	Cluster string   `json:"cluster,omitempty"`
	Tasks   []string `json:"tasks" ecs:"required"`
	Include []string `json:"include,omitempty"`
}

// DescribeTasksOutput is the output of DescribeTasks.
type DescribeTasksOutput struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// ListTasksInput is the input of ListTasks. DesiredStatus is RUNNING (the
// default), PENDING or STOPPED.
type ListTasksInput struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	Family            string `json:"family,omitempty"`
	NextToken         string `json:"nextToken,omitempty"`
	MaxResults        *int32 `json:"maxResults,omitempty"`
	StartedBy         string `json:"startedBy,omitempty"`
	ServiceName       string `json:"serviceName,omitempty"`
	DesiredStatus     string `json:"desiredStatus,omitempty"`
	LaunchType        string `json:"launchType,omitempty"`
	DaemonName        string `json:"daemonName,omitempty"`
}

// ListTasksOutput is the output of ListTasks.
type ListTasksOutput struct {
	TaskArns  []string `json:"taskArns"`
	NextToken string   `json:"nextToken,omitempty"`
}

// SubmitTaskStateChangeInput is the input of SubmitTaskStateChange, sent
// by an agent when a task changes state.
type SubmitTaskStateChangeInput struct {
	Cluster            string                    `json:"cluster,omitempty"`
	Task               string                    `json:"task,omitempty"`
	Status             string                    `json:"status,omitempty"`
	Reason             string                    `json:"reason,omitempty"`
	Containers         []ContainerStateChange    `json:"containers,omitempty"`
	Attachments        []AttachmentStateChange   `json:"attachments,omitempty"`
	ManagedAgents      []ManagedAgentStateChange `json:"managedAgents,omitempty"`
	PullStartedAt      Timestamp                 `json:"pullStartedAt,omitzero"`
	PullStoppedAt      Timestamp                 `json:"pullStoppedAt,omitzero"`
	ExecutionStoppedAt Timestamp                 `json:"executionStoppedAt,omitzero"`
}

// ContainerStateChange is a container's change within a task's.
type ContainerStateChange struct {
	ContainerName   string           `json:"containerName,omitempty"`
	ImageDigest     string           `json:"imageDigest,omitempty"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	ExitCode        *int32           `json:"exitCode,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	Status          string           `json:"status,omitempty"`
}

// AttachmentStateChange is an attachment's change (an ENI attached).
type AttachmentStateChange struct {
	AttachmentArn string `json:"attachmentArn" ecs:"required"`
	Status        string `json:"status" ecs:"required"`
}

// ManagedAgentStateChange is a managed agent's change.
type ManagedAgentStateChange struct {
	ContainerName    string `json:"containerName" ecs:"required"`
	ManagedAgentName string `json:"managedAgentName" ecs:"required"`
	Status           string `json:"status" ecs:"required"`
	Reason           string `json:"reason,omitempty"`
}

// SubmitTaskStateChangeOutput is the output of SubmitTaskStateChange.
type SubmitTaskStateChangeOutput struct {
	Acknowledgment string `json:"acknowledgment,omitempty"`
}

// SubmitContainerStateChangeInput is the input of
// SubmitContainerStateChange. Status is RUNNING or STOPPED.
type SubmitContainerStateChangeInput struct {
	Cluster         string           `json:"cluster,omitempty"`
	Task            string           `json:"task,omitempty"`
	ContainerName   string           `json:"containerName,omitempty"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	Status          string           `json:"status,omitempty"`
	ExitCode        *int32           `json:"exitCode,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
}

// SubmitContainerStateChangeOutput is the output of
// SubmitContainerStateChange.
type SubmitContainerStateChangeOutput struct {
	Acknowledgment string `json:"acknowledgment,omitempty"`
}

// TagResourceInput is the input of TagResource.
type TagResourceInput struct {
	ResourceArn string `json:"resourceArn" ecs:"required"`
	Tags        []Tag  `json:"tags" ecs:"required"`
}

// TagResourceOutput is the (empty) output of TagResource.
type TagResourceOutput struct{}

// UntagResourceInput is the input of UntagResource.
type UntagResourceInput struct {
	ResourceArn string   `json:"resourceArn" ecs:"required"`
	TagKeys     []string `json:"tagKeys" ecs:"required"`
}

// UntagResourceOutput is the (empty) output of UntagResource.
type UntagResourceOutput struct{}

// ListTagsForResourceInput is the input of ListTagsForResource.
type ListTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn" ecs:"required"`
}

// ListTagsForResourceOutput is the output of ListTagsForResource.
type ListTagsForResourceOutput struct {
	Tags []Tag `json:"tags"`
}
