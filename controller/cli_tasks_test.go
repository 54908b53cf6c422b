package controller_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/scheduler/fargate"
)

// cliTask is the part of a task the aws CLI prints that the test reads.
type cliTask struct {
	TaskArn, LastStatus, StopCode, StoppedReason, ContainerInstanceArn string
	Attachments                                                        []struct {
		Details []struct{ Name, Value string }
	}
	Containers []struct {
		NetworkBindings []struct {
			BindIP   string
			HostPort int
		}
	}
}

// cliTaskCluster starts the built berth server for tasks on the real
// engine and creates a cluster named from prefix with the aws CLI; the
// cluster's containers are removed when the test ends, whatever happened.
// It returns the server's URL and the cluster's name.
func cliTaskCluster(t *testing.T, prefix string) (url, cluster string) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Skip("the aws CLI is not installed; install it (pip install awscli, or Debian's awscli) to run this test")
	}
	testenv.EnsureImages(t)
	cluster = prefix + "-" + api.NewID()[:8]
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster)
	})
	url = startBerthServer(t, t.TempDir(), "--cleanup-wait", "1s")
	awsECS(t, url, nil, "create-cluster", "--cluster-name", cluster)
	return url, cluster
}

func (t cliTask) detail(name string) string {
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if d.Name == name {
				return d.Value
			}
		}
	}
	return ""
}

// The aws CLI, as a person would use it against berth server: a cluster,
// the examples registered, two instances in two zones, four EC2 tasks
// spread over the zones and reached on their dynamic host ports, a Fargate
// task reached at its private address, a task that cannot fit back in
// failures, and every task stopped as the user's.
func TestTheAWSCLIRunsTasksOfBothLaunchTypes(t *testing.T) {
	url, cluster := cliTaskCluster(t, "class")
	awsECS(t, url, nil, "register-task-definition", "--cli-input-json", "file://../examples/fargate-web.json")
	dir := t.TempDir()
	for name, def := range map[string]string{
		// A web server on a dynamic host port: any number fit on an instance.
		"dynamic-web": `{"family": "dynamic-web", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest", "memory": 64,
		  "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080, "hostPort": 0}]}]}`,
		"too-big": `{"family": "too-big", "containerDefinitions": [{"name": "a", "image": "berth/demo:latest", "memory": 2048, "command": ["sleep", "60"]}]}`,
	} {
		file := filepath.Join(dir, name+".json")
		if err := os.WriteFile(file, []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
		awsECS(t, url, nil, "register-task-definition", "--cli-input-json", "file://"+file)
	}
	var instances []string
	for _, zone := range []string{"us-east-1a", "us-east-1b"} {
		var reg struct {
			ContainerInstance struct{ ContainerInstanceArn string }
		}
		awsECS(t, url, &reg, "register-container-instance", "--cluster", cluster,
			"--total-resources", "name=CPU,type=INTEGER,integerValue=2048", "name=MEMORY,type=INTEGER,integerValue=1024",
			"--attributes", "name=ecs.availability-zone,value="+zone)
		instances = append(instances, reg.ContainerInstance.ContainerInstanceArn)
	}

	var run struct {
		Tasks    []cliTask
		Failures []struct{ Reason string }
	}
	awsECS(t, url, &run, "run-task", "--cluster", cluster, "--task-definition", "dynamic-web", "--count", "4", "--launch-type", "EC2",
		"--placement-strategy", "type=spread,field=attribute:ecs.availability-zone")
	perInstance := map[string]int{}
	for _, task := range run.Tasks {
		perInstance[task.ContainerInstanceArn]++
	}
	if len(run.Tasks) != 4 || perInstance[instances[0]] != 2 || perInstance[instances[1]] != 2 {
		t.Fatalf("run-task: %d tasks over %v, failures %+v", len(run.Tasks), perInstance, run.Failures)
	}
	running := cliWait(t, url, cluster, run.Tasks[0].TaskArn, "RUNNING")
	var dynamic string
	for _, c := range running.Containers {
		for _, b := range c.NetworkBindings {
			if b.HostPort >= 49153 {
				dynamic = fmt.Sprintf("http://%s:%d/", b.BindIP, b.HostPort)
			}
		}
	}
	if dynamic == "" {
		t.Fatalf("no dynamic host port among %+v", running.Containers)
	}
	if code := getWhenListening(t, dynamic); code != 200 {
		t.Errorf("GET %s: %d", dynamic, code)
	}

	// No instance has 2048 MiB.
	var full struct {
		Tasks    []cliTask
		Failures []struct{ Reason string }
	}
	awsECS(t, url, &full, "run-task", "--cluster", cluster, "--task-definition", "too-big", "--launch-type", "EC2")
	if len(full.Tasks) != 0 || len(full.Failures) != 1 || full.Failures[0].Reason != "RESOURCE:MEMORY" {
		t.Errorf("a task that cannot fit: %+v", full)
	}

	var fg struct{ Tasks []cliTask }
	subnet := fargate.DefaultSubnets("us-east-1")[0].ID
	awsECS(t, url, &fg, "run-task", "--cluster", cluster, "--task-definition", "fargate-web", "--launch-type", "FARGATE",
		"--network-configuration", "awsvpcConfiguration={subnets=["+subnet+"]}")
	if len(fg.Tasks) != 1 {
		t.Fatalf("a Fargate task: %+v", fg)
	}
	fgRunning := cliWait(t, url, cluster, fg.Tasks[0].TaskArn, "RUNNING")
	if code := getWhenListening(t, "http://"+fgRunning.detail("privateIPv4Address")+":8080/"); code != 200 {
		t.Errorf("the Fargate task at its address: %d", code)
	}

	for _, task := range append(run.Tasks, fg.Tasks...) {
		awsECS(t, url, nil, "stop-task", "--cluster", cluster, "--task", task.TaskArn)
	}
	for _, task := range append(run.Tasks, fg.Tasks...) {
		stopped := cliWait(t, url, cluster, task.TaskArn, "STOPPED")
		if stopped.StopCode != "UserInitiated" || stopped.StoppedReason != "Task stopped by user" {
			t.Errorf("stopped task: %s %q", stopped.StopCode, stopped.StoppedReason)
		}
	}
}

// cliWait describes the task with the aws CLI until its lastStatus is
// want; the wait is a guard against a hang, not a measure of speed.
func cliWait(t *testing.T, url, cluster, arn, want string) cliTask {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var out struct{ Tasks []cliTask }
		awsECS(t, url, &out, "describe-tasks", "--cluster", cluster, "--tasks", arn)
		if len(out.Tasks) == 1 && out.Tasks[0].LastStatus == want {
			return out.Tasks[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s did not reach %s: %+v", arn, want, out.Tasks)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The aws CLI's start-task: a task on the instance named, with its
// startedBy and reference; a second instance too small for it comes back in
// failures with ECS's reason, and the task is stopped as the user's.
func TestTheAWSCLIStartsTasksOnTheInstancesNamed(t *testing.T) {
	url, cluster := cliTaskCluster(t, "start")
	file := filepath.Join(t.TempDir(), "sleeper.json")
	if err := os.WriteFile(file, []byte(`{"family": "sleeper", "containerDefinitions": [{"name": "a", "image": "berth/demo:latest", "memory": 64, "command": ["sleep", "600"]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	awsECS(t, url, nil, "register-task-definition", "--cli-input-json", "file://"+file)
	var instances []string
	for _, memory := range []string{"512", "32"} {
		var reg struct {
			ContainerInstance struct{ ContainerInstanceArn string }
		}
		awsECS(t, url, &reg, "register-container-instance", "--cluster", cluster,
			"--total-resources", "name=CPU,type=INTEGER,integerValue=1024", "name=MEMORY,type=INTEGER,integerValue="+memory)
		instances = append(instances, reg.ContainerInstance.ContainerInstanceArn)
	}
	var started struct {
		Tasks []struct {
			cliTask
			StartedBy string
		}
		Failures []struct{ Arn, Reason string }
	}
	awsECS(t, url, &started, "start-task", "--cluster", cluster, "--task-definition", "sleeper",
		"--container-instances", instances[0], instances[1], "--started-by", "cli", "--reference-id", "lesson-1")
	if len(started.Tasks) != 1 || started.Tasks[0].ContainerInstanceArn != instances[0] || started.Tasks[0].StartedBy != "cli" {
		t.Fatalf("start-task: %+v", started.Tasks)
	}
	if len(started.Failures) != 1 || started.Failures[0].Arn != instances[1] || started.Failures[0].Reason != "RESOURCE:MEMORY" {
		t.Errorf("start-task failures: %+v, want RESOURCE:MEMORY on %s", started.Failures, instances[1])
	}
	arn := started.Tasks[0].TaskArn
	cliWait(t, url, cluster, arn, "RUNNING")
	awsECS(t, url, nil, "stop-task", "--cluster", cluster, "--task", arn)
	if stopped := cliWait(t, url, cluster, arn, "STOPPED"); stopped.StopCode != "UserInitiated" {
		t.Errorf("stop code %s, want UserInitiated", stopped.StopCode)
	}
}
