package api_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/berthdev/berth/controller/api"
)

// newSDKClient starts mux on a test server and returns the real ECS client
// of the AWS SDK pointed at it.
func newSDKClient(t *testing.T, mux *api.Mux) *ecs.Client {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("AKIDBERTH", "secret", "")),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

var namer = api.Namer{Region: "us-east-1", AccountID: "123456789012"}

func TestSDKListClustersPagesWithNextToken(t *testing.T) {
	var arns []string
	for _, n := range []string{"alpha", "bravo", "charlie", "delta", "echo"} {
		arns = append(arns, namer.Cluster(n))
	}
	mux := api.NewMux(discardLogger())
	api.Handle(mux, "ListClusters", func(ctx context.Context, in *api.ListClustersInput) (*api.ListClustersOutput, error) {
		page, next, err := api.Paginate(arns, func(s string) string { return s }, in.NextToken, in.MaxResults)
		if err != nil {
			return nil, err
		}
		return &api.ListClustersOutput{ClusterArns: page, NextToken: next}, nil
	})
	client := newSDKClient(t, mux)

	var got []string
	pages := ecs.NewListClustersPaginator(client, &ecs.ListClustersInput{MaxResults: aws.Int32(2)})
	calls := 0
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		calls++
		got = append(got, out.ClusterArns...)
	}
	if calls != 3 || len(got) != len(arns) {
		t.Fatalf("got %d clusters in %d pages, want %d in 3: %v", len(got), calls, len(arns), got)
	}
	for i := range arns {
		if got[i] != arns[i] {
			t.Errorf("cluster %d = %s, want %s", i, got[i], arns[i])
		}
	}

	_, err := client.ListClusters(context.Background(), &ecs.ListClustersInput{NextToken: aws.String("forged")})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("a forged nextToken: got %v, want *types.InvalidParameterException", err)
	}
}

func TestSDKDescribeTasksReadsAFullTask(t *testing.T) {
	created := time.Date(2026, 11, 27, 7, 0, 0, 123e6, time.UTC)
	taskID := "0123456789abcdef0123456789abcdef"
	want := api.Task{
		Attachments:          []api.Attachment{{ID: "eni-1", Type: "ElasticNetworkInterface", Status: "ATTACHED", Details: []api.KeyValuePair{{Name: "privateIPv4Address", Value: "10.0.0.5"}}}},
		Attributes:           []api.Attribute{{Name: "ecs.cpu-architecture", Value: "x86_64"}},
		AvailabilityZone:     "us-east-1a",
		CapacityProviderName: "berth",
		ClusterArn:           namer.Cluster("default"),
		Connectivity:         "CONNECTED",
		ConnectivityAt:       api.Time(created),
		ContainerInstanceArn: namer.ContainerInstance("default", "fedcba9876543210fedcba9876543210"),
		Containers: []api.Container{{
			ContainerArn:      namer.Container("default", taskID, "11111111-2222-3333-4444-555555555555"),
			TaskArn:           namer.Task("default", taskID),
			Name:              "web",
			Image:             "berth/demo",
			RuntimeID:         "abc123",
			LastStatus:        "STOPPED",
			ExitCode:          aws.Int32(137),
			Reason:            "OutOfMemoryError: Container killed due to memory usage",
			NetworkBindings:   []api.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: aws.Int32(80), HostPort: aws.Int32(49153), Protocol: "tcp"}},
			NetworkInterfaces: []api.NetworkInterface{{AttachmentID: "eni-1", PrivateIpv4Address: "10.0.0.5"}},
			HealthStatus:      "UNKNOWN",
			CPU:               "256",
			Memory:            "512",
			MemoryReservation: "256",
		}},
		CPU:                "256",
		CreatedAt:          api.Time(created),
		DesiredStatus:      "STOPPED",
		ExecutionStoppedAt: api.Time(created.Add(3 * time.Second)),
		Group:              "family:web",
		HealthStatus:       "UNKNOWN",
		LastStatus:         "STOPPED",
		LaunchType:         "EC2",
		Memory:             "512",
		Overrides:          &api.TaskOverride{ContainerOverrides: []api.ContainerOverride{{Name: "web", Command: []string{"serve"}, CPU: aws.Int32(128)}}},
		PlatformFamily:     "Linux",
		PullStartedAt:      api.Time(created.Add(time.Second)),
		PullStoppedAt:      api.Time(created.Add(1500 * time.Millisecond)),
		StartedAt:          api.Time(created.Add(2 * time.Second)),
		StartedBy:          "berth",
		StopCode:           api.StopCodeEssentialContainerExited,
		StoppedAt:          api.Time(created.Add(4 * time.Second)),
		StoppedReason:      "Essential container in task exited",
		StoppingAt:         api.Time(created.Add(3 * time.Second)),
		Tags:               []api.Tag{{Key: "team", Value: "berth"}},
		TaskArn:            namer.Task("default", taskID),
		TaskDefinitionArn:  namer.TaskDefinition("web", 3),
		Version:            7,
		EphemeralStorage:   &api.EphemeralStorage{SizeInGiB: 20},
	}
	mux := api.NewMux(discardLogger())
	api.Handle(mux, "DescribeTasks", func(ctx context.Context, in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
		if len(in.Tasks) != 2 || in.Cluster != "default" || len(in.Include) != 1 || in.Include[0] != "TAGS" {
			return nil, api.InvalidParameterException("unexpected input %+v", in)
		}
		return &api.DescribeTasksOutput{
			Tasks:    []api.Task{want},
			Failures: []api.Failure{{Arn: namer.Task("default", "ffffffffffffffffffffffffffffffff"), Reason: "MISSING"}},
		}, nil
	})
	client := newSDKClient(t, mux)

	out, err := client.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{
		Cluster: aws.String("default"),
		Tasks:   []string{taskID, "ffffffffffffffffffffffffffffffff"},
		Include: []types.TaskField{types.TaskFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Fatalf("got %d tasks and failures %+v", len(out.Tasks), out.Failures)
	}
	task := out.Tasks[0]
	checks := []struct {
		member    string
		got, want any
	}{
		{"taskArn", aws.ToString(task.TaskArn), want.TaskArn},
		{"createdAt", aws.ToTime(task.CreatedAt), created},
		{"pullStoppedAt", aws.ToTime(task.PullStoppedAt), created.Add(1500 * time.Millisecond)},
		{"stoppedAt", aws.ToTime(task.StoppedAt), created.Add(4 * time.Second)},
		{"connectivityAt", aws.ToTime(task.ConnectivityAt), created},
		{"stopCode", task.StopCode, types.TaskStopCodeEssentialContainerExited},
		{"stoppedReason", aws.ToString(task.StoppedReason), want.StoppedReason},
		{"version", task.Version, int64(7)},
		{"launchType", task.LaunchType, types.LaunchTypeEc2},
		{"group", aws.ToString(task.Group), "family:web"},
		{"ephemeralStorage.sizeInGiB", task.EphemeralStorage.SizeInGiB, int32(20)},
		{"attachments[0].details[0].value", aws.ToString(task.Attachments[0].Details[0].Value), "10.0.0.5"},
		{"tags[0].key", aws.ToString(task.Tags[0].Key), "team"},
		{"overrides.containerOverrides[0].cpu", aws.ToInt32(task.Overrides.ContainerOverrides[0].Cpu), int32(128)},
		{"containers[0].exitCode", aws.ToInt32(task.Containers[0].ExitCode), int32(137)},
		{"containers[0].reason", aws.ToString(task.Containers[0].Reason), want.Containers[0].Reason},
		{"containers[0].networkBindings[0].hostPort", aws.ToInt32(task.Containers[0].NetworkBindings[0].HostPort), int32(49153)},
		{"containers[0].networkInterfaces[0].privateIpv4Address", aws.ToString(task.Containers[0].NetworkInterfaces[0].PrivateIpv4Address), "10.0.0.5"},
		{"containers[0].healthStatus", task.Containers[0].HealthStatus, types.HealthStatusUnknown},
		{"containers[0].runtimeId", aws.ToString(task.Containers[0].RuntimeId), "abc123"},
		{"containers[0].memoryReservation", aws.ToString(task.Containers[0].MemoryReservation), "256"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.member, c.got, c.want)
		}
	}
}

func TestSDKReturnsTypedErrors(t *testing.T) {
	mux := api.NewMux(discardLogger())
	api.Handle(mux, "DeleteCluster", func(ctx context.Context, in *api.DeleteClusterInput) (*api.DeleteClusterOutput, error) {
		switch in.Cluster {
		case "busy":
			return nil, api.ClusterContainsTasksException("The Cluster cannot be deleted while Tasks are active.")
		case "boom":
			panic("a bug in an operation")
		}
		return nil, api.ClusterNotFoundException("")
	})
	client := newSDKClient(t, mux)
	ctx := context.Background()

	_, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("nope")})
	var notFound *types.ClusterNotFoundException
	if !errors.As(err, &notFound) || notFound.ErrorMessage() != "Cluster not found." {
		t.Errorf("DeleteCluster of an unknown cluster: got %v, want *types.ClusterNotFoundException \"Cluster not found.\"", err)
	}
	_, err = client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
	var busy *types.ClusterContainsTasksException
	if !errors.As(err, &busy) {
		t.Errorf("DeleteCluster of a busy cluster: got %v, want *types.ClusterContainsTasksException", err)
	}
	_, err = client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("boom")})
	var server *types.ServerException
	if !errors.As(err, &server) {
		t.Errorf("a panicking operation: got %v, want *types.ServerException", err)
	}
	_, err = client.ListClusters(ctx, &ecs.ListClustersInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != api.TypeUnknownOperation {
		t.Errorf("an operation berth does not serve: got %v, want an UnknownOperationException", err)
	}
}

func TestSDKRegisterTaskDefinitionRoundTrips(t *testing.T) {
	mux := api.NewMux(discardLogger())
	var got *api.RegisterTaskDefinitionInput
	api.Handle(mux, "RegisterTaskDefinition", func(ctx context.Context, in *api.RegisterTaskDefinitionInput) (*api.RegisterTaskDefinitionOutput, error) {
		got = in
		def := *in
		def.Tags = nil
		return &api.RegisterTaskDefinitionOutput{
			TaskDefinition: &api.TaskDefinition{
				TaskDefinition:    def,
				TaskDefinitionArn: namer.TaskDefinition(in.Family, 1),
				Revision:          1,
				Status:            "ACTIVE",
				Compatibilities:   []string{"EC2"},
				RegisteredAt:      api.Time(time.Unix(1764226800, 0)),
			},
			Tags: in.Tags,
		}, nil
	})
	client := newSDKClient(t, mux)
	out, err := client.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:         aws.String("web"),
			Image:        aws.String("berth/demo"),
			Memory:       aws.Int32(128),
			Essential:    aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(80), Protocol: types.TransportProtocolTcp}},
			DockerLabels: map[string]string{"app": "web"},
			HealthCheck:  &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(5)},
		}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("berth")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.ContainerDefinitions[0].Memory == nil || *got.ContainerDefinitions[0].Memory != 128 || got.ContainerDefinitions[0].DockerLabels["app"] != "web" {
		t.Errorf("the operation got %+v", got.ContainerDefinitions[0])
	}
	td := out.TaskDefinition
	if aws.ToString(td.TaskDefinitionArn) != "arn:aws:ecs:us-east-1:123456789012:task-definition/web:1" || td.Revision != 1 ||
		td.Status != types.TaskDefinitionStatusActive || !aws.ToTime(td.RegisteredAt).Equal(time.Unix(1764226800, 0)) ||
		aws.ToInt32(td.ContainerDefinitions[0].HealthCheck.Interval) != 5 || len(out.Tags) != 1 {
		t.Errorf("the SDK read %+v", td)
	}
}

func TestSDKAgentCallsCarryResourcesAndTimestamps(t *testing.T) {
	pulled := time.Date(2026, 11, 27, 7, 0, 0, 250e6, time.UTC)
	var change *api.SubmitTaskStateChangeInput
	mux := api.NewMux(discardLogger())
	api.Handle(mux, "SubmitTaskStateChange", func(ctx context.Context, in *api.SubmitTaskStateChangeInput) (*api.SubmitTaskStateChangeOutput, error) {
		change = in
		return &api.SubmitTaskStateChangeOutput{Acknowledgment: "ACK"}, nil
	})
	api.Handle(mux, "RegisterContainerInstance", func(ctx context.Context, in *api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error) {
		return &api.RegisterContainerInstanceOutput{ContainerInstance: &api.ContainerInstance{
			ContainerInstanceArn: namer.ContainerInstance("default", "fedcba9876543210fedcba9876543210"),
			VersionInfo:          in.VersionInfo,
			RegisteredResources:  in.TotalResources,
			RemainingResources:   in.TotalResources,
			Status:               "ACTIVE",
			AgentConnected:       true,
			Attributes:           in.Attributes,
			RegisteredAt:         api.Time(pulled),
			Version:              1,
		}}, nil
	})
	client := newSDKClient(t, mux)
	ctx := context.Background()

	ack, err := client.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{
		Task:          aws.String("0123456789abcdef0123456789abcdef"),
		Status:        aws.String("RUNNING"),
		PullStartedAt: aws.Time(pulled),
		PullStoppedAt: aws.Time(pulled.Add(time.Second)),
		Containers:    []types.ContainerStateChange{{ContainerName: aws.String("web"), ExitCode: aws.Int32(0), NetworkBindings: []types.NetworkBinding{{HostPort: aws.Int32(49153)}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(ack.Acknowledgment) != "ACK" || !change.PullStartedAt.Equal(pulled) || !change.PullStoppedAt.Equal(pulled.Add(time.Second)) ||
		change.Containers[0].ExitCode == nil || *change.Containers[0].ExitCode != 0 || *change.Containers[0].NetworkBindings[0].HostPort != 49153 {
		t.Errorf("the operation got %+v", change)
	}

	out, err := client.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 4096},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 7680},
			{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375"}},
		},
		VersionInfo: &types.VersionInfo{AgentVersion: aws.String("1.90.0"), DockerVersion: aws.String("28.5.2")},
		Attributes:  []types.Attribute{{Name: aws.String("ecs.os-type"), Value: aws.String("linux")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ci := out.ContainerInstance
	if ci.RegisteredResources[1].IntegerValue != 7680 || ci.RemainingResources[2].StringSetValue[1] != "2375" || !ci.AgentConnected ||
		aws.ToString(ci.VersionInfo.DockerVersion) != "28.5.2" || aws.ToString(ci.Attributes[0].Value) != "linux" || !aws.ToTime(ci.RegisteredAt).Equal(pulled) {
		t.Errorf("the SDK read %+v", ci)
	}
}
