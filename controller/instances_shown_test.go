package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/berthdev/berth/controller/api"
)

// The instances are shown with what their tasks hold (running and pending
// counts, remaining resources) and the cluster query language sees the
// groups of those tasks (task:group), as ECS shows and filters them; a
// task that stops gives its share back.
func TestInstancesAreShownWithWhatTheirTasksHold(t *testing.T) {
	ctx := context.Background()
	ctl, _, _ := memoryController(t)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ctl.CreateCluster(ctx, &api.CreateClusterInput{ClusterName: "web"}))
	var instances []string
	for range 2 {
		var in api.RegisterContainerInstanceInput
		if err := json.Unmarshal([]byte(`{"cluster": "web", "totalResources": [
		  {"name": "CPU", "type": "INTEGER", "integerValue": 1024}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1024}]}`), &in); err != nil {
			t.Fatal(err)
		}
		out, err := ctl.RegisterContainerInstance(ctx, &in)
		if err != nil {
			t.Fatal(err)
		}
		instances = append(instances, out.ContainerInstance.ContainerInstanceArn)
	}
	slices.Sort(instances)
	a, b := instances[0], instances[1]
	for _, family := range []string{"site", "db"} {
		var in api.RegisterTaskDefinitionInput
		def := fmt.Sprintf(`{"family": %q, "containerDefinitions": [{"name": "app", "image": "example/app:1", "cpu": 128, "memory": 100}]}`, family)
		if err := json.Unmarshal([]byte(def), &in); err != nil {
			t.Fatal(err)
		}
		must(ctl.RegisterTaskDefinition(ctx, &in))
	}
	start := func(family, instance string) string {
		t.Helper()
		out, err := ctl.StartTask(ctx, &api.StartTaskInput{Cluster: "web", TaskDefinition: family, ContainerInstances: []string{instance}})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("StartTask %s on %s: %+v, %v", family, instance, out, err)
		}
		return out.Tasks[0].TaskArn
	}
	site1, site2, db := start("site", a), start("site", b), start("db", b)
	for _, arn := range []string{site1, site2, db} {
		waitStatus(t, ctl, "web", arn, "RUNNING")
	}

	list := func(filter string) []string {
		t.Helper()
		out, err := ctl.ListContainerInstances(ctx, &api.ListContainerInstancesInput{Cluster: "web", Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		return out.ContainerInstanceArns
	}
	describe := func() map[string]api.ContainerInstance {
		t.Helper()
		out, err := ctl.DescribeContainerInstances(ctx, &api.DescribeContainerInstancesInput{Cluster: "web", ContainerInstances: instances})
		if err != nil {
			t.Fatal(err)
		}
		byARN := map[string]api.ContainerInstance{}
		for _, in := range out.ContainerInstances {
			byARN[in.ContainerInstanceArn] = in
		}
		return byARN
	}
	check := func(when string, filters map[string][]string, running map[string]int32) {
		t.Helper()
		for filter, want := range filters {
			if got := list(filter); !slices.Equal(got, want) {
				t.Errorf("%s, %q: %v, want %v", when, filter, got, want)
			}
		}
		shown := describe()
		for arn, n := range running {
			in := shown[arn]
			cpu, mem := resource(in.RemainingResources, "CPU"), resource(in.RemainingResources, "MEMORY")
			if in.RunningTasksCount != n || in.PendingTasksCount != 0 || cpu != 1024-128*n || mem != 1024-100*n {
				t.Errorf("%s, %s: %d running, %d pending, %d CPU and %d MiB left; want %d running, %d and %d left",
					when, arn, in.RunningTasksCount, in.PendingTasksCount, cpu, mem, n, 1024-128*n, 1024-100*n)
			}
		}
	}
	check("three tasks running", map[string][]string{
		"task:group == family:site":        {a, b},
		"task:group == family:db":          {b},
		"not(task:group == family:db)":     {a},
		"task:group in [family:db, other]": {b},
		"task:group =~ family:s.*":         {a, b},
		"runningTasksCount == 2":           {b},
	}, map[string]int32{a: 1, b: 2})

	if _, err := ctl.StopTask(ctx, &api.StopTaskInput{Cluster: "web", Task: db}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ctl, "web", db, "STOPPED")
	check("the db task stopped", map[string][]string{
		"task:group == family:site": {a, b},
		"task:group == family:db":   nil,
		"runningTasksCount == 1":    {a, b},
	}, map[string]int32{a: 1, b: 1})
}

// resource is the integer value of the named resource.
func resource(rs []api.Resource, name string) int32 {
	for _, r := range rs {
		if r.Name == name {
			return r.IntegerValue
		}
	}
	return -1
}

// BenchmarkShowInstances is DescribeContainerInstances of one instance and
// ListContainerInstances with a filter of what tasks hold, with 100,
// 1,000 and 10,000 tasks of the cluster stored (10 of them RUNNING on the
// instance): what a console or `berth instance list` costs the server.
func BenchmarkShowInstances(b *testing.B) {
	for _, stored := range []int{100, 1_000, 10_000} {
		srv, _ := runTaskServer(b, stored, 10)
		var listed api.ListContainerInstancesOutput
		if err := json.Unmarshal(postRead(b, srv.URL, "ListContainerInstances", api.ListContainerInstancesInput{Cluster: "bench"}), &listed); err != nil || len(listed.ContainerInstanceArns) != 1 {
			b.Fatalf("the instance: %s %v", listed.ContainerInstanceArns, err)
		}
		b.Run(fmt.Sprintf("describe/stored=%d", stored), func(b *testing.B) {
			for b.Loop() {
				postRead(b, srv.URL, "DescribeContainerInstances", api.DescribeContainerInstancesInput{Cluster: "bench", ContainerInstances: listed.ContainerInstanceArns})
			}
		})
		b.Run(fmt.Sprintf("list-filtered/stored=%d", stored), func(b *testing.B) {
			for b.Loop() {
				postRead(b, srv.URL, "ListContainerInstances", api.ListContainerInstancesInput{Cluster: "bench", Filter: "runningTasksCount > 0"})
			}
		})
	}
}
