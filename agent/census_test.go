package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
)

// ActiveTasks finds the tasks on the engine (of any agent) whose
// containers still run, with the definition and task size they started
// with, and leaves out the ones that have stopped but are not yet removed,
// also when a container of theirs was created and never started.
func TestActiveTasksListsRunningTasksWithTheirDefinitionAndSize(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *agent.Config) { c.CleanupWait = time.Hour })
	running := e.run(`{"family":"census","cpu":"256","memory":"512","containerDefinitions":[
		{"name":"app","image":"berth/demo","command":["sleep","600"]}]}`)
	e.waitRunning(running)
	// Stopped and kept: init exited, app was created but never started.
	stopped := e.run(`{"family":"census-failed","containerDefinitions":[
		{"name":"init","image":"berth/demo","memory":32,"essential":false,"command":["exit","3"]},
		{"name":"app","image":"berth/demo","memory":32,"command":["sleep","60"],
		 "dependsOn":[{"containerName":"init","condition":"SUCCESS"}]}]}`)
	e.waitStatus(stopped, agent.TaskStopped)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	active, err := agent.ActiveTasks(ctx, e.api)
	if err != nil {
		t.Fatal(err)
	}
	var mine []agent.ActiveTask
	var arns []string
	for _, a := range active {
		if a.Cluster == e.cfg.Cluster {
			mine = append(mine, a)
			arns = append(arns, a.ARN)
		}
	}
	if len(mine) != 1 || mine[0].ARN != running {
		t.Fatalf("active tasks of the test's cluster: %v, want only %s", arns, running)
	}
	got := mine[0]
	if got.Task.LaunchType != "EC2" || got.Group != "family:census" || got.Task.CPU != 256 || got.Task.Memory != 512 ||
		got.Task.Definition.Family != "census" || len(got.Task.Definition.ContainerDefinitions) != 1 {
		t.Errorf("active task %+v: want an EC2 task of family census, group family:census, 256 CPU units and 512 MiB", got)
	}

	for _, arn := range []string{running, stopped} {
		if err := e.agent.KillTask(ctx, arn); err != nil {
			t.Fatal(err)
		}
		e.waitStatus(arn, agent.TaskStopped)
		if err := e.agent.RemoveTask(ctx, arn); err != nil {
			t.Fatal(err)
		}
	}
}
