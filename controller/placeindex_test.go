package controller_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/taskdef"
)

// heldRecount is what placement must find holding each instance of
// cluster, worked out from the store alone by a full read: every EC2 task
// placed that has not stopped, with its group and what it holds, in ID
// order, as one line per instance.
func (w *taskWorld) heldRecount(cluster string) string {
	w.t.Helper()
	heads, err := w.st.TaskHeads(cluster, func(t *store.Task) bool { return t.Instance != "" && t.LastStatus != "STOPPED" })
	if err != nil {
		w.t.Fatal(err)
	}
	namer := api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}
	held := map[string][]scheduler.Task{}
	for _, h := range heads {
		held[h.Instance] = append(held[h.Instance], scheduler.Task{ARN: namer.Task(cluster, h.ID), Group: h.Group,
			Needs: scheduler.Resources{CPU: int(h.Holds.CPU), MemoryMiB: int(h.Holds.MemoryMiB), TCPPorts: h.Holds.TCPPorts, UDPPorts: h.Holds.UDPPorts}})
	}
	return heldLines(held)
}

// held is what the controller's placement finds holding each instance of
// cluster, as heldRecount writes it.
func (w *taskWorld) held(cluster string) string {
	w.t.Helper()
	held, err := w.ctl.HeldTasks(cluster)
	if err != nil {
		w.t.Fatal(err)
	}
	return heldLines(held)
}

func heldLines(held map[string][]scheduler.Task) string {
	var lines []string
	for instance, tasks := range held {
		lines = append(lines, fmt.Sprintf("%s: %v", instance, tasks))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// failedCommit tells the controller's index what a store would of a
// transaction that wrote tasks and then failed to commit: the change
// inside it, then that it is unsure. Half the time the transaction
// created an EC2 task, half the time it stopped one the changer owns.
func (c *changer) failedCommit() {
	w := c.w
	phantom := taskRecord(w.clusters[c.rnd.IntN(len(w.clusters))], c.prefix+"never-stored", "EC2", "PENDING", c.rnd.IntN(3), "i0", time.Time{}, nil)
	if len(c.tasks) > 0 && c.rnd.IntN(2) == 0 {
		phantom = c.tasks[c.rnd.IntN(len(c.tasks))]
		phantom.LastStatus = "STOPPED"
	}
	watcher := w.ctl.HeldWatcher()
	watcher.TasksChanged([]store.TaskChange{{Task: phantom}})
	watcher.TasksUnsure()
}

// Whatever sequence of changes the tasks go through (created in batches,
// moved on through their statuses, stopped, refused a change, forgotten,
// and now and then a transaction that fails to commit), what placement
// finds holding each instance is what a full read of the store gives: the
// EC2 tasks not STOPPED, each with its group, CPU, memory and ports.
func TestWhatPlacementFindsHeldEqualsARecountFromTheStore(t *testing.T) {
	forEachSeed(t, 29, func(t *testing.T, w *taskWorld, c *changer) {
		for step := range 400 {
			if c.rnd.IntN(25) == 0 {
				c.failedCommit()
			} else if err := c.step(false); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if c.rnd.IntN(8) == 0 || step == 399 {
				for _, cl := range w.clusters {
					if got, want := w.held(cl), w.heldRecount(cl); got != want {
						t.Fatalf("after step %d, cluster %s: placement finds\n%s\nthe store holds\n%s", step, cl, got, want)
					}
				}
			}
		}
	})
}

// Changes made at once from several goroutines, while placement reads
// what the instances hold (the first read taking the store whole among
// them), leave it equal to a recount (run it with -race).
func TestWhatPlacementFindsHeldFollowsConcurrentChanges(t *testing.T) {
	w := newTaskWorld(t)
	w.changeAtOnce(31, func() {
		if _, err := w.ctl.HeldTasks(w.clusters[0]); err != nil {
			t.Error(err)
		}
	})
	for _, cl := range w.clusters {
		if got, want := w.held(cl), w.heldRecount(cl); got != want {
			t.Fatalf("cluster %s: placement finds\n%s\nthe store holds\n%s", cl, got, want)
		}
	}
}

// A task holds its instance from the commit that records it and frees it
// at the commit that records it STOPPED, whichever path writes the store:
// RunTask and StartTask see both at once. An instance of 1024 CPU units
// takes four tasks of 256; a fifth is refused until one of them stops,
// and a task forgotten frees nothing more than its stop did.
func TestATaskHoldsItsInstanceUntilItsStopIsRecorded(t *testing.T) {
	ctl, st, instance := memoryEC2Cluster(t)
	ctx := context.Background()
	// place runs one task by RunTask or StartTask and answers its ARN, or
	// the reason it was refused.
	place := func(start bool) (arn, reason string) {
		t.Helper()
		var tasks []api.Task
		var failures []api.Failure
		if start {
			out, err := ctl.StartTask(ctx, &api.StartTaskInput{Cluster: "class", TaskDefinition: "app", ContainerInstances: []string{instance}})
			if err != nil {
				t.Fatal(err)
			}
			tasks, failures = out.Tasks, out.Failures
		} else {
			out, err := ctl.RunTask(ctx, &api.RunTaskInput{Cluster: "class", TaskDefinition: "app", LaunchType: "EC2"})
			if err != nil {
				t.Fatal(err)
			}
			tasks, failures = out.Tasks, out.Failures
		}
		switch {
		case len(tasks) == 1 && len(failures) == 0:
			return tasks[0].TaskArn, ""
		case len(tasks) == 0 && len(failures) == 1:
			return "", failures[0].Reason
		}
		t.Fatalf("%d tasks, failures %+v", len(tasks), failures)
		return "", ""
	}
	// running waits until the task is RUNNING: its agent has it, so the
	// controller closes with nothing on its way to the engine.
	running := func(arn string) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			d, err := ctl.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: "class", Tasks: []string{arn}})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Tasks) == 1 && d.Tasks[0].LastStatus == "RUNNING" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s did not reach RUNNING: %+v", arn, d)
			}
		}
	}
	var placed []string
	for i := range 4 {
		arn, reason := place(i%2 == 1)
		if reason != "" {
			t.Fatalf("task %d refused: %s", i, reason)
		}
		running(arn)
		placed = append(placed, arn)
	}
	for _, start := range []bool{false, true} {
		if _, reason := place(start); reason != "RESOURCE:CPU" {
			t.Fatalf("a fifth task (StartTask %v): refused for %q, want RESOURCE:CPU", start, reason)
		}
	}
	// The stop recorded as an agent's report records it.
	id := placed[0][strings.LastIndex(placed[0], "/")+1:]
	if _, err := st.UpdateTask("class", id, func(t *store.Task) error {
		t.LastStatus, t.DesiredStatus = "STOPPED", "STOPPED"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	arn, reason := place(true)
	if reason != "" {
		t.Fatalf("a task in the place of the stopped one: refused for %s", reason)
	}
	running(arn)
	if err := st.DeleteTasks("class", id); err != nil {
		t.Fatal(err)
	}
	if _, reason := place(false); reason != "RESOURCE:CPU" {
		t.Fatalf("a task once the stopped one is forgotten: refused for %q, want RESOURCE:CPU", reason)
	}
}

// memoryEC2Cluster is a controller over an engine in memory, and its store,
// with a cluster "class" of one instance of 1024 CPU units and 4096 MiB,
// whose ARN it answers, and a task definition "app" of one container that
// reserves 256 units and 64 MiB.
func memoryEC2Cluster(t *testing.T) (*controller.Controller, *store.Store, string) {
	t.Helper()
	ctl, st, _ := memoryController(t)
	ctx := context.Background()
	if _, err := ctl.CreateCluster(ctx, &api.CreateClusterInput{ClusterName: "class"}); err != nil {
		t.Fatal(err)
	}
	reg, err := ctl.RegisterContainerInstance(ctx, &api.RegisterContainerInstanceInput{Cluster: "class", TotalResources: []api.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 4096}}})
	if err != nil {
		t.Fatal(err)
	}
	memory := 64
	if _, err := ctl.RegisterTaskDefinition(ctx, &api.RegisterTaskDefinitionInput{Family: "app", ContainerDefinitions: []taskdef.ContainerDefinition{
		{Name: "app", Image: "example/app:1", CPU: 256, Memory: &memory}}}); err != nil {
		t.Fatal(err)
	}
	return ctl, st, reg.ContainerInstance.ContainerInstanceArn
}

// An instance's load at registration comes from the placement index: it
// is what the store adds up from the instance's tasks, through writes
// before and after the index is read.
func TestInstanceLoadFromPlaceIndexIsTheStores(t *testing.T) {
	w := newTaskWorld(t)
	task := func(id, instance, status string, port uint16) store.Task {
		return store.Task{Cluster: "class", ID: id, LaunchType: "EC2", LastStatus: status, DesiredStatus: "RUNNING", Instance: instance,
			Holds: store.Resources{CPU: 256, MemoryMiB: 300, TCPPorts: []uint16{port}, UDPPorts: []uint16{port + 1}}, CreatedAt: w.clock()}
	}
	if err := w.st.CreateTasks([]store.Task{task("b", "i0", "RUNNING", 80), task("a", "i0", "PENDING", 81), task("c", "i0", "STOPPED", 82),
		task("d", "i1", "RUNNING", 83), task("e", "", "PROVISIONING", 84)}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for _, id := range []string{"i0", "i1", "i9"} {
			got, err := w.ctl.InstanceLoad("class", id)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := w.st.ContainerInstance("class", id)
			var want store.InstanceLoad
			if err == nil {
				want = rec.Load
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: instance %s: load %+v from the index, the store's %+v", when, id, got, want)
			}
		}
	}
	check("before the index is read")
	if _, err := w.st.UpdateTask("class", "a", func(t *store.Task) error { t.LastStatus = "RUNNING"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.UpdateTask("class", "b", func(t *store.Task) error { t.LastStatus = "STOPPED"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := w.st.CreateTasks([]store.Task{task("f", "i0", "PENDING", 90)}); err != nil {
		t.Fatal(err)
	}
	check("after writes")
}
