package controller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// benchStore is an empty store with the cluster "bench", closed when b
// ends, and the time the cluster was made.
func benchStore(b *testing.B) (*store.Store, time.Time) {
	b.Helper()
	st, err := store.Open(b.TempDir() + "/state.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Now()
	if _, _, err := st.CreateCluster(store.Cluster{Name: "bench"}, now); err != nil {
		b.Fatal(err)
	}
	return st, now
}

// storedTasks fills a store with n RUNNING tasks of one cluster, each as a
// two-container Fargate task would be recorded, and returns a server of it
// and the tasks' ARNs.
func storedTasks(b *testing.B, n int) (*httptest.Server, []api.Task) {
	b.Helper()
	st, now := benchStore(b)
	namer := api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}
	tasks := make([]api.Task, n)
	storeTasks(b, st, n, func(i int, id, arn string) store.Task {
		t := api.Task{TaskArn: arn, ClusterArn: namer.Cluster("bench"), LastStatus: "RUNNING", DesiredStatus: "RUNNING",
			LaunchType: "FARGATE", CPU: "256", Memory: "512", Group: "family:web", Version: 5, AvailabilityZone: "us-east-1a",
			TaskDefinitionArn: namer.TaskDefinition("web", 1), PlatformVersion: "1.4.0", PlatformFamily: "Linux",
			CreatedAt: api.Time(now), StartedAt: api.Time(now), PullStartedAt: api.Time(now), PullStoppedAt: api.Time(now),
			Attachments: []api.Attachment{{ID: "a", Type: "ElasticNetworkInterface", Status: "ATTACHED", Details: []api.KeyValuePair{
				{Name: "subnetId", Value: "subnet-0123456789abcdef0"}, {Name: "networkInterfaceId", Value: "eni-00000000000000001"},
				{Name: "privateIPv4Address", Value: "172.31.0.4"}}}},
			Containers: []api.Container{
				{Name: "web", Image: "berth/demo:latest", LastStatus: "RUNNING", RuntimeID: id + id, HealthStatus: "HEALTHY", TaskArn: arn},
				{Name: "sidecar", Image: "berth/demo:latest", LastStatus: "RUNNING", RuntimeID: id + id, HealthStatus: "UNKNOWN", TaskArn: arn},
			}}
		tasks[i] = t
		body, _ := json.Marshal(t)
		return store.Task{Cluster: "bench", ID: id, Family: "web", LaunchType: "FARGATE", LastStatus: "RUNNING",
			DesiredStatus: "RUNNING", CreatedAt: now, Version: 5, Body: body}
	})
	mux := api.NewMux(slog.New(slog.NewTextHandler(io.Discard, nil)))
	controller.New(st, controller.Options{}).Register(mux)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv, tasks
}

// storeTasks stores n tasks of the cluster "bench" in st, a thousand to a
// transaction: task makes the i-th, whose ID is i in hex, named arn.
func storeTasks(b *testing.B, st *store.Store, n int, task func(i int, id, arn string) store.Task) {
	b.Helper()
	namer := api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}
	var batch []store.Task
	for i := range n {
		id := fmt.Sprintf("%032x", i)
		batch = append(batch, task(i, id, namer.Task("bench", id)))
		if len(batch) == 1000 || i == n-1 {
			if err := st.CreateTasks(batch); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
}

// floor is the least an HTTP JSON answer of the same tasks can cost in this
// process: a bare net/http handler that reads the request and encodes the
// tasks it holds in memory.
func floor(b *testing.B, answer func(body []byte) any) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(answer(body))
	}))
	b.Cleanup(srv.Close)
	return srv
}

func post(b *testing.B, url, op string, in any) {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d", op, resp.StatusCode)
	}
}

// DescribeTasks of 100 tasks with 10,000 stored, beside the floor.
func BenchmarkDescribeTasks(b *testing.B) {
	srv, tasks := storedTasks(b, 10_000)
	arns := make([]string, 100)
	for i := range arns {
		arns[i] = tasks[i*97].TaskArn
	}
	in := api.DescribeTasksInput{Cluster: "bench", Tasks: arns}
	b.Run("berth", func(b *testing.B) {
		for b.Loop() {
			post(b, srv.URL, "DescribeTasks", in)
		}
	})
	b.Run("floor", func(b *testing.B) {
		byARN := map[string]api.Task{}
		for _, t := range tasks {
			byARN[t.TaskArn] = t
		}
		fl := floor(b, func(body []byte) any {
			var req api.DescribeTasksInput
			json.Unmarshal(body, &req)
			out := api.DescribeTasksOutput{Failures: []api.Failure{}}
			for _, a := range req.Tasks {
				out.Tasks = append(out.Tasks, byARN[a])
			}
			return out
		})
		for b.Loop() {
			post(b, fl.URL, "DescribeTasks", in)
		}
	})
}

// ListTasks' first page with 10,000 tasks stored, beside the floor.
func BenchmarkListTasks(b *testing.B) {
	srv, tasks := storedTasks(b, 10_000)
	in := api.ListTasksInput{Cluster: "bench"}
	b.Run("berth", func(b *testing.B) {
		for b.Loop() {
			post(b, srv.URL, "ListTasks", in)
		}
	})
	b.Run("floor", func(b *testing.B) {
		fl := floor(b, func([]byte) any {
			out := api.ListTasksOutput{NextToken: "x"}
			for _, t := range tasks {
				if t.DesiredStatus == "RUNNING" && len(out.TaskArns) < 100 {
					out.TaskArns = append(out.TaskArns, t.TaskArn)
				}
			}
			return out
		})
		for b.Loop() {
			post(b, fl.URL, "ListTasks", in)
		}
	})
}

// memoryController is a controller over an engine in memory that holds
// the image example/app:1, and its store, both closed when tb ends.
func memoryController(tb testing.TB) (*controller.Controller, *store.Store, *enginetest.Engine) {
	tb.Helper()
	st, err := store.Open(tb.TempDir() + "/state.db")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	eng := enginetest.New(nil)
	eng.AddImage("example/app:1", nil)
	bin, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	// The engine in memory keeps no cgroups: the instances' slices are
	// made in a directory of the test's.
	ctl := controller.New(st, controller.Options{Docker: func() (engine.Engine, error) { return eng, nil }, BinaryPath: bin, CgroupRoot: tb.TempDir()})
	tb.Cleanup(ctl.Close)
	return ctl, st, eng
}

// runTaskServer is a controller over an engine in memory, on an HTTP
// server, with one EC2 instance big enough for every task a benchmark runs,
// and stored tasks of the cluster on that instance put in its store once a
// first task runs there: running of them RUNNING, the others STOPPED.
func runTaskServer(b *testing.B, stored, running int) (*httptest.Server, *enginetest.Engine) {
	b.Helper()
	ctl, st, eng := memoryController(b)
	mux := api.NewMux(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctl.Register(mux)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	post(b, srv.URL, "CreateCluster", api.CreateClusterInput{ClusterName: "bench"})
	post(b, srv.URL, "RegisterContainerInstance", map[string]any{"cluster": "bench", "totalResources": []map[string]any{
		{"name": "CPU", "type": "INTEGER", "integerValue": 1 << 30}, {"name": "MEMORY", "type": "INTEGER", "integerValue": 1 << 30}}})
	post(b, srv.URL, "RegisterTaskDefinition", map[string]any{"family": "app", "containerDefinitions": []map[string]any{
		{"name": "app", "image": "example/app:1", "memory": 16}}})
	if stored > 0 {
		// A first task starts the cluster's agent, which would take the
		// stored RUNNING tasks, absent from its engine, for lost.
		untilRunning(b, srv.URL, postRead(b, srv.URL, "RunTask", api.RunTaskInput{Cluster: "bench", TaskDefinition: "app", LaunchType: "EC2"}))
		instances, err := st.ContainerInstancesUnloaded("bench")
		if err != nil || len(instances) != 1 {
			b.Fatalf("the instance: %v", err)
		}
		storeEC2Tasks(b, st, instances[0].ID, stored, running)
	}
	return srv, eng
}

// storeEC2Tasks stores n one-container tasks of the family app on the
// instance, as RunTask records them: the first running of them RUNNING,
// holding what they need of it, the others STOPPED.
func storeEC2Tasks(b *testing.B, st *store.Store, instance string, n, running int) {
	b.Helper()
	namer := api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}
	now := time.Now().UTC()
	storeTasks(b, st, n, func(i int, id, arn string) store.Task {
		status := "RUNNING"
		var stoppedAt *time.Time
		if i >= running {
			status, stoppedAt = "STOPPED", &now
		}
		body, _ := json.Marshal(api.Task{TaskArn: arn, ClusterArn: namer.Cluster("bench"), LastStatus: status, DesiredStatus: status,
			LaunchType: "EC2", Group: "family:app", Version: 3, TaskDefinitionArn: namer.TaskDefinition("app", 1), CreatedAt: api.Time(now),
			ContainerInstanceArn: namer.ContainerInstance("bench", instance),
			Containers:           []api.Container{{Name: "app", Image: "example/app:1", LastStatus: status, TaskArn: arn}}})
		return store.Task{Cluster: "bench", ID: id, Family: "app", LaunchType: "EC2", Instance: instance, Group: "family:app",
			Holds: store.Resources{MemoryMiB: 16}, LastStatus: status, DesiredStatus: status, CreatedAt: now, StoppedAt: stoppedAt,
			Version: 3, Body: body}
	})
}

// RunTask over an engine in memory: what berth adds to the engine's own
// work, from the call to its answer and to the task being RUNNING, beside
// the engine's create and start of the same container. The answer is
// measured with 100, 1,000 and 10,000 tasks of the cluster stored, ten of
// them running and the others STOPPED, as a cluster that has run for a
// while holds them: its cost should not grow with them.
func BenchmarkRunTask(b *testing.B) {
	in := api.RunTaskInput{Cluster: "bench", TaskDefinition: "app", LaunchType: "EC2"}
	for _, stored := range []int{100, 1_000, 10_000} {
		b.Run(fmt.Sprintf("answer/stored=%d", stored), func(b *testing.B) {
			srv, _ := runTaskServer(b, stored, 10)
			var last []byte
			for b.Loop() {
				last = postRead(b, srv.URL, "RunTask", in)
			}
			untilRunning(b, srv.URL, last)
		})
	}
	srv, eng := runTaskServer(b, 0, 0)
	b.Run("answer", func(b *testing.B) {
		var last []byte
		for b.Loop() {
			last = postRead(b, srv.URL, "RunTask", in)
		}
		untilRunning(b, srv.URL, last)
	})
	b.Run("to-running", func(b *testing.B) {
		for b.Loop() {
			untilRunning(b, srv.URL, postRead(b, srv.URL, "RunTask", in))
		}
	})
	b.Run("engine-create-and-start", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			created, err := eng.ContainerCreate(ctx, &container.Config{Image: "example/app:1"}, &container.HostConfig{}, nil, nil, "")
			if err != nil {
				b.Fatal(err)
			}
			if err := eng.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// untilRunning polls DescribeTasks until the task RunTask answered with
// is RUNNING. A benchmark ends with it, so that its server closes with no
// task on its way to the engine.
func untilRunning(b *testing.B, url string, runTaskAnswer []byte) {
	var out api.RunTaskOutput
	if err := json.Unmarshal(runTaskAnswer, &out); err != nil || len(out.Tasks) != 1 {
		b.Fatalf("RunTask answered %s", runTaskAnswer)
	}
	describe := api.DescribeTasksInput{Cluster: "bench", Tasks: []string{out.Tasks[0].TaskArn}}
	for {
		var d api.DescribeTasksOutput
		json.Unmarshal(postRead(b, url, "DescribeTasks", describe), &d)
		if d.Tasks[0].LastStatus == "RUNNING" {
			return
		}
	}
}

func postRead(b *testing.B, url, op string, in any) []byte {
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.Fatalf("%s: %d %s", op, resp.StatusCode, out)
	}
	return out
}
