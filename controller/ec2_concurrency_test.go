package controller_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Fifty RunTasks and StartTasks at once on two small instances (every
// third call a StartTask naming one of them): none is placed beyond an
// instance's registered CPU and memory, no static host port twice on one
// instance, and every task not placed is a failure with ECS's reason.
func TestFiftyRunTasksAtOnceNeverOverCommitAnInstance(t *testing.T) {
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "busy", 6)
	defer ts.stop(t)
	ctx := context.Background()
	const cpu, memory = 1024, 512
	var instances []string
	for range 2 {
		reg, err := c.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
			TotalResources: []types.Resource{
				{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
				{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: memory},
			}})
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, aws.ToString(reg.ContainerInstance.ContainerInstanceArn))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	registerJSON(t, ts.srv, []byte(`{"family": "small", "containerDefinitions": [{"name": "a", "image": "berth/demo:latest", "cpu": 128, "memory": 96, "command": ["sleep", "300"]}]}`))
	registerJSON(t, ts.srv, []byte(fmt.Sprintf(`{"family": "ported", "containerDefinitions": [{"name": "a", "image": "berth/demo:latest", "cpu": 64, "memory": 32,
	  "command": ["sleep", "300"], "portMappings": [{"containerPort": 8080, "hostPort": %d}]}]}`, port)))

	type placed struct {
		instance, family string
	}
	var mu sync.Mutex
	var tasks []placed
	failures := map[string]int{}
	var wg sync.WaitGroup
	for i := range 50 {
		family := "small"
		if i%2 == 1 {
			family = "ported"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var started []types.Task
			var refused []types.Failure
			var err error
			if i%3 == 2 {
				var out *ecs.StartTaskOutput
				out, err = c.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(family), ContainerInstances: []string{instances[i%2]}})
				if err == nil {
					started, refused = out.Tasks, out.Failures
				}
			} else {
				var out *ecs.RunTaskOutput
				out, err = c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(family), LaunchType: types.LaunchTypeEc2})
				if err == nil {
					started, refused = out.Tasks, out.Failures
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			for _, task := range started {
				tasks = append(tasks, placed{aws.ToString(task.ContainerInstanceArn), family})
			}
			for _, f := range refused {
				failures[aws.ToString(f.Reason)]++
			}
		}()
	}
	wg.Wait()
	used := map[string][3]int{} // cpu, memory, static ports
	for _, p := range tasks {
		u := used[p.instance]
		if p.family == "small" {
			u[0], u[1] = u[0]+128, u[1]+96
		} else {
			u[0], u[1], u[2] = u[0]+64, u[1]+32, u[2]+1
		}
		used[p.instance] = u
	}
	for instance, u := range used {
		if u[0] > cpu || u[1] > memory || u[2] > 1 {
			t.Errorf("instance %s holds %d CPU, %d MiB and port %d %d times", instance, u[0], u[1], port, u[2])
		}
	}
	if len(tasks)+failures["RESOURCE:MEMORY"]+failures["RESOURCE:CPU"]+failures["RESOURCE:PORTS"] != 50 {
		t.Errorf("%d placed, failures %v: not 50", len(tasks), failures)
	}
	if failures["RESOURCE:PORTS"] == 0 && failures["RESOURCE:MEMORY"] == 0 {
		t.Errorf("nothing was refused: the instances are too big for the test")
	}
}
