package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/internal/testenv"
)

// cgroupFile reads a file of a cgroup (path from the cgroup root, as a
// container's CgroupParent names it) of controller (cpu, memory) in the
// host's layout: cgroup v1's hierarchy per controller, or v2's one tree.
func cgroupFile(t *testing.T, controller, path, v1Name, v2Name string) string {
	t.Helper()
	file := filepath.Join("/sys/fs/cgroup", path, v2Name)
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", controller)); err == nil {
		file = filepath.Join("/sys/fs/cgroup", controller, path, v1Name)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the slice's %s: %v", controller, err)
	}
	return strings.TrimSpace(string(b))
}

// cgroupDirs lists the directories of a cgroup path in every hierarchy.
func cgroupDirs(path string) []string {
	v1, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", path))
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", path, "cgroup.controllers")); err == nil {
		v1 = append(v1, filepath.Join("/sys/fs/cgroup", path))
	}
	return v1
}

// Each container instance is a slice of the host of its registered size:
// its tasks' containers are in its cgroup (those of a task with task-level
// limits in the task's cgroup, inside it), whose CPU weight and memory
// limit are the registration's, so that its tasks together cannot use more
// memory than it has. Deregistered, its slice goes; left behind by a
// server that died before removing it, the next server finds it by its
// name and removes it.
func TestContainerInstancesAreSlicesOfTheHostOfTheirRegisteredSize(t *testing.T) {
	if info, err := testenv.Docker(t).Info(context.Background()); err != nil || info.CgroupDriver != "cgroupfs" {
		t.Skipf("the engine's cgroup driver is not cgroupfs (%v): instances are not slices of the host", err)
	}
	dir := t.TempDir()
	ts, c, cluster := newTaskCluster(t, dir, "slice", 6)
	ctx := context.Background()
	docker := testenv.Docker(t)
	inst := registerInstance(t, c, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
		TotalResources: []types.Resource{intResource("CPU", 1536), intResource("MEMORY", 128)}})
	id := lastSegment(aws.ToString(inst.ContainerInstanceArn))
	slice := "/berth/" + id
	t.Cleanup(func() {
		for _, d := range cgroupDirs(slice) {
			os.Remove(filepath.Join(d, "ecs"))
			os.Remove(d)
		}
	})
	registerJSON(t, ts.srv, []byte(`{"family": "sleeper", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest",
	  "memoryReservation": 16, "stopTimeout": 2, "command": ["sleep", "infinity"]}]}`))
	registerJSON(t, ts.srv, []byte(`{"family": "limited", "cpu": "256", "memory": "64", "containerDefinitions": [{"name": "app",
	  "image": "berth/demo:latest", "stopTimeout": 2, "command": ["sleep", "infinity"]}]}`))
	// Each container may take all the memory it touches; the instance's
	// 128 MiB hold the three together.
	registerJSON(t, ts.srv, []byte(`{"family": "greedy", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest",
	  "memoryReservation": 16, "command": ["mem", "256m"]}]}`))

	runOne := func(family string) types.Task {
		t.Helper()
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(family)})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask %s: %+v %v", family, out, err)
		}
		return out.Tasks[0]
	}
	sleeper := waitTask(t, c, cluster, aws.ToString(runOne("sleeper").TaskArn), "RUNNING")
	limited := waitTask(t, c, cluster, aws.ToString(runOne("limited").TaskArn), "RUNNING")
	for _, tt := range []struct {
		task   types.Task
		parent string
	}{
		{sleeper, slice},
		{limited, slice + "/ecs/" + lastSegment(aws.ToString(limited.TaskArn))},
	} {
		ctr := aws.ToString(tt.task.Containers[0].RuntimeId)
		info, err := docker.ContainerInspect(ctx, ctr)
		if err != nil {
			t.Fatal(err)
		}
		if info.HostConfig.CgroupParent != tt.parent {
			t.Errorf("task %s: its container's cgroup parent is %q, want %q", aws.ToString(tt.task.TaskDefinitionArn), info.HostConfig.CgroupParent, tt.parent)
		}
		if dirs := cgroupDirs(tt.parent + "/" + ctr); len(dirs) == 0 {
			t.Errorf("task %s: its container is not in the cgroup %s", aws.ToString(tt.task.TaskDefinitionArn), tt.parent)
		}
	}
	if got := cgroupFile(t, "memory", slice, "memory.limit_in_bytes", "memory.max"); got != strconv.Itoa(128<<20) {
		t.Errorf("the slice's memory limit is %s, want the instance's 128 MiB", got)
	}
	if got := cgroupFile(t, "cpu", slice, "cpu.shares", "cpu.weight"); got != "1536" && got != strconv.Itoa(1+((1536-2)*9999)/262142) {
		t.Errorf("the slice's CPU weight is %s, want the instance's 1536 units", got)
	}

	// A task that takes more memory than the instance has left is killed
	// for it, though no limit of its own binds it.
	greedy := waitTask(t, c, cluster, aws.ToString(runOne("greedy").TaskArn), "STOPPED")
	if code := aws.ToInt32(greedy.Containers[0].ExitCode); code != 137 {
		t.Errorf("a task taking 256 MiB on an instance of 128: exit code %d, reason %q; want 137, killed for memory", code, aws.ToString(greedy.Containers[0].Reason))
	}

	for _, task := range []types.Task{sleeper, limited} {
		if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: task.TaskArn}); err != nil {
			t.Fatal(err)
		}
		waitTask(t, c, cluster, aws.ToString(task.TaskArn), "STOPPED")
	}
	waitNoContainers(t, cluster)
	if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String(cluster), ContainerInstance: inst.ContainerInstanceArn}); err != nil {
		t.Fatal(err)
	}
	if left := cgroupDirs(slice); len(left) > 0 {
		t.Errorf("the slice of the deregistered instance is left: %v", left)
	}

	// A server that dies between an instance's deregistration and the
	// removal of its slice: the next one removes it.
	second := registerInstance(t, c, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
		TotalResources: []types.Resource{intResource("CPU", 512), intResource("MEMORY", 256)}})
	secondID := lastSegment(aws.ToString(second.ContainerInstanceArn))
	t.Cleanup(func() {
		for _, d := range cgroupDirs("/berth/" + secondID) {
			os.Remove(filepath.Join(d, "ecs"))
			os.Remove(d)
		}
	})
	task := waitTask(t, c, cluster, aws.ToString(runOne("sleeper").TaskArn), "RUNNING")
	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: task.TaskArn}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, aws.ToString(task.TaskArn), "STOPPED")
	waitNoContainers(t, cluster)
	ts.stop(t)
	if len(cgroupDirs("/berth/"+secondID)) == 0 {
		t.Fatalf("the slice of instance %s is not there to be left behind", secondID)
	}
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DeregisterContainerInstance(cluster, secondID, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ts = startTaskServer(t, dir, 6)
	defer ts.stop(t)
	if left := cgroupDirs("/berth/" + secondID); len(left) > 0 {
		t.Errorf("the slice a dead server left of deregistered instance %s is still there after the next start: %v", secondID, left)
	}
}

// waitNoContainers waits until the server has removed the containers of
// the cluster's stopped tasks (its cleanup wait is a millisecond).
func waitNoContainers(t *testing.T, cluster string) {
	t.Helper()
	docker := testenv.Docker(t)
	f := filters.NewArgs(filters.Arg("label", "com.amazonaws.ecs.cluster="+cluster))
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		left, err := docker.ContainerList(context.Background(), container.ListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d containers of the stopped tasks are still on the engine", len(left))
		}
	}
}

// lastSegment is the last part of an ARN: a task's or an instance's ID.
func lastSegment(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }
