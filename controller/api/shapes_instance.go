package api

// ContainerInstance is a container instance as DescribeContainerInstances
// shows it.
type ContainerInstance struct {
	ContainerInstanceArn string                         `json:"containerInstanceArn,omitempty"`
	Ec2InstanceID        string                         `json:"ec2InstanceId,omitempty"`
	CapacityProviderName string                         `json:"capacityProviderName,omitempty"`
	Version              int64                          `json:"version"`
	VersionInfo          *VersionInfo                   `json:"versionInfo,omitempty"`
	RemainingResources   []Resource                     `json:"remainingResources,omitempty"`
	RegisteredResources  []Resource                     `json:"registeredResources,omitempty"`
	Status               string                         `json:"status,omitempty"`
	StatusReason         string                         `json:"statusReason,omitempty"`
	AgentConnected       bool                           `json:"agentConnected"`
	RunningTasksCount    int32                          `json:"runningTasksCount"`
	PendingTasksCount    int32                          `json:"pendingTasksCount"`
	AgentUpdateStatus    string                         `json:"agentUpdateStatus,omitempty"`
	Attributes           []Attribute                    `json:"attributes,omitempty"`
	RegisteredAt         Timestamp                      `json:"registeredAt,omitzero"`
	Attachments          []Attachment                   `json:"attachments,omitempty"`
	Tags                 []Tag                          `json:"tags,omitempty"`
	HealthStatus         *ContainerInstanceHealthStatus `json:"healthStatus,omitempty"`
	// BerthAgent is berth's own member, which ECS lacks (the aws CLI
	// leaves it out): where the instance's tasks run and what the server
	// last heard from its agent.
	BerthAgent *InstanceAgent `json:"berthAgent,omitempty"`
}

// InstanceAgent says where a container instance runs: "local" (a slice of
// the server's own engine) or "agent" (a berth agent on Host, driving
// Engine), and for the latter when the server last heard from it and
// whether its engine answers.
type InstanceAgent struct {
	Runs            string    `json:"runs"`
	Host            string    `json:"host,omitempty"`
	Engine          string    `json:"engine,omitempty"`
	EngineReachable *bool     `json:"engineReachable,omitempty"`
	LastHeartbeat   Timestamp `json:"lastHeartbeat,omitzero"`
}

// VersionInfo is the agent's and Docker's version on an instance.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	AgentHash     string `json:"agentHash,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
}

// ContainerInstanceHealthStatus is the health of an instance: OK,
// IMPAIRED, INSUFFICIENT_DATA or INITIALIZING.
type ContainerInstanceHealthStatus struct {
	OverallStatus string                      `json:"overallStatus,omitempty"`
	Details       []InstanceHealthCheckResult `json:"details,omitempty"`
}

// InstanceHealthCheckResult is one health check of an instance, such as
// CONTAINER_RUNTIME.
type InstanceHealthCheckResult struct {
	Type             string    `json:"type,omitempty"`
	Status           string    `json:"status,omitempty"`
	StatusReason     string    `json:"statusReason,omitempty"`
	LastUpdated      Timestamp `json:"lastUpdated,omitzero"`
	LastStatusChange Timestamp `json:"lastStatusChange,omitzero"`
}

// PlatformDevice is a device (a GPU) an instance offers.
type PlatformDevice struct {
	ID   string `json:"id" ecs:"required"`
	Type string `json:"type" ecs:"required"`
}

// RegisterContainerInstanceInput is the input of RegisterContainerInstance,
// sent by an agent. ContainerInstanceArn is set when an instance registers
// again.
type RegisterContainerInstanceInput struct {
	Cluster                           string           `json:"cluster,omitempty"`
	InstanceIdentityDocument          string           `json:"instanceIdentityDocument,omitempty"`
	InstanceIdentityDocumentSignature string           `json:"instanceIdentityDocumentSignature,omitempty"`
	TotalResources                    []Resource       `json:"totalResources,omitempty"`
	VersionInfo                       *VersionInfo     `json:"versionInfo,omitempty"`
	ContainerInstanceArn              string           `json:"containerInstanceArn,omitempty"`
	Attributes                        []Attribute      `json:"attributes,omitempty"`
	PlatformDevices                   []PlatformDevice `json:"platformDevices,omitempty"`
	Tags                              []Tag            `json:"tags,omitempty"`
}

// RegisterContainerInstanceOutput is the output of
// RegisterContainerInstance.
type RegisterContainerInstanceOutput struct {
	ContainerInstance *ContainerInstance `json:"containerInstance,omitempty"`
}

// DeregisterContainerInstanceInput is the input of
// DeregisterContainerInstance.
type DeregisterContainerInstanceInput struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance" ecs:"required"`
	Force             *bool  `json:"force,omitempty"`
}

// DeregisterContainerInstanceOutput is the output of
// DeregisterContainerInstance.
type DeregisterContainerInstanceOutput struct {
	ContainerInstance *ContainerInstance `json:"containerInstance,omitempty"`
}

// DescribeContainerInstancesInput is the input of
// DescribeContainerInstances. Include takes TAGS and
// CONTAINER_INSTANCE_HEALTH.
type DescribeContainerInstancesInput struct {
	Cluster            string   `json:"cluster,omitempty"`
	ContainerInstances []string `json:"containerInstances" ecs:"required"`
	Include            []string `json:"include,omitempty"`
}

// DescribeContainerInstancesOutput is the output of
// DescribeContainerInstances.
type DescribeContainerInstancesOutput struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// ListContainerInstancesInput is the input of ListContainerInstances.
// Filter is a cluster query expression.
type ListContainerInstancesInput struct {
	Cluster    string `json:"cluster,omitempty"`
	Filter     string `json:"filter,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
	MaxResults *int32 `json:"maxResults,omitempty"`
	Status     string `json:"status,omitempty"`
}

// ListContainerInstancesOutput is the output of ListContainerInstances.
type ListContainerInstancesOutput struct {
	ContainerInstanceArns []string `json:"containerInstanceArns"`
	NextToken             string   `json:"nextToken,omitempty"`
}

// UpdateContainerInstancesStateInput is the input of
// UpdateContainerInstancesState: Status ACTIVE or DRAINING.
type UpdateContainerInstancesStateInput struct {
	Cluster            string   `json:"cluster,omitempty"`
	ContainerInstances []string `json:"containerInstances" ecs:"required"`
	Status             string   `json:"status" ecs:"required"`
}

// UpdateContainerInstancesStateOutput is the output of
// UpdateContainerInstancesState.
type UpdateContainerInstancesStateOutput struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// PutAttributesInput is the input of PutAttributes.
type PutAttributesInput struct {
	Cluster    string      `json:"cluster,omitempty"`
	Attributes []Attribute `json:"attributes" ecs:"required"`
}

// PutAttributesOutput is the output of PutAttributes.
type PutAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
}

// DeleteAttributesInput is the input of DeleteAttributes.
type DeleteAttributesInput struct {
	Cluster    string      `json:"cluster,omitempty"`
	Attributes []Attribute `json:"attributes" ecs:"required"`
}

// DeleteAttributesOutput is the output of DeleteAttributes.
type DeleteAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
}

// ListAttributesInput is the input of ListAttributes.
type ListAttributesInput struct {
	Cluster        string `json:"cluster,omitempty"`
	TargetType     string `json:"targetType" ecs:"required"`
	AttributeName  string `json:"attributeName,omitempty"`
	AttributeValue string `json:"attributeValue,omitempty"`
	NextToken      string `json:"nextToken,omitempty"`
	MaxResults     *int32 `json:"maxResults,omitempty"`
}

// ListAttributesOutput is the output of ListAttributes.
type ListAttributesOutput struct {
	Attributes []Attribute `json:"attributes"`
	NextToken  string      `json:"nextToken,omitempty"`
}
