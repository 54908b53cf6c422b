package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// EC2 tasks through the AWS SDK: two instances in two zones, four tasks
// spread on the zone (two on each), each reached at its instance's own
// address on its dynamic host port; a task no instance can hold comes back
// in failures with ECS's reason; what tasks hold is the instances' less, and
// theirs again once they stop.
func TestEC2TasksArePlacedOnTheClustersInstances(t *testing.T) {
	dir := t.TempDir()
	ts, c, cluster := newTaskCluster(t, dir, "ec2", 6)
	defer ts.stop(t)
	ctx := context.Background()
	var instances []string
	for _, zone := range []string{"us-east-1a", "us-east-1b"} {
		out, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
			TotalResources: []types.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 1024},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 512},
			},
			Attributes: []types.Attribute{{Name: aws.String("ecs.availability-zone"), Value: aws.String(zone)}}})
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, aws.ToString(out.ContainerInstance.ContainerInstanceArn))
	}
	registerJSON(t, ts.srv, []byte(`{"family": "web", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest", "memory": 64,
	  "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080}]}]}`))
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("web"), Count: aws.Int32(4),
		LaunchType: types.LaunchTypeEc2, PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 4 || len(run.Failures) != 0 {
		t.Fatalf("RunTask: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	perInstance := map[string]int{}
	for _, task := range run.Tasks {
		perInstance[aws.ToString(task.ContainerInstanceArn)]++
		running := waitTask(t, c, cluster, aws.ToString(task.TaskArn), "RUNNING")
		b := running.Containers[0].NetworkBindings
		if len(b) != 1 || !strings.HasPrefix(aws.ToString(b[0].BindIP), "127.0.") || aws.ToString(b[0].BindIP) == "127.0.0.1" {
			t.Fatalf("bindings %+v: want the instance's own address", b)
		}
		url := fmt.Sprintf("http://%s:%d/", aws.ToString(b[0].BindIP), aws.ToInt32(b[0].HostPort))
		if code := getWhenListening(t, url); code != 200 {
			t.Errorf("GET %s: %d", url, code)
		}
	}
	if perInstance[instances[0]] != 2 || perInstance[instances[1]] != 2 {
		t.Errorf("spread on the zone: %v", perInstance)
	}
	desc, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: instances})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range desc.ContainerInstances {
		if in.RunningTasksCount != 2 || remaining(in, "MEMORY") != 512-128 {
			t.Errorf("instance %s: %d running, %d MiB left", aws.ToString(in.ContainerInstanceArn), in.RunningTasksCount, remaining(in, "MEMORY"))
		}
	}

	// A running task takes tags, as ECS's tasks do.
	tagged := run.Tasks[0].TaskArn
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: tagged, Tags: []types.Tag{{Key: aws.String("class"), Value: aws.String("101")}}}); err != nil {
		t.Fatal(err)
	}
	if tags, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: tagged}); err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "101" {
		t.Errorf("the task's tags: %+v %v", tags, err)
	}

	// Each instance has 384 MiB left: a task of 400 cannot be placed.
	registerJSON(t, ts.srv, []byte(`{"family": "big", "containerDefinitions": [{"name": "a", "image": "berth/demo:latest", "memory": 400, "command": ["sleep", "60"]}]}`))
	big, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("big"), LaunchType: types.LaunchTypeEc2})
	if err != nil {
		t.Fatal(err)
	}
	if len(big.Tasks) != 0 || len(big.Failures) != 1 || aws.ToString(big.Failures[0].Reason) != "RESOURCE:MEMORY" {
		t.Errorf("a task too big: %d tasks, failures %+v", len(big.Tasks), big.Failures)
	}

	for _, task := range run.Tasks {
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: task.TaskArn}); err != nil {
			t.Fatal(err)
		}
	}
	for _, task := range run.Tasks {
		stopped := waitTask(t, c, cluster, aws.ToString(task.TaskArn), "STOPPED")
		if stopped.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(stopped.StoppedReason) != "Task stopped by user" {
			t.Errorf("stopped: %s %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
		}
	}
	desc, err = c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: instances})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range desc.ContainerInstances {
		if in.RunningTasksCount != 0 || remaining(in, "MEMORY") != 512 {
			t.Errorf("instance after its tasks stopped: %d running, %d MiB left", in.RunningTasksCount, remaining(in, "MEMORY"))
		}
	}

	// The metrics tell the same story, in the exposition's own terms.
	problems, err := testutil.GatherAndLint(ts.metrics.Registry)
	if err != nil || len(problems) > 0 {
		t.Errorf("the exposition does not lint: %v %+v", err, problems)
	}
	families, err := ts.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exposition := ""
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + ","
			}
			value := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			exposition += fmt.Sprintf("%s{%s} %v\n", f.GetName(), labels, value)
		}
	}
	for _, want := range []string{
		"berth_task_stops_total{launch_type=EC2,stop_code=UserInitiated,} 4",
		"berth_placement_failures_total{launch_type=EC2,reason=RESOURCE:MEMORY,} 1",
		"berth_placement_attempts_total{launch_type=EC2,} 5",
		"berth_tasks{cluster=" + cluster + ",launch_type=EC2,status=STOPPED,} 4",
		"berth_task_time_to_running_seconds{launch_type=EC2,} 4",
		"berth_cluster_memory_reservation_ratio{cluster=" + cluster + ",} 0",
	} {
		if !strings.Contains(exposition, want) {
			t.Errorf("the metrics have no %s", want)
		}
	}
}

func remaining(in types.ContainerInstance, name string) int32 {
	for _, r := range in.RemainingResources {
		if aws.ToString(r.Name) == name {
			return r.IntegerValue
		}
	}
	return -1
}

// A stop under way when the server stops finishes after it starts again,
// with the stop code and reason it was asked with.
func TestAStopInFlightFinishesAfterARestart(t *testing.T) {
	dir := t.TempDir()
	ts, c, cluster := newTaskCluster(t, dir, "restart", 6)
	ctx := context.Background()
	if _, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	registerJSON(t, ts.srv, []byte(`{"family": "stubborn", "containerDefinitions": [{"name": "a", "image": "berth/demo:latest", "memory": 32,
	  "command": ["sleep", "600", "--ignore-sigterm"], "stopTimeout": 3}]}`))
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("stubborn")})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitTask(t, c, cluster, arn, "RUNNING")
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String("the class is over")}); err != nil {
		t.Fatal(err)
	}
	ts.stop(t) // within the container's stop timeout: it still runs
	ts = startTaskServer(t, dir, 6)
	defer ts.stop(t)
	c = newClient(t, ts.srv)
	stopped := waitTask(t, c, cluster, arn, "STOPPED")
	if stopped.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(stopped.StoppedReason) != "the class is over" {
		t.Errorf("the stop after the restart: %s %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
}
