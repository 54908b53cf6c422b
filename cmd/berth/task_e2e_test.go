package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/internal/testenv"
)

// The built binary drives a real server's tasks as a person would: two
// instances in two zones, three tasks spread on the zone, listed as a
// table and as JSON, described, stopped and waited on until STOPPED.
func TestTheCLIRunsTasksOnARealServer(t *testing.T) {
	t.Parallel()
	e := newRunEnv(t) // removes what carries the cluster's label
	docker := testenv.Docker(t)
	endpoint := e.startServer("--cleanup-wait", "1s")
	berth := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(e.bin, append(args, "--endpoint", endpoint, "--cluster", e.cluster)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("berth %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// RegisterContainerInstance makes the default cluster only; this one
	// is made first.
	if out, err := exec.Command(e.bin, "cluster", "create", e.cluster, "--endpoint", endpoint).CombinedOutput(); err != nil {
		t.Fatalf("cluster create: %v\n%s", err, out)
	}
	for _, zone := range []string{"us-east-1a", "us-east-1b"} {
		if out := berth("instance", "register", "--zone", zone, "--cpu", "1024", "--memory", "512"); !strings.Contains(out, "in "+e.cluster+": "+zone+", local, 1024 CPU units, 512 MiB") {
			t.Errorf("instance register:\n%s", out)
		}
	}
	if out := berth("instance", "list"); strings.Count(out, "ACTIVE") != 2 || !strings.Contains(out, "us-east-1b") {
		t.Errorf("instance list:\n%s", out)
	}
	def := e.file("web.json", `{"family": "web", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest", "memory": 64,
	  "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080}]}]}`)
	out := berth("task", "run", def, "--count", "3", "--strategy", "spread:attribute:ecs.availability-zone", "--wait", "-o", "json")
	var run api.RunTaskOutput
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("task run -o json: %v\n%s", err, out)
	}
	if len(run.Tasks) != 3 || len(run.Failures) != 0 {
		t.Fatalf("task run: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	zones := map[string]int{}
	var ids []string
	for _, task := range run.Tasks {
		if task.LastStatus != "RUNNING" {
			t.Errorf("task %s after --wait: %s", task.TaskArn, task.LastStatus)
		}
		zones[task.AvailabilityZone]++
		ids = append(ids, lastSegment(task.TaskArn))
	}
	if zones["us-east-1a"] == 0 || zones["us-east-1b"] == 0 {
		t.Errorf("spread on the zone: %v", zones)
	}

	table := berth("task", "list")
	for _, id := range ids {
		if !strings.Contains(table, id+"   web:1        EC2      RUNNING/RUNNING") {
			t.Errorf("task list has no running %s:\n%s", id, table)
		}
	}
	if !strings.Contains(table, "->8080/tcp") {
		t.Errorf("task list shows no bound port:\n%s", table)
	}
	var listed []api.Task
	if err := json.Unmarshal([]byte(berth("task", "list", "-o", "json")), &listed); err != nil || len(listed) != 3 {
		t.Errorf("task list -o json: %d tasks, %v", len(listed), err)
	}
	if out := berth("task", "describe", ids[0]); !strings.Contains(out, "Task definition:     web:1") || !strings.Contains(out, "Network bindings") {
		t.Errorf("task describe:\n%s", out)
	}

	stop := berth(append([]string{"task", "stop", "--reason", "end of class"}, ids...)...)
	if strings.Count(stop, "stopping ") != 3 {
		t.Errorf("task stop:\n%s", stop)
	}
	if out := berth(append([]string{"task", "wait", "--status", "STOPPED"}, ids...)...); strings.Count(out, "is STOPPED: end of class") != 3 {
		t.Errorf("task wait:\n%s", out)
	}
	if out := berth("task", "list", "--status", "STOPPED"); strings.Count(out, "STOPPED/STOPPED") != 3 {
		t.Errorf("task list --status STOPPED:\n%s", out)
	}
	waitContainersGone(t, docker, "com.amazonaws.ecs.cluster="+e.cluster)
}

// waitContainersGone waits until the server has removed the containers of
// its stopped tasks, as --cleanup-wait tells it to. The spare pause
// container its agent keeps running for the next task, which no task's
// container names, is not one of them: it goes when the server stops.
func waitContainersGone(t *testing.T, docker interface {
	ContainerList(context.Context, container.ListOptions) ([]container.Summary, error)
}, label string) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		left, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, c := range left {
			named[c.Labels["berth.pause-container"]] = true
		}
		left = slices.DeleteFunc(left, func(c container.Summary) bool {
			return c.Labels["berth.spare-pause"] == "true" && c.State == "running" && !named[c.ID]
		})
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d containers of stopped tasks are still on the engine", len(left))
			return
		}
	}
}
