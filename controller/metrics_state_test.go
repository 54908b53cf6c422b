package controller_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/metrics"
)

// fargateRecord is a Fargate task as the controller records it: its size
// in its runtime, its pull's start in its body (none when zero).
func fargateRecord(id, status string, cpu, memory int, pulled time.Time, stopped *time.Time) store.Task {
	body, _ := json.Marshal(api.Task{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/class/" + id, LastStatus: status, LaunchType: "FARGATE",
		PullStartedAt: api.Time(pulled)})
	runtime, _ := json.Marshal(map[string]any{"capacity": "FARGATE", "cpu": cpu, "memoryMiB": memory})
	return store.Task{Cluster: "class", ID: id, Family: "web", LaunchType: "FARGATE", LastStatus: status, DesiredStatus: status,
		StoppedAt: stopped, Body: body, Runtime: runtime}
}

// The gauges follow the store from scrape to scrape, whichever tasks
// change, come or go, though a scrape decodes only the heads that changed;
// the cost is what berth cost computes from /berth/v1/billing. Figures worked
// out by hand from the default price table.
func TestTheGaugesFollowTheStoreFromScrapeToScrape(t *testing.T) {
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	if _, _, err := st.CreateCluster(store.Cluster{Name: "class"}, t0); err != nil {
		t.Fatal(err)
	}
	stoppedB := t0.Add(90 * time.Second)
	if err := st.CreateTasks([]store.Task{
		fargateRecord("a", "RUNNING", 256, 512, t0, nil),
		fargateRecord("b", "STOPPED", 1024, 2048, t0, &stoppedB),
		fargateRecord("c", "PENDING", 512, 1024, time.Time{}, nil), // not pulling yet
	}); err != nil {
		t.Fatal(err)
	}
	ctl := controller.New(st, controller.Options{Now: func() time.Time { return now }, UsageInterval: -1})
	m := metrics.New(ctl.MetricsState(), metrics.Labels{})
	perHour := func(cpu, memory int) float64 { return float64(cpu)/1024*0.04048 + float64(memory)/1024*0.004445 }

	check := func(when string, wantCost, wantVCPUs float64, wantTasks string) {
		t.Helper()
		if got := gathered(t, m.Registry, "berth_estimated_cost_dollars", "launch_type", "FARGATE"); math.Abs(got-wantCost) > 1e-12 {
			t.Errorf("%s: Fargate cost $%v, want $%v", when, got, wantCost)
		}
		if got := gathered(t, m.Registry, "berth_fargate_vcpus"); got != wantVCPUs {
			t.Errorf("%s: Fargate vCPUs %v, want %v", when, got, wantVCPUs)
		}
		want := "# HELP berth_tasks Tasks by cluster, launch type and lastStatus.\n# TYPE berth_tasks gauge\n" + wantTasks
		if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "berth_tasks"); err != nil {
			t.Errorf("%s: %v", when, err)
		}
		billing, err := ctl.Billing("class")
		if err != nil {
			t.Fatal(err)
		}
		if bill := billing.Priced(cost.Default()); math.Abs(bill.Fargate.Dollars-wantCost) > 1e-12 {
			t.Errorf("%s: /berth/v1/billing prices Fargate at $%v, the metric at $%v", when, bill.Fargate.Dollars, wantCost)
		}
	}
	// a: an hour of 0.25 vCPU/512 MiB; b: 90 s of 1 vCPU/2 GiB; c: nothing
	// yet, but its capacity is held.
	check("first scrape", perHour(256, 512)+0.025*perHour(1024, 2048), 0.75, `berth_tasks{cluster="class",launch_type="FARGATE",status="PENDING"} 1
berth_tasks{cluster="class",launch_type="FARGATE",status="RUNNING"} 1
berth_tasks{cluster="class",launch_type="FARGATE",status="STOPPED"} 1
`)

	// a stops after half an hour; c pulls ten minutes in and runs; b is
	// forgotten.
	stoppedA := t0.Add(30 * time.Minute)
	if _, err := st.UpdateTask("class", "a", func(rec *store.Task) error {
		*rec = fargateRecord("a", "STOPPED", 256, 512, t0, &stoppedA)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateTask("class", "c", func(rec *store.Task) error {
		*rec = fargateRecord("c", "RUNNING", 512, 1024, t0.Add(10*time.Minute), nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteTasks("class", "b"); err != nil {
		t.Fatal(err)
	}
	check("after the changes", 0.5*perHour(256, 512)+(50.0/60)*perHour(512, 1024), 0.5, `berth_tasks{cluster="class",launch_type="FARGATE",status="RUNNING"} 1
berth_tasks{cluster="class",launch_type="FARGATE",status="STOPPED"} 1
`)
}
