package controller_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/internal/declared"
	"github.com/berthdev/berth/metrics"
	"github.com/berthdev/berth/scheduler"
	"github.com/berthdev/berth/scheduler/fargate"
	"github.com/berthdev/berth/taskdef"
)

// A fresh server's /metrics, read over HTTP as Prometheus reads it before
// any task has run, has at zero the counters of the label values the
// controller counts with, so that a dashboard's increase() and rate() see
// the first stop, failure or request of a kind: each launch type's
// changes into each status from PENDING to STOPPED, its stops by each stop
// code, its placements and their failures by the reasons of that launch
// type (the scheduler's and StartTask's for EC2, the provisioner's for
// Fargate), each operation served without error, and an empty histogram
// of the time to RUNNING per launch type. Their number is set by those
// values alone, and the exposition lints.
func TestAFreshServersCountersStartAtZero(t *testing.T) {
	m := metrics.New(nil, controller.MetricLabels())
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.Start(context.Background(), server.Config{
		Listen:   "127.0.0.1:0",
		StateDir: t.TempDir(),
		Registry: m.Registry,
		NewAPI: func(st *store.Store) http.Handler {
			ctl := controller.New(st, controller.Options{UsageInterval: -1, Metrics: m})
			t.Cleanup(ctl.Close)
			m.Watch(ctl.MetricsState())
			mux := api.NewMux(logger)
			ctl.Register(mux)
			return ctl.Handler(m.InstrumentAPI(mux), logger)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stopServer(t, srv)
	fresh := scrapeMetrics(t, srv)

	launchTypes := []string{taskdef.LaunchEC2, taskdef.LaunchFargate}
	var statuses []string
	for s := agent.TaskPending; s <= agent.TaskStopped; s++ {
		statuses = append(statuses, s.String())
	}
	failures := map[string][]string{taskdef.LaunchEC2: {"INACTIVE", "DRAINING"}, taskdef.LaunchFargate: fargate.Reasons}
	for _, r := range scheduler.Reasons {
		failures[taskdef.LaunchEC2] = append(failures[taskdef.LaunchEC2], string(r))
	}
	var want []expected
	counts := map[string]int{}
	zero := func(name string, labels ...string) {
		want = append(want, expected{name, labels, 0})
		counts[name]++
	}
	for _, lt := range launchTypes {
		for _, status := range statuses {
			zero("berth_task_transitions_total", "launch_type", lt, "status", status)
		}
		for _, code := range agent.StopCodes {
			zero("berth_task_stops_total", "launch_type", lt, "stop_code", string(code))
		}
		zero("berth_task_time_to_running_seconds", "launch_type", lt)
		zero("berth_placement_attempts_total", "launch_type", lt)
		for _, reason := range failures[lt] {
			zero("berth_placement_failures_total", "launch_type", lt, "reason", reason)
		}
	}
	for _, op := range controller.Operations {
		zero("berth_api_requests_total", "operation", op, "error", "none")
	}
	expectSeries(t, "fresh", func() map[string]*dto.MetricFamily { return fresh }, want)
	for name, n := range counts {
		if got := len(fresh[name].GetMetric()); got != n {
			t.Errorf("fresh: %d series of %s, want %d", got, name, n)
		}
	}
	// What is left to its first event has no series yet.
	for _, name := range []string{"berth_task_status_duration_seconds", "berth_api_request_duration_seconds", "berth_agent_heartbeats_total"} {
		if got := len(fresh[name].GetMetric()); got != 0 {
			t.Errorf("fresh: %d series of %s, want none", got, name)
		}
	}
	if problems, err := testutil.GatherAndLint(m.Registry); err != nil || len(problems) > 0 {
		t.Errorf("the exposition does not lint: %v %+v", err, problems)
	}
	if t.Failed() {
		t.Logf("the fresh exposition:\n%s", exposition(fresh))
	}
}

// The controller also stops tasks itself with the API's stop codes (a
// task that failed to start, one stopped before its agent had it): each
// is one of the agent's, whose series start at zero.
func TestTheAPIsStopCodesAreTheAgents(t *testing.T) {
	constants, err := declared.Strings("api")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range constants {
		if !strings.HasPrefix(c.Name, "StopCode") {
			continue
		}
		n++
		if !slices.Contains(agent.StopCodes, agent.StopCode(c.Value)) {
			t.Errorf("api.%s (%s) is no agent.StopCode: its stops would have no series at zero", c.Name, c.Value)
		}
	}
	if n == 0 {
		t.Error("the api package declares no stop code")
	}
}
