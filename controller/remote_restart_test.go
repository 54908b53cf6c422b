package controller_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/hostagent"
	"github.com/berthdev/berth/internal/testenv"
)

// A task placed on an agent's instance, tagged, and the server killed
// (SIGKILL) before the agent acknowledged the assignment: the assignments the
// server held in memory are gone with it, and the restarted server works
// them out again from the store when the agent connects. The task runs,
// once, whether the payload never reached the agent or the agent started
// the task and neither its acknowledgement nor its reports reached the
// server.
func TestAnAssignmentSurvivesTheServersKillBeforeItsAck(t *testing.T) {
	steps := []struct {
		name string
		lost func(toServer bool, f agentproto.Frame) bool
	}{
		{"the payload never reached the agent", func(toServer bool, f agentproto.Frame) bool {
			return !toServer && f.Type == agentproto.TypePayload
		}},
		{"the agent started the task, the server heard nothing of it", func(toServer bool, f agentproto.Frame) bool {
			return toServer && (f.Type == agentproto.TypeAck || f.Type == agentproto.TypeTaskStateChange)
		}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			cluster := "killed-" + api.NewID()[:8]
			docker := testenv.Docker(t)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster)
			})
			dir, addr := t.TempDir(), freeAddr(t)
			srv := startServerProcessAt(t, dir, addr, agentTimeout)
			srv.call(t, "CreateCluster", api.CreateClusterInput{ClusterName: cluster}, nil)
			srv.call(t, "RegisterTaskDefinition", map[string]any{"family": "killed-web", "containerDefinitions": []map[string]any{
				{"name": "app", "image": "berth/demo:latest", "memory": 32, "command": []string{"serve", "--port", "8080"},
					"portMappings": []map[string]any{{"containerPort": 8080}}, "stopTimeout": 2}}}, nil)
			proxy := startFaultProxy(t, addr)
			startAgent(t, hostagent.Config{Server: proxy.url(), Cluster: cluster, Zone: "us-east-1a"})
			poll(t, "the agent is connected", func() bool { return srv.connected(t, cluster) == 1 })

			var lost bool
			proxy.arm(func(toServer bool, f agentproto.Frame) verdict {
				if step.lost(toServer, f) {
					lost = true
					return discard
				}
				return forward
			})
			var run api.RunTaskOutput
			srv.call(t, "RunTask", api.RunTaskInput{Cluster: cluster, TaskDefinition: "killed-web"}, &run)
			if len(run.Tasks) != 1 {
				t.Fatalf("RunTask: %+v", run)
			}
			arn := run.Tasks[0].TaskArn
			poll(t, "the step is seen", func() bool {
				proxy.mu.Lock()
				defer proxy.mu.Unlock()
				return lost
			})
			// A tag changes the task's record, not what it is: the
			// restarted server still knows it as never started.
			srv.call(t, "TagResource", api.TagResourceInput{ResourceArn: arn, Tags: []api.Tag{{Key: "stage", Value: "test"}}}, nil)
			if err := srv.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			srv.cmd.Wait()
			proxy.arm(nil)

			again := startServerProcessAt(t, dir, addr, agentTimeout)
			var task api.Task
			poll(t, "the task runs", func() bool {
				var desc api.DescribeTasksOutput
				again.call(t, "DescribeTasks", api.DescribeTasksInput{Cluster: cluster, Tasks: []string{arn}}, &desc)
				if len(desc.Tasks) != 1 {
					t.Fatalf("DescribeTasks %s: %+v", arn, desc)
				}
				task = desc.Tasks[0]
				return task.LastStatus == "RUNNING"
			})
			if ctrs := allContainersOf(t, arn); len(ctrs) != 1 || ctrs[0].ID != task.Containers[0].RuntimeID {
				t.Errorf("the task's containers on the engine: %d, recorded %s", len(ctrs), task.Containers[0].RuntimeID)
			}
			if n := again.connected(t, cluster); n != 1 {
				t.Errorf("connected instances after the restart: %d, want 1", n)
			}
		})
	}
}

// freeAddr is a loopback address no one listens at, for a server that
// must listen at the same one after a restart.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// allContainersOf lists the task's containers on the engine, running or
// not.
func allContainersOf(t *testing.T, arn string) []container.Summary {
	t.Helper()
	list, err := testenv.Docker(t).ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.task-arn="+arn))})
	if err != nil {
		t.Fatal(err)
	}
	return list
}
