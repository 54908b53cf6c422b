package controller_test

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/metrics"
)

// An EC2 instance is billed for its time, busy or idle: an m5.large
// registered an hour ago, by the controller's clock, costs an hour of its
// on-demand price in the default table (1 h × $0.096), in /berth/v1/billing
// and in the metric alike, and the two tasks placed on it add nothing.
func TestAnInstanceForAnHourCostsItsHourlyPriceWhateverItRuns(t *testing.T) {
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewManual(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	eng := enginetest.New(clock.Real())
	eng.AddImage("example/app:1", nil)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(nil, controller.MetricLabels())
	ctl := controller.New(st, controller.Options{Now: clk.Now, Docker: func() (engine.Engine, error) { return eng, nil }, BinaryPath: bin,
		UsageInterval: -1, CgroupRoot: t.TempDir(), Metrics: m})
	t.Cleanup(ctl.Close)
	m.Watch(ctl.MetricsState())
	ctx := context.Background()
	classCluster(t, ctl, api.RegisterContainerInstanceInput{Attributes: []api.Attribute{{Name: "ecs.instance-type", Value: "m5.large"}}})
	hourly := cost.Default().EC2Hour["m5.large"]
	if hourly != 0.096 {
		t.Fatalf("the default table prices an m5.large at $%v an hour; the figures below are worked out for $0.096", hourly)
	}

	check := func(when string, want float64) {
		t.Helper()
		billing, err := ctl.Billing("class")
		if err != nil {
			t.Fatal(err)
		}
		bill := billing.Priced(cost.Default())
		if bill.EC2.Items != 1 || math.Abs(bill.EC2.Dollars-want) > 1e-12 || bill.Fargate.Dollars != 0 || len(bill.Unpriced) != 0 {
			t.Errorf("%s: /berth/v1/billing prices %+v, want the one instance at $%v", when, bill, want)
		}
		if got := sumOf(gather(t, m.Registry), "berth_estimated_cost_dollars", "launch_type", "EC2"); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: berth_estimated_cost_dollars{launch_type=EC2} = %v, want %v", when, got, want)
		}
	}
	// Just registered: AWS bills a minute at least.
	check("at registration", 0.096/60)

	var arns []string
	for range 2 {
		out, err := ctl.RunTask(ctx, &api.RunTaskInput{Cluster: "class", TaskDefinition: "app", LaunchType: "EC2"})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v, %+v", err, out)
		}
		arns = append(arns, out.Tasks[0].TaskArn)
	}
	// The wait guards against a hang; it is no measure of speed.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		d, err := ctl.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: "class", Tasks: arns})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Tasks) == 2 && d.Tasks[0].LastStatus == "RUNNING" && d.Tasks[1].LastStatus == "RUNNING" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two tasks did not reach RUNNING: %+v", d)
		}
	}
	check("with two tasks placed", 0.096/60)

	clk.Advance(time.Hour)
	check("an hour on, the two tasks running", 0.096)
}
