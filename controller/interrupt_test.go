package controller_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/client"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/scheduler/fargate"
)

// spotStop is a Fargate task of two containers: polite stops on SIGTERM,
// stubborn ignores it and has the longest stopTimeout Fargate allows.
const spotStop = `{"family": "spot-stop", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
  "containerDefinitions": [
    {"name": "polite", "image": "berth/demo:latest", "command": ["sleep", "600"]},
    {"name": "stubborn", "image": "berth/demo:latest", "stopTimeout": 120, "command": ["sleep", "600", "--ignore-sigterm"]}]}`

// A Spot reclaim, made on demand: the task state change ECS emits (desired
// STOPPED while still RUNNING, SpotInterruption, ECS's reason), SIGTERM to
// every container, which the containers show they got, and a kill when
// the shortened warning is up, before stubborn's own stopTimeout; tasks
// not on Spot, or no longer running, are refused.
func TestInterruptTaskReclaimsAFargateSpotTask(t *testing.T) {
	// The stopped task's containers stay, so that their output can be read.
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "spot", 6, func(o *controller.Options) { o.CleanupWait = time.Hour })
	defer ts.stop(t)
	ctx := context.Background()
	registerJSON(t, ts.srv, []byte(spotStop))
	registerJSON(t, ts.srv, []byte(`{"family": "on-demand", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
	  "containerDefinitions": [{"name": "polite", "image": "berth/demo:latest", "command": ["sleep", "600"]}]}`))
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}}
	run, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("spot-stop"), NetworkConfiguration: network,
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask on FARGATE_SPOT: %+v %v", run, err)
	}
	onDemand, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("on-demand"), NetworkConfiguration: network,
		LaunchType: types.LaunchTypeFargate})
	if err != nil || len(onDemand.Tasks) != 1 {
		t.Fatalf("RunTask on FARGATE: %+v %v", onDemand, err)
	}
	spotARN, onDemandARN := aws.ToString(run.Tasks[0].TaskArn), aws.ToString(onDemand.Tasks[0].TaskArn)
	running := waitTask(t, c, cluster, spotARN, "RUNNING")
	waitTask(t, c, cluster, onDemandARN, "RUNNING")
	docker := testenv.Docker(t)
	ids := map[string]string{}
	for _, ctr := range running.Containers {
		ids[aws.ToString(ctr.Name)] = aws.ToString(ctr.RuntimeId)
	}
	// A SIGTERM that came before the programs handle it would end them as
	// the Go runtime ends a process it finds none in (exit 2).
	waitLogs(t, ids["stubborn"], "ignoring SIGTERM")
	waitLogs(t, ids["polite"], "sleeping")

	berth := client.New("http://"+ts.srv.Addr(), "")
	warning := int32(2)
	for _, tt := range []struct {
		name string
		in   api.InterruptTaskInput
		want string
	}{
		{"a task on FARGATE", api.InterruptTaskInput{Cluster: cluster, Task: onDemandARN}, "runs on FARGATE, not FARGATE_SPOT"},
		{"an unknown task", api.InterruptTaskInput{Cluster: cluster, Task: strings.Repeat("0", 32)}, "The referenced task was not found."},
		{"a warning of 0", api.InterruptTaskInput{Cluster: cluster, Task: spotARN, WarningSeconds: new(int32)}, "warningSeconds must be 1 to 120"},
		{"no task", api.InterruptTaskInput{Cluster: cluster}, "task"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := berth.InterruptTask(ctx, &tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}

	res, err := berth.InterruptTask(ctx, &api.InterruptTaskInput{Cluster: cluster, Task: spotARN, WarningSeconds: &warning})
	if err != nil {
		t.Fatal(err)
	}
	ev, d := res.Event, res.Event.Detail
	if ev.DetailType != "ECS Task State Change" || ev.Source != "aws.ecs" || len(ev.Resources) != 1 || ev.Resources[0] != spotARN ||
		d.DesiredStatus != "STOPPED" || d.LastStatus != "RUNNING" || d.StopCode != "SpotInterruption" || d.StoppedReason != "Your Spot Task was interrupted." ||
		d.CapacityProviderName != "FARGATE_SPOT" {
		t.Errorf("the task state change: %+v\ndetail %+v", ev, d)
	}
	if _, err := berth.InterruptTask(ctx, &api.InterruptTaskInput{Cluster: cluster, Task: spotARN}); err == nil || !strings.Contains(err.Error(), "already stopping") {
		t.Errorf("a second interruption: %v", err)
	}

	stopped := waitTask(t, c, cluster, spotARN, "STOPPED")
	if stopped.StopCode != types.TaskStopCodeSpotInterruption || aws.ToString(stopped.StoppedReason) != "Your Spot Task was interrupted." {
		t.Errorf("stopped: %s %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	exits := map[string]int32{}
	for _, ctr := range stopped.Containers {
		exits[aws.ToString(ctr.Name)] = aws.ToInt32(ctr.ExitCode)
	}
	if exits["polite"] != 0 || exits["stubborn"] != 137 {
		t.Errorf("exit codes %v: want polite 0 (it stopped on SIGTERM), stubborn 137 (killed)", exits)
	}
	for name, want := range map[string]string{"polite": "received SIGTERM, stopping", "stubborn": "received SIGTERM, ignoring it"} {
		if logs := testenv.Logs(t, docker, ids[name]); !strings.Contains(logs, want) {
			t.Errorf("%s's output has no %q:\n%s", name, want, logs)
		}
	}
	// The warning, not stubborn's stopTimeout of 120 s, ended it.
	if took := aws.ToTime(stopped.ExecutionStoppedAt).Sub(aws.ToTime(stopped.StoppingAt)); took >= 120*time.Second {
		t.Errorf("stubborn ran %s after the interruption: the %d s warning did not cut its stopTimeout short", took, warning)
	}
	if got := counterValue(t, ts, "berth_task_stops_total", map[string]string{"launch_type": "FARGATE", "stop_code": "SpotInterruption"}); got != 1 {
		t.Errorf("berth_task_stops_total{launch_type=FARGATE,stop_code=SpotInterruption} = %v, want 1", got)
	}
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(onDemandARN)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, onDemandARN, "STOPPED")
}

// waitLogs waits until a container has printed text; the wait is a guard
// against a hang, not a measure of speed.
func waitLogs(t *testing.T, id, text string) {
	t.Helper()
	docker := testenv.Docker(t)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if strings.Contains(testenv.Logs(t, docker, id), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s never printed %q", id, text)
		}
	}
}

// counterValue is a counter's value with labels, as a scrape reads it.
func counterValue(t *testing.T, ts *taskServer, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := ts.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// berth's own operations are served at POST /berth/v1/OPERATION, answer
// in the ECS API's error shape, and are listed in docs/api.md.
func TestBerthsOwnOperationsAreServedAndDocumented(t *testing.T) {
	ts := startTaskServer(t, t.TempDir(), 1)
	defer ts.stop(t)
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range controller.BerthOperations {
		t.Run(op, func(t *testing.T) {
			if !strings.Contains(string(doc), "| "+op+" |") {
				t.Errorf("docs/api.md does not list %s", op)
			}
			resp, err := http.Post("http://"+ts.srv.Addr()+api.BerthPath+op, "application/json", strings.NewReader(`{"bogus": 1}`))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"__type":"SerializationException"`) || !strings.Contains(string(body), "bogus") {
				t.Errorf("an unknown member: %d %s", resp.StatusCode, body)
			}
		})
	}
}

// RunTask splits a capacity provider strategy over FARGATE and
// FARGATE_SPOT as ECS does: the base first, on its provider, then the
// rest by weight; each task answers its provider.
func TestRunTaskSplitsAStrategyOverFargateAndFargateSpot(t *testing.T) {
	srv := startServer(t, t.TempDir()) // no engine: the tasks are recorded, never run
	c := newClient(t, srv)
	registerJSON(t, srv, []byte(`{"family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
	  "containerDefinitions": [{"name": "a", "image": "berth/demo"}]}`))
	network := &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}}
	run, err := c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(6), NetworkConfiguration: network,
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{
			{CapacityProvider: aws.String("FARGATE"), Base: 2, Weight: 1},
			{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 3}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, task := range run.Tasks {
		got = append(got, aws.ToString(task.CapacityProviderName))
	}
	// Two on the base; of the four beyond it, one FARGATE to three FARGATE_SPOT.
	want := []string{"FARGATE", "FARGATE", "FARGATE_SPOT", "FARGATE_SPOT", "FARGATE", "FARGATE_SPOT"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("providers %q, want %q", got, want)
	}
	_, err = c.RunTask(context.Background(), &ecs.RunTaskInput{TaskDefinition: aws.String("web"), NetworkConfiguration: network,
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Base: 1}, {CapacityProvider: aws.String("FARGATE"), Base: 1}}})
	if err == nil || !strings.Contains(err.Error(), "only one capacity provider may have a base") {
		t.Errorf("two bases: %v", err)
	}
}
