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

	"github.com/berthdev/berth/scheduler/fargate"
)

// After a scripted run on the real engine — a Fargate task left running,
// an EC2 task stopped by the user and one whose essential container exits
// — the exposition lints and carries the families, labels and values that
// run must produce.
func TestTheMetricsOfAScriptedRunOfBothLaunchTypes(t *testing.T) {
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "scripted", 6)
	defer ts.stop(t)
	ctx := context.Background()
	registerInstance(t, c, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
		TotalResources: []types.Resource{intResource("CPU", 1024), intResource("MEMORY", 512)}})
	registerJSON(t, ts.srv, []byte(`{"family": "sleeper", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 64, "command": ["sleep", "infinity"]}]}`))
	registerJSON(t, ts.srv, []byte(`{"family": "quitter", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 64, "command": ["exit", "3"]}]}`))
	registerJSON(t, ts.srv, []byte(`{"family": "tiny", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
	  "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "command": ["sleep", "infinity"]}]}`))

	run := func(def string, launch types.LaunchType, network *types.NetworkConfiguration) string {
		t.Helper()
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(def), LaunchType: launch, NetworkConfiguration: network})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask %s: %v %+v", def, err, out)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	sleeper := run("sleeper", types.LaunchTypeEc2, nil)
	quitter := run("quitter", types.LaunchTypeEc2, nil)
	tiny := run("tiny", types.LaunchTypeFargate, &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}})
	waitTask(t, c, cluster, sleeper, "RUNNING")
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(sleeper)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, sleeper, "STOPPED")
	if q := waitTask(t, c, cluster, quitter, "STOPPED"); q.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("the quitter stopped with %s", q.StopCode)
	}
	waitTask(t, c, cluster, tiny, "RUNNING")

	if problems, err := testutil.GatherAndLint(ts.metrics.Registry); err != nil || len(problems) > 0 {
		t.Errorf("the exposition does not lint: %v %+v", err, problems)
	}
	families, err := ts.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var exposition strings.Builder
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := ""
			for _, l := range m.GetLabel() {
				labels += l.GetName() + "=" + l.GetValue() + ","
			}
			value := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			fmt.Fprintf(&exposition, "%s{%s} %v\n", f.GetName(), labels, value)
		}
	}
	for _, want := range []string{
		"berth_task_stops_total{launch_type=EC2,stop_code=UserInitiated,} 1",
		"berth_task_stops_total{launch_type=EC2,stop_code=EssentialContainerExited,} 1",
		"berth_tasks{cluster=" + cluster + ",launch_type=EC2,status=STOPPED,} 2",
		"berth_tasks{cluster=" + cluster + ",launch_type=FARGATE,status=RUNNING,} 1",
		"berth_task_time_to_running_seconds{launch_type=FARGATE,} 1",
		"berth_placement_attempts_total{launch_type=EC2,} 2",
	} {
		if !strings.Contains(exposition.String(), want) {
			t.Errorf("the metrics have no %s", want)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", exposition.String())
	}
}
