package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// fakeNow is the time the fake cluster is seen at.
var fakeNow = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// fakeCluster answers the ECS API as a berth server with two instances in
// two zones and three tasks would: two EC2 tasks running on the
// instances, one stopped Fargate task.
func fakeCluster(t *testing.T) string {
	t.Helper()
	n := api.Namer{Region: "us-east-1", AccountID: "000000000000"}
	ids := []string{"0a1b2c3d4e5f60718293a4b5c6d7e8f9", "f9e8d7c6b5a4938271605f4e3d2c1b0a"}
	instance := func(i int, zone string) api.ContainerInstance {
		return api.ContainerInstance{ContainerInstanceArn: n.ContainerInstance("class", ids[i]), Ec2InstanceID: "i-0123456789abcdef" + fmt.Sprint(i),
			Status: "ACTIVE", AgentConnected: true, RunningTasksCount: 1, Version: 3,
			RegisteredResources: []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 512}},
			RemainingResources:  []api.Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 448}},
			Attributes: []api.Attribute{{Name: "ecs.availability-zone", Value: zone}, {Name: "ecs.instance-type", Value: "local"},
				{Name: "ecs.capability.task-eni"}, {Name: "team", Value: "web"}, {Name: "berth.host-address", Value: fmt.Sprintf("127.0.0.%d", i+2)}},
			RegisteredAt: api.Time(fakeNow.Add(-3 * time.Hour)),
		}
	}
	instances := map[string]api.ContainerInstance{ids[0]: instance(0, "us-east-1a"), ids[1]: instance(1, "us-east-1b")}
	local, remote, reachable := instances[ids[0]], instances[ids[1]], true
	local.BerthAgent, local.VersionInfo = &api.InstanceAgent{Runs: "local"}, &api.VersionInfo{AgentVersion: "1.3.0"}
	remote.BerthAgent = &api.InstanceAgent{Runs: "agent", Host: "build-box", Engine: "unix:///var/run/docker.sock", EngineReachable: &reachable,
		LastHeartbeat: api.Time(fakeNow.Add(-4 * time.Second))}
	remote.VersionInfo = &api.VersionInfo{AgentVersion: "1.2.0", DockerVersion: "20.10.24"}
	instances[ids[0]], instances[ids[1]] = local, remote
	port, host1, host2 := int32(8080), int32(49153), int32(49154)
	exit := int32(137)
	started := api.Time(fakeNow.Add(-5 * time.Minute))
	task := func(id string, inst int, ip string, hostPort *int32) api.Task {
		return api.Task{TaskArn: n.Task("class", id), ClusterArn: n.Cluster("class"), TaskDefinitionArn: n.TaskDefinition("web", 2),
			ContainerInstanceArn: n.ContainerInstance("class", ids[inst]), LaunchType: "EC2", LastStatus: "RUNNING", DesiredStatus: "RUNNING",
			HealthStatus: "HEALTHY", AvailabilityZone: instances[ids[inst]].Attributes[0].Value, Group: "family:web", Connectivity: "CONNECTED", Version: 3,
			Containers: []api.Container{{Name: "app", Image: "berth/demo:latest", LastStatus: "RUNNING", HealthStatus: "HEALTHY", RuntimeID: strings.Repeat("ab", 32),
				CPU: "0", Memory: "64",
				NetworkBindings: []api.NetworkBinding{{BindIP: ip, ContainerPort: &port, HostPort: hostPort, Protocol: "tcp"}}}},
			CreatedAt: api.Time(started.Add(-2 * time.Second)), StartedAt: started, ConnectivityAt: api.Time(started.Add(-time.Second)),
		}
	}
	tasks := map[string]api.Task{
		"11111111111111111111111111111111": task("11111111111111111111111111111111", 0, "127.0.0.2", &host1),
		"22222222222222222222222222222222": task("22222222222222222222222222222222", 1, "127.0.0.3", &host2),
		"33333333333333333333333333333333": {TaskArn: n.Task("class", "33333333333333333333333333333333"), ClusterArn: n.Cluster("class"),
			TaskDefinitionArn: n.TaskDefinition("web", 1), LaunchType: "FARGATE", PlatformVersion: "1.4.0", LastStatus: "STOPPED", DesiredStatus: "STOPPED",
			CPU: "256", Memory: "512", AvailabilityZone: "us-east-1a", Group: "family:web", StartedBy: "ci", StopCode: api.StopCodeEssentialContainerExited,
			Version: 7, CapacityProviderName: "FARGATE", PlatformFamily: "Linux", EphemeralStorage: &api.EphemeralStorage{SizeInGiB: 20},
			Attributes: []api.Attribute{{Name: "ecs.cpu-architecture", Value: "x86_64"}},
			Overrides: &api.TaskOverride{Memory: "1024", ContainerOverrides: []api.ContainerOverride{{Name: "app", Command: []string{"serve", "--port", "8080"},
				Environment: []taskdef.KeyValuePair{{Name: "MODE", Value: "test"}}}}},
			StoppedReason: "Essential container in task exited",
			Attachments: []api.Attachment{{ID: "a1b2c3d4-0000-4000-8000-000000000001", Type: "ElasticNetworkInterface", Status: "DELETED",
				Details: []taskdef.KeyValuePair{{Name: "subnetId", Value: "subnet-00f53d4b5c4a8cb52"}, {Name: "networkInterfaceId", Value: "eni-0123456789abcdef0"},
					{Name: "privateIPv4Address", Value: "172.31.0.5"}}}},
			Containers: []api.Container{{Name: "app", Image: "berth/demo:latest", LastStatus: "STOPPED", ExitCode: &exit, Reason: "OutOfMemoryError: Container killed due to memory usage",
				CPU: "128", Memory: "256", MemoryReservation: "128", ImageDigest: "sha256:74b2c688c700ec95a93e478cdb959737c148df3fbf5ea706abe0318726e885e6",
				NetworkInterfaces: []api.NetworkInterface{{AttachmentID: "a1b2c3d4-0000-4000-8000-000000000001", PrivateIpv4Address: "172.31.0.5"}}}},
			CreatedAt: api.Time(fakeNow.Add(-2 * time.Hour)), PullStartedAt: api.Time(fakeNow.Add(-2*time.Hour + time.Second)),
			PullStoppedAt: api.Time(fakeNow.Add(-2*time.Hour + 2*time.Second)), StartedAt: api.Time(fakeNow.Add(-2*time.Hour + 3*time.Second)),
			StoppingAt: api.Time(fakeNow.Add(-time.Hour)), ExecutionStoppedAt: api.Time(fakeNow.Add(-time.Hour + time.Second)), StoppedAt: api.Time(fakeNow.Add(-time.Hour + 2*time.Second)),
			Tags: []taskdef.Tag{{Key: "course", Value: "ecs-101"}}},
	}
	order := []string{"11111111111111111111111111111111", "22222222222222222222222222222222", "33333333333333333333333333333333"}
	memory := 64
	mux := api.NewMux(nil)
	api.Handle(mux, "RegisterContainerInstance", func(ctx context.Context, in *api.RegisterContainerInstanceInput) (*api.RegisterContainerInstanceOutput, error) {
		if in.Cluster == "nowhere" {
			return nil, api.ClusterNotFoundException("")
		}
		inst := instance(0, "us-east-1a")
		inst.Attributes = append(in.Attributes, inst.Attributes...)
		return &api.RegisterContainerInstanceOutput{ContainerInstance: &inst}, nil
	})
	api.Handle(mux, "ListContainerInstances", func(ctx context.Context, in *api.ListContainerInstancesInput) (*api.ListContainerInstancesOutput, error) {
		if in.NextToken == "" {
			return &api.ListContainerInstancesOutput{ContainerInstanceArns: []string{n.ContainerInstance("class", ids[0])}, NextToken: "page-2"}, nil
		}
		return &api.ListContainerInstancesOutput{ContainerInstanceArns: []string{n.ContainerInstance("class", ids[1])}}, nil
	})
	api.Handle(mux, "DescribeContainerInstances", func(ctx context.Context, in *api.DescribeContainerInstancesInput) (*api.DescribeContainerInstancesOutput, error) {
		out := &api.DescribeContainerInstancesOutput{ContainerInstances: []api.ContainerInstance{}, Failures: []api.Failure{}}
		for _, ref := range in.ContainerInstances {
			_, id, err := api.ContainerInstanceRef(ref)
			if err != nil {
				return nil, err
			}
			if inst, ok := instances[id]; ok {
				out.ContainerInstances = append(out.ContainerInstances, inst)
			} else {
				out.Failures = append(out.Failures, api.Failure{Arn: n.ContainerInstance("class", id), Reason: "MISSING"})
			}
		}
		return out, nil
	})
	api.Handle(mux, "UpdateContainerInstancesState", func(ctx context.Context, in *api.UpdateContainerInstancesStateInput) (*api.UpdateContainerInstancesStateOutput, error) {
		out := &api.UpdateContainerInstancesStateOutput{ContainerInstances: []api.ContainerInstance{}, Failures: []api.Failure{}}
		for _, ref := range in.ContainerInstances {
			inst := instances[lastSegment(ref)]
			inst.Status = in.Status
			out.ContainerInstances = append(out.ContainerInstances, inst)
		}
		return out, nil
	})
	api.Handle(mux, "DeregisterContainerInstance", func(ctx context.Context, in *api.DeregisterContainerInstanceInput) (*api.DeregisterContainerInstanceOutput, error) {
		if in.Force == nil || !*in.Force {
			return nil, api.InvalidParameterException("Found running tasks on the instance.")
		}
		inst := instances[lastSegment(in.ContainerInstance)]
		inst.Status = "INACTIVE"
		return &api.DeregisterContainerInstanceOutput{ContainerInstance: &inst}, nil
	})
	api.Handle(mux, "ListAttributes", func(ctx context.Context, in *api.ListAttributesInput) (*api.ListAttributesOutput, error) {
		var out []api.Attribute
		for _, id := range ids {
			for _, a := range instances[id].Attributes {
				a.TargetType, a.TargetID = "container-instance", n.ContainerInstance("class", id)
				out = append(out, a)
			}
		}
		return &api.ListAttributesOutput{Attributes: out}, nil
	})
	api.Handle(mux, "DescribeTaskDefinition", func(ctx context.Context, in *api.DescribeTaskDefinitionInput) (*api.DescribeTaskDefinitionOutput, error) {
		if !strings.HasPrefix(in.TaskDefinition, "web") {
			return nil, api.ClientException("Unable to describe task definition.")
		}
		return &api.DescribeTaskDefinitionOutput{TaskDefinition: &api.TaskDefinition{TaskDefinitionArn: n.TaskDefinition("web", 2), Revision: 2, Status: "ACTIVE",
			TaskDefinition: taskdef.TaskDefinition{Family: "web", ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "app", Image: "berth/demo:latest", Memory: &memory}}}}}, nil
	})
	api.Handle(mux, "RunTask", func(ctx context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error) {
		out := &api.RunTaskOutput{Tasks: []api.Task{tasks[order[0]], tasks[order[1]]}, Failures: []api.Failure{}}
		for i := range out.Tasks { // the task shows what it was run with
			out.Tasks[i].Overrides, out.Tasks[i].StartedBy = in.Overrides, in.StartedBy
		}
		if in.Count != nil && *in.Count > 2 {
			out.Failures = append(out.Failures, api.Failure{Arn: n.ContainerInstance("class", ids[0]), Reason: "RESOURCE:MEMORY"})
		}
		return out, nil
	})
	api.Handle(mux, "ListTasks", func(ctx context.Context, in *api.ListTasksInput) (*api.ListTasksOutput, error) {
		var arns []string
		for _, id := range order {
			if tk := tasks[id]; (in.DesiredStatus == "STOPPED") == (tk.DesiredStatus == "STOPPED") {
				arns = append(arns, tk.TaskArn)
			}
		}
		return &api.ListTasksOutput{TaskArns: arns}, nil
	})
	api.Handle(mux, "DescribeTasks", func(ctx context.Context, in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
		out := &api.DescribeTasksOutput{Tasks: []api.Task{}, Failures: []api.Failure{}}
		for _, ref := range in.Tasks {
			_, id, err := api.TaskRef(ref)
			if err != nil {
				return nil, err
			}
			if tk, ok := tasks[id]; ok {
				out.Tasks = append(out.Tasks, tk)
			} else {
				out.Failures = append(out.Failures, api.Failure{Arn: n.Task("class", id), Reason: "MISSING"})
			}
		}
		return out, nil
	})
	api.Handle(mux, "StopTask", func(ctx context.Context, in *api.StopTaskInput) (*api.StopTaskOutput, error) {
		_, id, err := api.TaskRef(in.Task)
		if err != nil {
			return nil, err
		}
		tk, ok := tasks[id]
		if !ok {
			return nil, api.InvalidParameterException("The referenced task was not found.")
		}
		tk.DesiredStatus = "STOPPED"
		return &api.StopTaskOutput{Task: &tk}, nil
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The instance and task commands print tables a person reads, the API's
// own shapes with -o json, and ECS's error in one line.
func TestInstanceAndTaskCommandsPrintWhatTheServerSays(t *testing.T) {
	t.Setenv("BERTH_STATE_DIR", t.TempDir())
	clock = func() time.Time { return fakeNow }
	t.Cleanup(func() { clock = time.Now })
	endpoint := fakeCluster(t)
	tests := []struct {
		name string
		args []string
	}{
		{"instance-register", []string{"instance", "register", "--cluster", "class", "--zone", "us-east-1a", "--cpu", "1024", "--memory", "512", "--attribute", "team=web"}},
		{"instance-register-no-cluster", []string{"instance", "register", "--cluster", "nowhere"}},
		{"instance-register-type-and-size", []string{"instance", "register", "--instance-type", "t3.small", "--cpu", "1024"}},
		{"instance-list", []string{"instance", "list", "--cluster", "class"}},
		{"instance-list-wide", []string{"instance", "list", "--cluster", "class", "-o", "wide"}},
		{"instance-describe", []string{"instance", "describe", "--cluster", "class", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "00000000000000000000000000000000"}},
		{"instance-drain", []string{"instance", "drain", "--cluster", "class", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}},
		{"instance-activate", []string{"instance", "activate", "--cluster", "class", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "f9e8d7c6b5a4938271605f4e3d2c1b0a"}},
		{"instance-deregister-refused", []string{"instance", "deregister", "--cluster", "class", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}},
		{"instance-deregister-force", []string{"instance", "deregister", "--cluster", "class", "--force", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}},
		{"instance-attributes", []string{"instance", "attributes", "--cluster", "class", "f9e8d7c6b5a4938271605f4e3d2c1b0a"}},
		{"task-run", []string{"task", "run", "web", "--cluster", "class", "--count", "2", "--strategy", "spread:attribute:ecs.availability-zone", "--env", "MODE=test"}},
		{"task-run-json", []string{"task", "run", "web", "--cluster", "class", "--env", "MODE=test", "--started-by", "ci", "-o", "json"}},
		{"task-run-not-placed", []string{"task", "run", "web:2", "--cluster", "class", "--count", "3"}},
		{"task-run-unknown-family", []string{"task", "run", "nothing", "--cluster", "class"}},
		{"task-run-bad-strategy", []string{"task", "run", "web", "--strategy", "pack:memory"}},
		{"task-run-bad-constraint", []string{"task", "run", "web", "--constraint", "memberOf"}},
		{"task-list", []string{"task", "list", "--cluster", "class"}},
		{"task-list-stopped-wide", []string{"task", "list", "--cluster", "class", "--status", "STOPPED", "-o", "wide"}},
		{"task-list-json", []string{"task", "list", "--cluster", "class", "-o", "json"}},
		{"task-list-bad-status", []string{"task", "list", "--status", "PENDING"}},
		{"task-describe", []string{"task", "describe", "--cluster", "class", "11111111111111111111111111111111", "33333333333333333333333333333333"}},
		{"task-describe-missing", []string{"task", "describe", "--cluster", "class", "44444444444444444444444444444444"}},
		{"task-stop", []string{"task", "stop", "--cluster", "class", "11111111111111111111111111111111", "--reason", "end of class"}},
		{"task-stop-unknown", []string{"task", "stop", "--cluster", "class", "44444444444444444444444444444444"}},
		{"task-wait-stopped", []string{"task", "wait", "--cluster", "class", "33333333333333333333333333333333", "--status", "STOPPED"}},
		{"task-wait-running-but-stopped", []string{"task", "wait", "--cluster", "class", "33333333333333333333333333333333", "--status", "RUNNING"}},
		{"task-wait-missing", []string{"task", "wait", "--cluster", "class", "44444444444444444444444444444444", "--status", "STOPPED"}},
		{"task-wait-no-status", []string{"task", "wait", "33333333333333333333333333333333"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkClientGolden(t, endpoint, tt.name, tt.args) })
	}
}

// With no server at the endpoint, the instance and task commands say so in
// one line and exit 1, as the other client commands do.
func TestInstanceAndTaskCommandsSayWhenNoServerAnswers(t *testing.T) {
	for _, args := range [][]string{{"instance", "list"}, {"task", "list"}, {"task", "run", "web"}, {"task", "wait", "x", "--status", "STOPPED"}, {"task", "logs", "x"}, {"events"}} {
		stdout, msg, code := executeRoot(append(args, "--endpoint", "http://127.0.0.1:1"))
		if code != exitFailure || stdout != "" || strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "no berth server answers at http://127.0.0.1:1") {
			t.Errorf("berth %s: exit %d, %q, stdout %q", strings.Join(args, " "), code, msg, stdout)
		}
	}
}

// Tab completes the IDs of the cluster's instances and tasks.
func TestCompletionOffersInstancesAndTasks(t *testing.T) {
	endpoint := fakeCluster(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"instance", "drain", "--cluster", "class", "0"}, "0a1b2c3d4e5f60718293a4b5c6d7e8f9\n"},
		{[]string{"task", "stop", "--cluster", "class", ""}, "11111111111111111111111111111111\n22222222222222222222222222222222\n33333333333333333333333333333333\n"},
		{[]string{"task", "list", "--cluster", "class", "--instance", "f"}, "f9e8d7c6b5a4938271605f4e3d2c1b0a\n"},
		{[]string{"task", "logs", "--cluster", "class", "1"}, "11111111111111111111111111111111\n"},
		{[]string{"task", "logs", "--cluster", "class", "11111111111111111111111111111111", "--container", ""}, "app\n"},
	}
	for _, tt := range tests {
		stdout, _, code := executeRoot(append([]string{"__complete", "--endpoint", endpoint}, tt.args...))
		if code != exitOK || !strings.HasPrefix(stdout, tt.want+":4\n") {
			t.Errorf("completing %q: exit %d, %q, want %q then :4", tt.args, code, stdout, tt.want)
		}
	}
}

// --strategy and --constraint read as ECS's placement shapes, in order.
func TestPlacementFlagsReadAsECSShapes(t *testing.T) {
	strategies, constraints, err := parsePlacement(
		[]string{"spread:attribute:ecs.availability-zone", "binpack:memory", "random"},
		[]string{"distinctInstance", "memberOf:attribute:ecs.instance-type =~ t3.*"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(strategies, constraints)
	want := "[{spread attribute:ecs.availability-zone} {binpack memory} {random }] [{distinctInstance } {memberOf attribute:ecs.instance-type =~ t3.*}]"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// berth task run sends RunTask what its flags say: a Fargate task with no
// --subnet goes in the first of berth's subnets, and says so on standard
// error; --env overrides every container of the definition.
func TestTaskRunSendsWhatItsFlagsSay(t *testing.T) {
	var got api.RunTaskInput
	mux := api.NewMux(nil)
	api.Handle(mux, "DescribeTaskDefinition", func(ctx context.Context, in *api.DescribeTaskDefinitionInput) (*api.DescribeTaskDefinitionOutput, error) {
		return &api.DescribeTaskDefinitionOutput{TaskDefinition: &api.TaskDefinition{TaskDefinitionArn: "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2",
			TaskDefinition: taskdef.TaskDefinition{Family: "web", ContainerDefinitions: []taskdef.ContainerDefinition{{Name: "app"}, {Name: "sidecar"}}}}}, nil
	})
	api.Handle(mux, "RunTask", func(ctx context.Context, in *api.RunTaskInput) (*api.RunTaskOutput, error) {
		got = *in
		return &api.RunTaskOutput{Tasks: []api.Task{}, Failures: []api.Failure{{Reason: "RESOURCE:CPU"}}}, nil
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	root := newRootCommand()
	var out, errOut strings.Builder
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"task", "run", "web:2", "--endpoint", srv.URL, "--launch-type", "fargate", "--count", "2", "--env", "MODE=test",
		"--constraint", "distinctInstance", "--group", "batch", "--started-by", "ci"})
	if err := root.Execute(); err == nil {
		t.Error("a task not placed is no success")
	}
	first := fargate.DefaultSubnets(controller.DefaultRegion)[0]
	if got.NetworkConfiguration == nil || fmt.Sprint(got.NetworkConfiguration.AwsvpcConfiguration.Subnets) != "["+first.ID+"]" {
		t.Errorf("networkConfiguration %+v: want berth's first subnet %s", got.NetworkConfiguration, first.ID)
	}
	if !strings.Contains(errOut.String(), first.ID+" ("+first.AvailabilityZone+"), the first of berth's subnets") {
		t.Errorf("standard error %q does not say which subnet", errOut.String())
	}
	if got.LaunchType != "FARGATE" || *got.Count != 2 || got.Group != "batch" || got.StartedBy != "ci" || got.TaskDefinition != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2" {
		t.Errorf("RunTask input %+v", got)
	}
	if o := got.Overrides; o == nil || len(o.ContainerOverrides) != 2 || o.ContainerOverrides[1].Name != "sidecar" || fmt.Sprint(o.ContainerOverrides[1].Environment) != "[{MODE test}]" {
		t.Errorf("overrides %+v: want MODE=test in both containers", got.Overrides)
	}
	if fmt.Sprint(got.PlacementConstraints) != "[{distinctInstance }]" {
		t.Errorf("constraints %+v", got.PlacementConstraints)
	}
	if out.String() != "not placed: RESOURCE:CPU\n" {
		t.Errorf("standard output %q", out.String())
	}
}
