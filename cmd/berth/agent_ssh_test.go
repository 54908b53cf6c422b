package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/internal/testenv"
)

// berth agent reaches an engine over ssh as the Docker CLI does, from
// DOCKER_HOST=ssh://USER@HOST:PORT: every call it makes to the engine (its
// registration, its events, a task's containers) goes through an ssh that
// runs `docker system dial-stdio` on the host. Here ssh is a fake on PATH
// that checks its command line and joins the test machine's engine.
func TestBerthAgentReachesItsEngineOverSSH(t *testing.T) {
	connections := testenv.FakeSSH(t, "-l me -p 2222 -- somehost")
	const engineHost = "ssh://me@somehost:2222"
	first := testenv.Docker(t)
	e, endpoint, berth, stop := startAgentServer(t, first, "ssh")
	defer stop()

	agent := exec.Command(e.bin, "agent", "--server", endpoint, "--cluster", e.cluster, "--zone", "us-east-1c", "--state", t.TempDir(), "--host-ip", "127.0.0.1")
	agent.Env = append(os.Environ(), "DOCKER_HOST="+engineHost)
	aw := e.start(agent)
	t.Cleanup(func() {
		agent.Process.Signal(syscall.SIGTERM)
		e.ended(agent, aw)
		if t.Failed() {
			t.Logf("the agent:\n%s", aw)
		}
	})
	aw.waitFor(t, "with the engine at "+engineHost)
	deadline := time.Now().Add(2 * time.Minute)
	var in api.ContainerInstance
	for {
		in = instancesOf(t, berth)["us-east-1c"]
		if in.AgentConnected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent over ssh is not connected within two minutes: %+v", in)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if b := in.BerthAgent; b == nil || b.Engine != engineHost || b.EngineReachable == nil || !*b.EngineReachable {
		t.Errorf("where the instance runs: %+v", b)
	}

	def := e.file("web.json", `{"family": "ssh-web", "containerDefinitions": [{"name": "web", "image": "berth/demo:latest", "memory": 32,
	  "command": ["serve", "--port", "8080"], "portMappings": [{"containerPort": 8080}], "stopTimeout": 2}]}`)
	var run api.RunTaskOutput
	if err := json.Unmarshal([]byte(berth("task", "run", def, "--wait", "-o", "json")), &run); err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 1 || run.Tasks[0].LastStatus != "RUNNING" || run.Tasks[0].ContainerInstanceArn != in.ContainerInstanceArn {
		t.Fatalf("task run: %+v", run)
	}
	task := run.Tasks[0]
	ctr, err := first.ContainerInspect(context.Background(), task.Containers[0].RuntimeID)
	if err != nil || !ctr.State.Running || ctr.Config.Labels["com.amazonaws.ecs.task-arn"] != task.TaskArn {
		t.Fatalf("the task's container on the engine behind ssh: %v", err)
	}
	b := task.Containers[0].NetworkBindings[0]
	if code := getUntilAnswered(t, "http://"+b.BindIP+":"+strconv.Itoa(int(*b.HostPort))+"/"); code != 200 {
		t.Errorf("GET the task: %d", code)
	}
	berth("task", "stop", lastSegment(task.TaskArn))
	berth("task", "wait", lastSegment(task.TaskArn), "--status", "STOPPED")
	if data, err := os.ReadFile(connections); err != nil || len(data) == 0 {
		t.Errorf("no connection went through ssh: %v", err)
	}
}
