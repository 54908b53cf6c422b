package controller_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/controller/api"
)

// freePort is a TCP port nothing listens on now, for a static host port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartTask through the AWS SDK on the real engine: a task starts on each
// instance named, with what the request gives it; an instance named twice
// whose port the first task holds, one too small, one unknown, a DRAINING
// one and a deregistered one each come back in failures with ECS's reason;
// what the started task holds is its instance's less.
func TestStartTaskStartsTasksOnTheInstancesNamed(t *testing.T) {
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "start", 6)
	defer ts.stop(t)
	ctx := context.Background()
	instance := func(cpu, mem int32) string {
		return aws.ToString(registerInstance(t, c, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
			TotalResources: []types.Resource{intResource("CPU", cpu), intResource("MEMORY", mem)}}).ContainerInstanceArn)
	}
	roomy, small, draining, gone := instance(1024, 512), instance(1024, 48), instance(1024, 512), instance(1024, 512)
	if _, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String(cluster),
		ContainerInstances: []string{draining}, Status: types.ContainerInstanceStatusDraining}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String(cluster), ContainerInstance: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	registerJSON(t, ts.srv, []byte(fmt.Sprintf(`{"family": "web", "tags": [{"key": "course", "value": "ecs"}],
	  "containerDefinitions": [{"name": "web", "image": "berth/demo:latest", "memory": 64,
	  "command": ["serve", "--port", "9999"], "portMappings": [{"containerPort": 8080, "hostPort": %d}]}]}`, port)))

	unknown := namer.ContainerInstance(cluster, strings.Repeat("0", 32))
	out, err := c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"),
		ContainerInstances: []string{roomy, roomy, small, unknown, draining, gone},
		StartedBy:          aws.String("class/101"), Group: aws.String("lesson"), ReferenceId: aws.String("ref-1"),
		Tags:                 []types.Tag{{Key: aws.String("room"), Value: aws.String("b")}},
		EnableECSManagedTags: true, PropagateTags: types.PropagateTagsTaskDefinition,
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("web"), Command: []string{"serve", "--port", "8080"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		t.Fatalf("StartTask: %d tasks, want 1; failures %+v", len(out.Tasks), out.Failures)
	}
	var failures []string
	for _, f := range out.Failures {
		failures = append(failures, aws.ToString(f.Arn)+" "+aws.ToString(f.Reason))
	}
	want := []string{roomy + " RESOURCE:PORTS", small + " RESOURCE:MEMORY", unknown + " MISSING", draining + " DRAINING", gone + " INACTIVE"}
	if !slices.Equal(failures, want) {
		t.Errorf("failures:\n got %q\nwant %q", failures, want)
	}
	task := out.Tasks[0]
	if aws.ToString(task.ContainerInstanceArn) != roomy || aws.ToString(task.Group) != "lesson" || aws.ToString(task.StartedBy) != "class/101" || task.LaunchType != types.LaunchTypeEc2 {
		t.Errorf("task: instance %s, group %s, startedBy %s, launch type %s", aws.ToString(task.ContainerInstanceArn), aws.ToString(task.Group), aws.ToString(task.StartedBy), task.LaunchType)
	}
	got := tagsOf(t, c, aws.ToString(task.TaskArn))
	slices.Sort(got)
	if !slices.Equal(got, []string{"aws:ecs:clusterName=" + cluster, "course=ecs", "room=b"}) {
		t.Errorf("tags: %v", got)
	}

	running := waitTask(t, c, cluster, aws.ToString(task.TaskArn), "RUNNING")
	b := running.Containers[0].NetworkBindings
	if len(b) != 1 || aws.ToInt32(b[0].HostPort) != int32(port) {
		t.Fatalf("bindings %+v: want host port %d", b, port)
	}
	// The command override is what makes the container serve on 8080.
	url := fmt.Sprintf("http://%s:%d/", aws.ToString(b[0].BindIP), port)
	if code := getWhenListening(t, url); code != 200 {
		t.Errorf("GET %s: %d", url, code)
	}
	desc, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: []string{roomy}})
	if err != nil {
		t.Fatal(err)
	}
	if in := desc.ContainerInstances[0]; in.RunningTasksCount != 1 || remaining(in, "MEMORY") != 512-64 {
		t.Errorf("instance: %d running, %d MiB left", in.RunningTasksCount, remaining(in, "MEMORY"))
	}

	// A RunTask now finds the port held: the StartTask's commit counts.
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"),
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("ec2InstanceId == " + aws.ToString(desc.ContainerInstances[0].Ec2InstanceId))}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 0 || len(run.Failures) != 1 || aws.ToString(run.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Errorf("RunTask on the instance StartTask filled: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
}

// StartTask refuses, in ECS's words, requests it cannot read, and records
// nothing for them.
func TestStartTaskRefusesBadRequests(t *testing.T) {
	srv := startServer(t, t.TempDir())
	c := newClient(t, srv)
	ctx := context.Background()
	createCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("class")})
	inst := aws.ToString(registerInstance(t, c, sized("class")).ContainerInstanceArn)
	registerJSON(t, srv, []byte(`{"family": "web", "containerDefinitions": [{"name": "web", "image": "berth/demo", "memory": 64}]}`))
	registerJSON(t, srv, []byte(`{"family": "vpc", "networkMode": "awsvpc", "containerDefinitions": [{"name": "web", "image": "berth/demo", "memory": 64}]}`))
	eleven := slices.Repeat([]string{inst}, 11)
	tests := []struct {
		name string
		in   ecs.StartTaskInput
		want string
	}{
		{"no instance", ecs.StartTaskInput{ContainerInstances: []string{}}, api.TypeInvalidParameter},
		{"eleven instances", ecs.StartTaskInput{ContainerInstances: eleven}, api.TypeInvalidParameter},
		{"an instance that is no ID", ecs.StartTaskInput{ContainerInstances: []string{"nope"}}, api.TypeInvalidParameter},
		{"an instance of another cluster", ecs.StartTaskInput{ContainerInstances: []string{namer.ContainerInstance("other", strings.Repeat("a", 32))}}, api.TypeInvalidParameter},
		{"an unknown cluster", ecs.StartTaskInput{Cluster: aws.String("nope"), ContainerInstances: []string{strings.Repeat("a", 32)}}, api.TypeClusterNotFound},
		{"an unknown definition", ecs.StartTaskInput{TaskDefinition: aws.String("nope")}, api.TypeClient},
		{"awsvpc without a network configuration", ecs.StartTaskInput{TaskDefinition: aws.String("vpc")}, api.TypeInvalidParameter},
		{"awsvpc in a subnet berth lacks", ecs.StartTaskInput{TaskDefinition: aws.String("vpc"), NetworkConfiguration: &types.NetworkConfiguration{
			AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-nope"}}}}, api.TypeInvalidParameter},
		{"an override of a container the definition lacks", ecs.StartTaskInput{Overrides: &types.TaskOverride{
			ContainerOverrides: []types.ContainerOverride{{Name: aws.String("db")}}}}, api.TypeInvalidParameter},
		{"propagateTags SERVICE", ecs.StartTaskInput{PropagateTags: types.PropagateTagsService}, api.TypeInvalidParameter},
		{"a startedBy too long", ecs.StartTaskInput{StartedBy: aws.String(strings.Repeat("x", 129))}, api.TypeInvalidParameter},
		{"a startedBy with a space", ecs.StartTaskInput{StartedBy: aws.String("a b")}, api.TypeInvalidParameter},
		{"a referenceId too long", ecs.StartTaskInput{ReferenceId: aws.String(strings.Repeat("x", 65))}, api.TypeInvalidParameter},
		{"a reserved tag", ecs.StartTaskInput{Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}}, api.TypeInvalidParameter},
		{"a group too long", ecs.StartTaskInput{Group: aws.String(strings.Repeat("g", 256))}, api.TypeInvalidParameter},
		{"ECS Exec", ecs.StartTaskInput{EnableExecuteCommand: true}, api.TypeInvalidParameter},
		{"an EBS volume", ecs.StartTaskInput{VolumeConfigurations: []types.TaskVolumeConfiguration{{Name: aws.String("data")}}}, api.TypeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			if in.Cluster == nil {
				in.Cluster = aws.String("class")
			}
			if in.TaskDefinition == nil {
				in.TaskDefinition = aws.String("web")
			}
			if in.ContainerInstances == nil {
				in.ContainerInstances = []string{inst}
			}
			_, err := c.StartTask(ctx, &in)
			wantAPIError(t, err, tt.want)
		})
	}
	for _, status := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		list, err := c.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("class"), DesiredStatus: status})
		if err != nil || len(list.TaskArns) != 0 {
			t.Errorf("tasks %s after refused StartTasks: %v %v", status, list.TaskArns, err)
		}
	}
}
