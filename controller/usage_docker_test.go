package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthdev/berth/controller/api"
)

// A real task, one container burning a CPU and one holding 96 MiB, shows
// in the stats the server samples: its memory is at least what it holds
// (and within what it reserves), its CPU more than none, and the gauges
// and the instance's figures are the task's.
func TestUsageComesFromTheEnginesStatsOfARealTask(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ts, c, cluster := newTaskCluster(t, dir, "usage", 6)
	defer ts.stop(t)
	ctx := context.Background()
	if _, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
		TotalResources: []types.Resource{
			{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: 2048},
			{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: 1024},
		}}); err != nil {
		t.Fatal(err)
	}
	registerJSON(t, ts.srv, []byte(`{"family": "busy", "cpu": "1024", "memory": "256", "containerDefinitions": [
	  {"name": "burn", "image": "berth/demo:latest", "command": ["cpu", "--workers", "1"]},
	  {"name": "hold", "image": "berth/demo:latest", "command": ["mem", "96m", "--hold"]}]}`))
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("busy"), LaunchType: types.LaunchTypeEc2})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %+v", err, run)
	}
	arn := aws.ToString(run.Tasks[0].TaskArn)
	waitTask(t, c, cluster, arn, "RUNNING")

	// The wait guards against a hang; it is no measure of speed.
	var task api.TopTask
	var top *api.Top
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		if top, err = ts.ctl.Top(cluster); err != nil {
			t.Fatal(err)
		}
		if len(top.Tasks) == 1 {
			task = top.Tasks[0]
			if task.Sampled && task.UsedMiB >= 96 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample of the task's stats shows what it uses: %+v", top.Tasks)
		}
	}
	t.Logf("task uses %.0f of %d CPU units, %.1f of %d MiB", task.UsedCPU, task.ReservedCPU, task.UsedMiB, task.ReservedMiB)
	if task.ReservedCPU != 1024 || task.ReservedMiB != 256 || task.UsedCPU <= 0 || task.UsedMiB > 256 {
		t.Errorf("task: %+v; want 1024 units and 256 MiB reserved, some CPU used, 96 to 256 MiB", task)
	}
	if in := top.Instances[0]; in.UsedCPU != task.UsedCPU || in.UsedMiB != task.UsedMiB || in.ReservedCPU != 1024 {
		t.Errorf("instance %+v: want the task's figures", in)
	}

	used := gathered(t, ts.metrics.Registry, "berth_tasks_memory_used_mib", "cluster", cluster, "launch_type", "EC2")
	if used < 96 || used > 256 {
		t.Errorf("berth_tasks_memory_used_mib: %v, want 96 to 256", used)
	}
	if cpu := gathered(t, ts.metrics.Registry, "berth_tasks_cpu_used_units", "cluster", cluster, "launch_type", "EC2"); cpu <= 0 {
		t.Errorf("berth_tasks_cpu_used_units: %v, want more than 0", cpu)
	}

	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, arn, "STOPPED")
}

// gathered is the value of the gauge name whose labels include those
// given (name, value pairs), as a scrape of reg gives it; the test fails
// when there is none.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	v, ok := seriesValue(t, reg, name, labels...)
	if !ok {
		t.Fatalf("no %s%q", name, labels)
	}
	return v
}
