package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
)

// fakeSpotServer answers as a server with one RUNNING FARGATE_SPOT task
// (5555…) and one FARGATE task (6666…): InterruptTask as the controller
// does, and DescribeTasks with the interrupted task STOPPED.
func fakeSpotServer(t *testing.T) string {
	t.Helper()
	n := api.Namer{Region: "us-east-1", AccountID: "000000000000"}
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	task := func(id, provider string) api.Task {
		return api.Task{TaskArn: n.Task("class", id), TaskDefinitionArn: n.TaskDefinition("graceful-stop", 1), LaunchType: "FARGATE",
			CapacityProviderName: provider, LastStatus: "RUNNING", DesiredStatus: "RUNNING", CreatedAt: api.Time(at.Add(-time.Minute))}
	}
	spot, onDemand := task(strings.Repeat("5", 32), "FARGATE_SPOT"), task(strings.Repeat("6", 32), "FARGATE")
	mux := api.NewMux(nil)
	api.Handle(mux, "DescribeTasks", func(ctx context.Context, in *api.DescribeTasksInput) (*api.DescribeTasksOutput, error) {
		stopped := spot
		zero, killed := int32(0), int32(137)
		stopped.LastStatus, stopped.DesiredStatus, stopped.StopCode, stopped.StoppedReason = "STOPPED", "STOPPED", "SpotInterruption", controller.SpotInterruptionReason
		stopped.StoppingAt, stopped.StoppedAt = api.Time(at), api.Time(at.Add(10*time.Second+300*time.Millisecond))
		stopped.Containers = []api.Container{{Name: "polite", ExitCode: &zero}, {Name: "stubborn", ExitCode: &killed}}
		return &api.DescribeTasksOutput{Tasks: []api.Task{stopped}}, nil
	})
	root := http.NewServeMux()
	root.Handle("/", mux)
	api.HandleBerth(root, nil, "InterruptTask", func(ctx context.Context, in *api.InterruptTaskInput) (*api.InterruptTaskOutput, error) {
		if strings.HasPrefix(in.Task, "6") {
			return nil, api.InvalidParameterException("task %s runs on FARGATE, not FARGATE_SPOT: only Fargate Spot capacity is reclaimed (run it with a capacity provider strategy over FARGATE_SPOT)", onDemand.TaskArn[len(onDemand.TaskArn)-32:])
		}
		t := spot
		t.DesiredStatus, t.StopCode, t.StoppedReason, t.StoppingAt, t.Version = "STOPPED", "SpotInterruption", controller.SpotInterruptionReason, api.Time(at), 5
		return &api.InterruptTaskOutput{StopBy: api.Time(at.Add(time.Duration(*in.WarningSeconds) * time.Second)),
			Event: api.TaskStateChangeEvent{Version: "0", ID: "a99d3f53-4a7c-4153-a1a5-48957fc83b8f", DetailType: "ECS Task State Change", Source: "aws.ecs",
				Account: "000000000000", Time: at, Region: "us-east-1", Resources: []string{t.TaskArn}, Detail: api.NewTaskStateChange(&t, at.Add(123*time.Millisecond))}}, nil
	})
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv.URL
}

// berth task interrupt says what the reclaim did, prints ECS's task state
// change with -o json, follows the task to STOPPED with --wait, and
// refuses what it cannot interrupt, in one line.
func TestTaskInterruptPrintsTheReclaim(t *testing.T) {
	endpoint := fakeSpotServer(t)
	spot, onDemand := strings.Repeat("5", 32), strings.Repeat("6", 32)
	tests := []struct {
		name string
		args []string
	}{
		{"task-interrupt", []string{"task", "interrupt", "--cluster", "class", spot, "--warning", "10s"}},
		{"task-interrupt-json", []string{"task", "interrupt", "--cluster", "class", spot, "-o", "json"}},
		{"task-interrupt-wait", []string{"task", "interrupt", "--cluster", "class", spot, "--warning", "10s", "--wait"}},
		{"task-interrupt-not-spot", []string{"task", "interrupt", "--cluster", "class", onDemand}},
		{"task-interrupt-warning-too-long", []string{"task", "interrupt", spot, "--warning", "3m"}},
		{"task-interrupt-warning-fraction", []string{"task", "interrupt", spot, "--warning", "1500ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkClientGolden(t, endpoint, tt.name, tt.args) })
	}
}

// --capacity-provider reads as RunTask's capacityProviderStrategy, and
// refuses what is not NAME[:WEIGHT[:BASE]] or comes with --launch-type.
func TestCapacityProviderFlagsReadAsAStrategy(t *testing.T) {
	got, err := parseCapacityProviders([]string{"FARGATE:1:2", "FARGATE_SPOT:3", "FARGATE_SPOT"}, "")
	if err != nil || fmt.Sprint(got) != "[{FARGATE 1 2} {FARGATE_SPOT 3 0} {FARGATE_SPOT 1 0}]" {
		t.Errorf("got %v, %v", got, err)
	}
	for _, tt := range []struct {
		flags      []string
		launchType string
		want       string
	}{
		{[]string{"FARGATE_SPOT:x"}, "", `"x" is not a whole number`},
		{[]string{"FARGATE:1:2:3"}, "", "want NAME[:WEIGHT[:BASE]]"},
		{[]string{":1"}, "", "want NAME[:WEIGHT[:BASE]]"},
		{[]string{"FARGATE_SPOT"}, "FARGATE", "exclude each other"},
	} {
		if _, err := parseCapacityProviders(tt.flags, tt.launchType); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q with launch type %q: %v, want %q", tt.flags, tt.launchType, err, tt.want)
		}
	}
}
