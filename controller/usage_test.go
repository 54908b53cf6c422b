package controller_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/metrics"
	"github.com/berthdev/berth/taskdef"
)

// memoryCluster is a controller over an engine in memory whose clock the
// test moves, with a cluster "class" of one instance of 2048 CPU units and
// 4096 MiB, and a task definition "app" that reserves 512 units and 256
// MiB. The controller samples no stats unless the test asks.
func memoryCluster(t *testing.T) (*controller.Controller, *enginetest.Engine, *clock.Manual) {
	t.Helper()
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewManual(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	eng := enginetest.New(clk)
	eng.AddImage("example/app:1", nil)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctl := controller.New(st, controller.Options{Docker: func() (engine.Engine, error) { return eng, nil }, BinaryPath: bin, UsageInterval: -1})
	t.Cleanup(ctl.Close)
	classCluster(t, ctl, sizedClassInstance)
	return ctl, eng, clk
}

// sizedClassInstance is an instance of 2048 CPU units and 4096 MiB.
var sizedClassInstance = api.RegisterContainerInstanceInput{TotalResources: []api.Resource{
	{Name: "CPU", Type: "INTEGER", IntegerValue: 2048}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 4096}}}

// classCluster makes, through ctl, the cluster "class" with the instance
// registered as in says, and the task definition "app", whose one
// container reserves 512 CPU units and 256 MiB.
func classCluster(t *testing.T, ctl *controller.Controller, in api.RegisterContainerInstanceInput) {
	t.Helper()
	ctx := context.Background()
	if _, err := ctl.CreateCluster(ctx, &api.CreateClusterInput{ClusterName: "class"}); err != nil {
		t.Fatal(err)
	}
	in.Cluster = "class"
	if _, err := ctl.RegisterContainerInstance(ctx, &in); err != nil {
		t.Fatal(err)
	}
	memory := 256
	if _, err := ctl.RegisterTaskDefinition(ctx, &api.RegisterTaskDefinitionInput{Family: "app", ContainerDefinitions: []taskdef.ContainerDefinition{
		{Name: "app", Image: "example/app:1", CPU: 512, Memory: &memory}}}); err != nil {
		t.Fatal(err)
	}
}

// runningTask runs an app task on EC2 and waits until it is RUNNING.
func runningTask(t *testing.T, ctl *controller.Controller) api.Task {
	t.Helper()
	ctx := context.Background()
	out, err := ctl.RunTask(ctx, &api.RunTaskInput{Cluster: "class", TaskDefinition: "app", LaunchType: "EC2"})
	if err != nil || len(out.Tasks) != 1 {
		t.Fatalf("RunTask: %v, %+v", err, out)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		d, err := ctl.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: "class", Tasks: []string{out.Tasks[0].TaskArn}})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Tasks) == 1 && d.Tasks[0].LastStatus == "RUNNING" {
			return d.Tasks[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("task did not reach RUNNING: %+v", d)
		}
	}
}

// CPU comes from the delta of two samples' counters, as docker stats
// computes it, in CPU units over what the task reserves; memory is the
// usage less page cache. Figures worked out by hand: one second of CPU in
// two seconds is half a core, 512 units, all of the task's 512 and a
// quarter of the instance's 2048; 200 MiB less 72 MiB of cache is 128 MiB,
// half of the task's 256.
func TestUsageIsWhatTheStatsSayOverWhatIsReserved(t *testing.T) {
	ctl, eng, clk := memoryCluster(t)
	task := runningTask(t, ctl)
	id := task.Containers[0].RuntimeID
	ctx := context.Background()
	const mib = 1 << 20

	if err := eng.SetUsage(id, enginetest.Usage{CPU: 3 * time.Second, Memory: 200 * mib, Cache: 72 * mib}); err != nil {
		t.Fatal(err)
	}
	if err := ctl.SampleUsage(ctx); err != nil {
		t.Fatal(err)
	}
	top, err := ctl.Top("class")
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Tasks) != 1 || top.Tasks[0].Sampled || top.Tasks[0].UsedCPU != 0 || top.Tasks[0].UsedMiB != 128 {
		t.Errorf("after one sample, the CPU is not known yet and the memory is: %+v", top.Tasks)
	}

	clk.Advance(2 * time.Second)
	if err := eng.SetUsage(id, enginetest.Usage{CPU: 4 * time.Second, Memory: 200 * mib, Cache: 72 * mib}); err != nil {
		t.Fatal(err)
	}
	if err := ctl.SampleUsage(ctx); err != nil {
		t.Fatal(err)
	}
	top, err = ctl.Top("class")
	if err != nil {
		t.Fatal(err)
	}
	want := api.TopTask{ID: task.TaskArn[strings.LastIndexByte(task.TaskArn, '/')+1:], TaskDefinition: "app:1", LaunchType: "EC2", Instance: top.Instances[0].ID,
		ReservedCPU: 512, UsedCPU: 512, ReservedMiB: 256, UsedMiB: 128, Sampled: true}
	if len(top.Tasks) != 1 || top.Tasks[0] != want {
		t.Errorf("task after two samples:\n got %+v\nwant %+v", top.Tasks, want)
	}
	if in := top.Instances[0]; in.RegisteredCPU != 2048 || in.ReservedCPU != 512 || in.UsedCPU != 512 || in.UsedMiB != 128 || in.RunningTasks != 1 {
		t.Errorf("instance: %+v", in)
	}

	m := metrics.New(ctl.MetricsState(), metrics.Labels{})
	wantMetrics := `
# HELP berth_tasks_cpu_utilization_ratio CPU the running tasks use over what they reserve; ×100 is CloudWatch's service CPUUtilization.
# TYPE berth_tasks_cpu_utilization_ratio gauge
berth_tasks_cpu_utilization_ratio{cluster="class",launch_type="EC2"} 1
# HELP berth_tasks_memory_utilization_ratio Memory the running tasks use over what they reserve; ×100 is CloudWatch's service MemoryUtilization.
# TYPE berth_tasks_memory_utilization_ratio gauge
berth_tasks_memory_utilization_ratio{cluster="class",launch_type="EC2"} 0.5
# HELP berth_cluster_cpu_utilization_ratio CPU used by the cluster's tasks over CPU registered by its instances; ×100 is CloudWatch's cluster CPUUtilization (EC2).
# TYPE berth_cluster_cpu_utilization_ratio gauge
berth_cluster_cpu_utilization_ratio{cluster="class"} 0.25
# HELP berth_cluster_memory_utilization_ratio Memory used by the cluster's tasks over memory registered by its instances; ×100 is CloudWatch's cluster MemoryUtilization (EC2).
# TYPE berth_cluster_memory_utilization_ratio gauge
berth_cluster_memory_utilization_ratio{cluster="class"} 0.03125
`
	names := []string{"berth_tasks_cpu_utilization_ratio", "berth_tasks_memory_utilization_ratio", "berth_cluster_cpu_utilization_ratio", "berth_cluster_memory_utilization_ratio"}
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(wantMetrics), names...); err != nil {
		t.Error(err)
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			for _, l := range metric.GetLabel() {
				if strings.Contains(l.GetValue(), want.ID) {
					t.Errorf("%s has the task's ID in label %s", f.GetName(), l.GetName())
				}
			}
		}
	}

	// A task that stops leaves the next round.
	if err := eng.Exit(id, 0); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if err := ctl.SampleUsage(ctx); err != nil {
			t.Fatal(err)
		}
		if top, err = ctl.Top("class"); err != nil {
			t.Fatal(err)
		}
		if len(top.Tasks) == 0 && top.Instances[0].UsedCPU == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped task is still in top: %+v", top)
		}
	}
}

// Top and Billing name a cluster that does not exist as ECS does.
func TestTopOfAMissingClusterIsClusterNotFound(t *testing.T) {
	ctl, _, _ := memoryCluster(t)
	if _, err := ctl.Top("nowhere"); !isType(err, api.TypeClusterNotFound) {
		t.Errorf("Top: %v", err)
	}
	if _, err := ctl.Billing("nowhere"); !isType(err, api.TypeClusterNotFound) {
		t.Errorf("Billing: %v", err)
	}
}

func isType(err error, typ string) bool {
	e, ok := err.(*api.Error)
	return ok && e.Type == typ
}
