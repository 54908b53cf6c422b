package controller_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agent/engine"
	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/metrics"
)

// A stop is counted the same whoever records it: a task that failed to
// start, which the controller stops itself (its engine could not be
// reached), and one that ran and was stopped by the user, which its agent
// reports STOPPED. Each enters STOPPED once, as the transitions count it,
// with a stop of its own; and every change of status, these two included,
// observes the time spent in the status it left.
func TestEveryStopCountsItsTransitionIntoSTOPPED(t *testing.T) {
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng := enginetest.New(clock.Real())
	eng.AddImage("example/app:1", nil)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The engine cannot be reached the first time it is asked for.
	var asked atomic.Int32
	docker := func() (engine.Engine, error) {
		if asked.Add(1) == 1 {
			return nil, errors.New("the engine is not answering")
		}
		return eng, nil
	}
	m := metrics.New(nil, controller.MetricLabels())
	ctl := controller.New(st, controller.Options{Docker: docker, BinaryPath: bin, UsageInterval: -1, CgroupRoot: t.TempDir(), Metrics: m})
	t.Cleanup(ctl.Close)
	m.Watch(ctl.MetricsState())
	ctx := context.Background()
	classCluster(t, ctl, sizedClassInstance)
	run := func() string {
		t.Helper()
		out, err := ctl.RunTask(ctx, &api.RunTaskInput{Cluster: "class", TaskDefinition: "app", LaunchType: "EC2"})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask: %v, %+v", err, out)
		}
		return out.Tasks[0].TaskArn
	}
	waitStatus := func(arn, want string) api.Task {
		t.Helper()
		// The wait guards against a hang; it is no measure of speed.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			d, err := ctl.DescribeTasks(ctx, &api.DescribeTasksInput{Cluster: "class", Tasks: []string{arn}})
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Tasks) == 1 && d.Tasks[0].LastStatus == want {
				return d.Tasks[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s did not reach %s: %+v", arn, want, d)
			}
		}
	}

	failed := waitStatus(run(), "STOPPED")
	if failed.StopCode != api.StopCodeTaskFailedToStart {
		t.Fatalf("the task whose engine did not answer stopped with %q (%s), want TaskFailedToStart", failed.StopCode, failed.StoppedReason)
	}
	stopped := run()
	waitStatus(stopped, "RUNNING")
	if _, err := ctl.StopTask(ctx, &api.StopTaskInput{Cluster: "class", Task: stopped}); err != nil {
		t.Fatal(err)
	}
	waitStatus(stopped, "STOPPED")

	// The metrics are fed once a change is committed, just after
	// DescribeTasks can see it: they are read once they have caught up
	// with the last stop (or the wait's guard ends, and the checks below
	// say what they hold).
	var families map[string]*dto.MetricFamily
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		families = gather(t, m.Registry)
		stops := sumOf(families, "berth_task_stops_total")
		transitions, observed := sumOf(families, "berth_task_transitions_total"), sumOf(families, "berth_task_status_duration_seconds")
		if stops == 2 && transitions == observed || time.Now().After(deadline) {
			break
		}
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"berth_task_stops_total", []string{"launch_type", "EC2", "stop_code", "TaskFailedToStart"}, 1},
		{"berth_task_stops_total", []string{"launch_type", "EC2", "stop_code", "UserInitiated"}, 1},
		{"berth_task_stops_total", nil, 2},
		{"berth_task_transitions_total", []string{"launch_type", "EC2", "status", "STOPPED"}, 2},
	} {
		if got := sumOf(families, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%q: %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if transitions, observed := sumOf(families, "berth_task_transitions_total"), sumOf(families, "berth_task_status_duration_seconds"); transitions != observed {
		t.Errorf("%v changes of status, %v times spent in the status left observed: want one for each", transitions, observed)
	}
}

// gather is what a scrape of reg gives, by family name.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*dto.MetricFamily, len(families))
	for _, f := range families {
		out[f.GetName()] = f
	}
	return out
}

// sumOf sums the series of family name whose labels include those given
// (name, value pairs): the values of counters and gauges, the counts of
// histograms.
func sumOf(families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	var sum float64
	for _, m := range series(families, name, labels...) {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
	}
	return sum
}

// series are the series of family name whose labels include those given.
func series(families map[string]*dto.MetricFamily, name string, labels ...string) []*dto.Metric {
	var out []*dto.Metric
next:
	for _, m := range families[name].GetMetric() {
		has := map[string]string{}
		for _, l := range m.GetLabel() {
			has[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if v, ok := has[labels[i]]; !ok || v != labels[i+1] {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}
