package api

// Cluster is a cluster as DescribeClusters shows it.
type Cluster struct {
	ClusterArn                        string                         `json:"clusterArn,omitempty"`
	ClusterName                       string                         `json:"clusterName,omitempty"`
	Configuration                     *ClusterConfiguration          `json:"configuration,omitempty"`
	Status                            string                         `json:"status,omitempty"`
	RegisteredContainerInstancesCount int32                          `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32                          `json:"runningTasksCount"`
	PendingTasksCount                 int32                          `json:"pendingTasksCount"`
	ActiveServicesCount               int32                          `json:"activeServicesCount"`
	Statistics                        []KeyValuePair                 `json:"statistics,omitempty"`
	Tags                              []Tag                          `json:"tags,omitempty"`
	Settings                          []ClusterSetting               `json:"settings,omitempty"`
	CapacityProviders                 []string                       `json:"capacityProviders,omitempty"`
	DefaultCapacityProviderStrategy   []CapacityProviderStrategyItem `json:"defaultCapacityProviderStrategy,omitempty"`
	Attachments                       []Attachment                   `json:"attachments,omitempty"`
	AttachmentsStatus                 string                         `json:"attachmentsStatus,omitempty"`
	ServiceConnectDefaults            *ClusterServiceConnectDefaults `json:"serviceConnectDefaults,omitempty"`
}

// ClusterSetting is a cluster setting; ECS has one, containerInsights.
type ClusterSetting struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// ClusterConfiguration is the execute-command and storage configuration.
type ClusterConfiguration struct {
	ExecuteCommandConfiguration *ExecuteCommandConfiguration `json:"executeCommandConfiguration,omitempty"`
	ManagedStorageConfiguration *ManagedStorageConfiguration `json:"managedStorageConfiguration,omitempty"`
}

// ExecuteCommandConfiguration configures ECS Exec sessions.
type ExecuteCommandConfiguration struct {
	KmsKeyID         string                          `json:"kmsKeyId,omitempty"`
	Logging          string                          `json:"logging,omitempty"`
	LogConfiguration *ExecuteCommandLogConfiguration `json:"logConfiguration,omitempty"`
}

// ExecuteCommandLogConfiguration says where ECS Exec sessions are logged.
type ExecuteCommandLogConfiguration struct {
	CloudWatchLogGroupName      string `json:"cloudWatchLogGroupName,omitempty"`
	CloudWatchEncryptionEnabled bool   `json:"cloudWatchEncryptionEnabled,omitempty"`
	S3BucketName                string `json:"s3BucketName,omitempty"`
	S3EncryptionEnabled         bool   `json:"s3EncryptionEnabled,omitempty"`
	S3KeyPrefix                 string `json:"s3KeyPrefix,omitempty"`
}

// ManagedStorageConfiguration names KMS keys for managed storage.
type ManagedStorageConfiguration struct {
	KmsKeyID                        string `json:"kmsKeyId,omitempty"`
	FargateEphemeralStorageKmsKeyID string `json:"fargateEphemeralStorageKmsKeyId,omitempty"`
}

// ClusterServiceConnectDefaults is the cluster's Service Connect namespace.
type ClusterServiceConnectDefaults struct {
	Namespace string `json:"namespace,omitempty"`
}

// ClusterServiceConnectDefaultsRequest sets the Service Connect namespace.
type ClusterServiceConnectDefaultsRequest struct {
	Namespace string `json:"namespace" ecs:"required"`
}

// CreateClusterInput is the input of CreateCluster. An empty ClusterName
// means "default".
type CreateClusterInput struct {
	ClusterName                     string                                `json:"clusterName,omitempty"`
	Tags                            []Tag                                 `json:"tags,omitempty"`
	Settings                        []ClusterSetting                      `json:"settings,omitempty"`
	Configuration                   *ClusterConfiguration                 `json:"configuration,omitempty"`
	CapacityProviders               []string                              `json:"capacityProviders,omitempty"`
	DefaultCapacityProviderStrategy []CapacityProviderStrategyItem        `json:"defaultCapacityProviderStrategy,omitempty"`
	ServiceConnectDefaults          *ClusterServiceConnectDefaultsRequest `json:"serviceConnectDefaults,omitempty"`
}

// CreateClusterOutput is the output of CreateCluster.
type CreateClusterOutput struct {
	Cluster *Cluster `json:"cluster,omitempty"`
}

// DeleteClusterInput is the input of DeleteCluster.
type DeleteClusterInput struct {
	Cluster string `json:"cluster" ecs:"required"`
}

// DeleteClusterOutput is the output of DeleteCluster.
type DeleteClusterOutput struct {
	Cluster *Cluster `json:"cluster,omitempty"`
}

// DescribeClustersInput is the input of DescribeClusters. Include takes
// ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS.
type DescribeClustersInput struct {
	Clusters []string `json:"clusters,omitempty"`
	Include  []string `json:"include,omitempty"`
}

// DescribeClustersOutput is the output of DescribeClusters.
type DescribeClustersOutput struct {
	Clusters []Cluster `json:"clusters"`
	Failures []Failure `json:"failures"`
}

// ListClustersInput is the input of ListClusters.
type ListClustersInput struct {
	NextToken  string `json:"nextToken,omitempty"`
	MaxResults *int32 `json:"maxResults,omitempty"`
}

// ListClustersOutput is the output of ListClusters.
type ListClustersOutput struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   string   `json:"nextToken,omitempty"`
}
