package controller_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/metrics"
)

// metricsOfStoredTasks is the /metrics of a controller over a store of n
// Fargate tasks of one cluster, every other one STOPPED, each recorded as
// the controller records a task it ran (size, pull start, stop), served
// over HTTP as berth server serves it.
func metricsOfStoredTasks(b *testing.B, n int) *httptest.Server {
	b.Helper()
	st := storeOfTasks(b, n)
	ctl := controller.New(st, controller.Options{UsageInterval: -1})
	m := metrics.New(ctl.MetricsState(), controller.MetricLabels())
	srv := httptest.NewServer(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	b.Cleanup(srv.Close)
	return srv
}

// storeOfTasks is a store of n Fargate tasks of the cluster "bench",
// every other one STOPPED, recorded as the controller records a task it
// ran (size, pull start, stop); the task IDs are n's index in hex.
func storeOfTasks(b *testing.B, n int) *store.Store {
	b.Helper()
	st, now := benchStore(b)
	namer := api.Namer{Region: controller.DefaultRegion, AccountID: controller.DefaultAccountID}
	runtime := []byte(`{"capacity": "FARGATE", "cpu": 256, "memoryMiB": 512, "address": "172.31.0.4", "zone": "us-east-1a"}`)
	storeTasks(b, st, n, func(i int, id, arn string) store.Task {
		status := "RUNNING"
		var stoppedAt *time.Time
		if i%2 == 1 {
			status, stoppedAt = "STOPPED", &now
		}
		body, _ := json.Marshal(api.Task{TaskArn: arn, ClusterArn: namer.Cluster("bench"), LastStatus: status, DesiredStatus: status,
			LaunchType: "FARGATE", CPU: "256", Memory: "512", TaskDefinitionArn: namer.TaskDefinition("web", 1),
			CreatedAt: api.Time(now), PullStartedAt: api.Time(now.Add(-time.Hour)),
			Containers: []api.Container{{Name: "web", Image: "berth/demo:latest", LastStatus: status, RuntimeID: id + id, TaskArn: arn}}})
		return store.Task{Cluster: "bench", ID: id, Family: "web", LaunchType: "FARGATE", LastStatus: status,
			DesiredStatus: status, CreatedAt: now, StoppedAt: stoppedAt, Version: 5, Body: body, Runtime: runtime}
	})
	return st
}

// scrape GETs a /metrics and reads it all.
func scrape(b *testing.B, url string) {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("scrape: %d, %v", resp.StatusCode, err)
	}
}

// One scrape of /metrics with 100, 1,000 and 10,000 tasks stored, beside
// the scrape of an empty registry over the same HTTP in the same run: the
// gauges read the sums the controller keeps of its tasks, so a scrape
// should cost the same whatever the number of tasks stored.
func BenchmarkScrape(b *testing.B) {
	b.Run("empty-registry", func(b *testing.B) {
		srv := httptest.NewServer(promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}))
		defer srv.Close()
		for b.Loop() {
			scrape(b, srv.URL)
		}
	})
	for _, n := range []int{100, 1_000, 10_000} {
		b.Run(fmt.Sprintf("tasks-%d", n), func(b *testing.B) {
			srv := metricsOfStoredTasks(b, n)
			scrape(b, srv.URL) // the first reads the store whole, as a server's Start does
			for b.Loop() {
				scrape(b, srv.URL)
			}
		})
	}
}

// What keeping the sums costs a task's change: UpdateTask of a running
// Fargate task (its status moved on and back) in a store of 1,000 tasks,
// alone and with a controller's sums told of it, in the same run.
func BenchmarkTaskChangeWithTheMetricsSums(b *testing.B) {
	change := func(b *testing.B, st *store.Store) {
		i := 0
		for b.Loop() {
			id := fmt.Sprintf("%032x", (2*i)%1000) // a RUNNING one
			status := []string{"DEACTIVATING", "RUNNING"}[i/500%2]
			if _, err := st.UpdateTask("bench", id, func(rec *store.Task) error {
				rec.LastStatus = status
				return nil
			}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	b.Run("store-alone", func(b *testing.B) {
		change(b, storeOfTasks(b, 1000))
	})
	b.Run("with-the-sums", func(b *testing.B) {
		st := storeOfTasks(b, 1000)
		ctl := controller.New(st, controller.Options{UsageInterval: -1})
		ctl.MetricsState().Snapshot() // the sums are read whole
		change(b, st)
	})
}
