package controller_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/berthdev/berth/controller/server"
	"github.com/berthdev/berth/scheduler/fargate"
)

// After a scripted run on the real engine — a Fargate task left running,
// an EC2 task stopped by the user and one whose essential container exits
// — the server's /metrics, read over HTTP as Prometheus reads it, lints and
// carries the families, labels and values that run must produce: midway,
// with the Fargate task and the first EC2 task running, what they reserve
// of the instance and of Fargate's capacity; at the end, every change of
// status and the time spent in each status left, the stops by stop code,
// the times to RUNNING of each launch type, the placements, the API
// requests by operation and error with their latency, and what the run
// has cost so far.
func TestTheMetricsOfAScriptedRunOfBothLaunchTypes(t *testing.T) {
	ts, c, cluster := newTaskCluster(t, t.TempDir(), "scripted", 6)
	defer ts.stop(t)
	ctx := context.Background()
	// Before any task, the counters of the label values the controller
	// counts with are there at zero (TestAFreshServersCountersStartAtZero
	// says which); the run counts only such values, so it adds none of
	// theirs.
	zeroed := []string{"berth_task_transitions_total", "berth_task_stops_total", "berth_task_time_to_running_seconds",
		"berth_placement_attempts_total", "berth_placement_failures_total"}
	fresh := scrapeMetrics(t, ts.srv)
	for _, name := range zeroed {
		if len(fresh[name].GetMetric()) == 0 || sumOf(fresh, name) != 0 {
			t.Errorf("before any task: %d series of %s, summing to %v; want some, at zero", len(fresh[name].GetMetric()), name, sumOf(fresh, name))
		}
	}
	// 1024 CPU units and 512 MiB, priced as a t3.micro.
	registerInstance(t, c, &ecs.RegisterContainerInstanceInput{Cluster: aws.String(cluster),
		TotalResources: []types.Resource{intResource("CPU", 1024), intResource("MEMORY", 512)},
		Attributes:     []types.Attribute{{Name: aws.String("ecs.instance-type"), Value: aws.String("t3.micro")}}})
	registerJSON(t, ts.srv, []byte(`{"family": "sleeper", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "cpu": 256, "memory": 64, "command": ["sleep", "infinity"]}]}`))
	registerJSON(t, ts.srv, []byte(`{"family": "quitter", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 64, "command": ["exit", "3"]}]}`))
	registerJSON(t, ts.srv, []byte(`{"family": "tiny", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
	  "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "command": ["sleep", "infinity"]}]}`))

	run := func(def string, launch types.LaunchType, network *types.NetworkConfiguration) string {
		t.Helper()
		out, err := c.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(def), LaunchType: launch, NetworkConfiguration: network})
		if err != nil || len(out.Tasks) != 1 {
			t.Fatalf("RunTask %s: %v %+v", def, err, out)
		}
		return aws.ToString(out.Tasks[0].TaskArn)
	}
	sleeper := run("sleeper", types.LaunchTypeEc2, nil)
	tiny := run("tiny", types.LaunchTypeFargate, &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{fargate.DefaultSubnets("us-east-1")[0].ID}}})
	waitTask(t, c, cluster, sleeper, "RUNNING")
	waitTask(t, c, cluster, tiny, "RUNNING")

	// Midway: the sleeper holds 256 of the instance's 1024 CPU units and
	// 64 of its 512 MiB; the Fargate task a quarter vCPU and 512 MiB.
	scrape := func() map[string]*dto.MetricFamily { return scrapeMetrics(t, ts.srv) }
	expectSeries(t, "midway", scrape, []expected{
		{"berth_tasks", []string{"cluster", cluster, "launch_type", "EC2", "status", "RUNNING"}, 1},
		{"berth_tasks", []string{"cluster", cluster, "launch_type", "FARGATE", "status", "RUNNING"}, 1},
		{"berth_cluster_cpu_reservation_ratio", []string{"cluster", cluster}, 0.25},
		{"berth_cluster_memory_reservation_ratio", []string{"cluster", cluster}, 0.125},
		{"berth_container_instance_cpu_units", []string{"cluster", cluster, "kind", "registered"}, 1024},
		{"berth_container_instance_cpu_units", []string{"cluster", cluster, "kind", "remaining"}, 768},
		{"berth_container_instance_memory_mib", []string{"cluster", cluster, "kind", "registered"}, 512},
		{"berth_container_instance_memory_mib", []string{"cluster", cluster, "kind", "remaining"}, 448},
		{"berth_fargate_vcpus", nil, 0.25},
		{"berth_fargate_memory_mib", nil, 512},
		{"berth_fargate_vcpu_limit", nil, 6},
	})

	if _, err := c.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(sleeper)}); err != nil {
		t.Fatal(err)
	}
	waitTask(t, c, cluster, sleeper, "STOPPED")
	// The sleeper's life, each step once: PENDING when placed, RUNNING,
	// STOPPING once stopped, STOPPED; the time spent in each it left.
	expectSeries(t, "after the sleeper stopped", scrape, []expected{
		{"berth_task_transitions_total", []string{"launch_type", "EC2", "status", "RUNNING"}, 1},
		{"berth_task_transitions_total", []string{"launch_type", "EC2", "status", "STOPPING"}, 1},
		{"berth_task_transitions_total", []string{"launch_type", "EC2", "status", "STOPPED"}, 1},
		{"berth_task_transitions_total", []string{"launch_type", "EC2"}, 3},
		{"berth_task_status_duration_seconds", []string{"launch_type", "EC2", "status", "PENDING"}, 1},
		{"berth_task_status_duration_seconds", []string{"launch_type", "EC2", "status", "RUNNING"}, 1},
		{"berth_task_status_duration_seconds", []string{"launch_type", "EC2", "status", "STOPPING"}, 1},
		{"berth_task_time_to_running_seconds", []string{"launch_type", "EC2"}, 1},
		{"berth_task_stops_total", []string{"launch_type", "EC2", "stop_code", "UserInitiated"}, 1},
	})
	quitter := run("quitter", types.LaunchTypeEc2, nil)
	if q := waitTask(t, c, cluster, quitter, "STOPPED"); q.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("the quitter stopped with %s", q.StopCode)
	}
	// An API error: the cluster is not there.
	if _, err := c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster + "-gone"), Tasks: []string{tiny}}); err == nil {
		t.Error("DescribeTasks of a cluster that is not there answered")
	}

	if problems, err := testutil.GatherAndLint(ts.metrics.Registry); err != nil || len(problems) > 0 {
		t.Errorf("the exposition does not lint: %v %+v", err, problems)
	}
	end := expectSeries(t, "at the end", scrape, []expected{
		{"berth_tasks", []string{"cluster", cluster, "launch_type", "EC2", "status", "STOPPED"}, 2},
		{"berth_tasks", []string{"cluster", cluster, "launch_type", "FARGATE", "status", "RUNNING"}, 1},
		{"berth_task_stops_total", []string{"launch_type", "EC2", "stop_code", "UserInitiated"}, 1},
		{"berth_task_stops_total", []string{"launch_type", "EC2", "stop_code", "EssentialContainerExited"}, 1},

		// The Fargate task went through the control plane's steps to
		// RUNNING, each once, and spent time in each it left.
		{"berth_task_transitions_total", []string{"launch_type", "FARGATE", "status", "PENDING"}, 1},
		{"berth_task_transitions_total", []string{"launch_type", "FARGATE", "status", "ACTIVATING"}, 1},
		{"berth_task_transitions_total", []string{"launch_type", "FARGATE", "status", "RUNNING"}, 1},
		{"berth_task_status_duration_seconds", []string{"launch_type", "FARGATE", "status", "PROVISIONING"}, 1},
		{"berth_task_status_duration_seconds", []string{"launch_type", "FARGATE", "status", "PENDING"}, 1},
		{"berth_task_status_duration_seconds", []string{"launch_type", "FARGATE", "status", "ACTIVATING"}, 1},
		// Both EC2 tasks left PENDING, stopped and left STOPPING.
		{"berth_task_transitions_total", []string{"launch_type", "EC2", "status", "STOPPING"}, 2},
		{"berth_task_transitions_total", []string{"launch_type", "EC2", "status", "STOPPED"}, 2},
		{"berth_task_status_duration_seconds", []string{"launch_type", "EC2", "status", "PENDING"}, 2},
		{"berth_task_status_duration_seconds", []string{"launch_type", "EC2", "status", "STOPPING"}, 2},

		{"berth_task_time_to_running_seconds", []string{"launch_type", "FARGATE"}, 1},
		{"berth_placement_attempts_total", []string{"launch_type", "EC2"}, 2},
		{"berth_placement_attempts_total", []string{"launch_type", "FARGATE"}, 1},

		{"berth_api_requests_total", []string{"operation", "RunTask", "error", "none"}, 3},
		{"berth_api_requests_total", []string{"operation", "StopTask", "error", "none"}, 1},
		{"berth_api_requests_total", []string{"operation", "RegisterContainerInstance", "error", "none"}, 1},
		{"berth_api_requests_total", []string{"operation", "DescribeTasks", "error", "ClusterNotFoundException"}, 1},

		{"berth_fargate_vcpus", nil, 0.25},
		{"berth_fargate_memory_mib", nil, 512},
		{"berth_cluster_cpu_reservation_ratio", []string{"cluster", cluster}, 0},
		{"berth_cluster_memory_reservation_ratio", []string{"cluster", cluster}, 0},
	})
	// The quitter is RUNNING only if its agent saw it so before its
	// container exited: each EC2 task that entered RUNNING has its time to
	// RUNNING and the time it spent there.
	running := sumOf(end, "berth_task_transitions_total", "launch_type", "EC2", "status", "RUNNING")
	if toRunning, spent := sumOf(end, "berth_task_time_to_running_seconds", "launch_type", "EC2"), sumOf(end, "berth_task_status_duration_seconds", "launch_type", "EC2", "status", "RUNNING"); running < 1 || running > 2 || toRunning != running || spent != running {
		t.Errorf("%v EC2 tasks entered RUNNING (the sleeper, perhaps the quitter): %v times to RUNNING, %v times spent RUNNING", running, toRunning, spent)
	}
	// Every change of status observes the time spent in the status left;
	// every stop is a change into STOPPED.
	if changes, spent := sumOf(end, "berth_task_transitions_total"), sumOf(end, "berth_task_status_duration_seconds"); changes != spent {
		t.Errorf("%v changes of status, %v times spent in a status observed", changes, spent)
	}
	if stops, intoStopped := sumOf(end, "berth_task_stops_total"), sumOf(end, "berth_task_transitions_total", "status", "STOPPED"); stops != intoStopped {
		t.Errorf("%v stops, %v changes into STOPPED", stops, intoStopped)
	}
	// Each request is timed, under its operation.
	for _, op := range []string{"RunTask", "StopTask", "DescribeTasks", "RegisterTaskDefinition", "RegisterContainerInstance", "CreateCluster"} {
		requests, timed := sumOf(end, "berth_api_requests_total", "operation", op), sumOf(end, "berth_api_request_duration_seconds", "operation", op)
		if requests < 1 || requests != timed {
			t.Errorf("%s: %v requests counted, %v timed", op, requests, timed)
		}
	}
	// Money accrues for both: the Fargate task from its pull, the
	// instance from its registration (a minute at least).
	for _, lt := range []string{"EC2", "FARGATE"} {
		if got := sumOf(end, "berth_estimated_cost_dollars", "launch_type", lt); !(got > 0) {
			t.Errorf("berth_estimated_cost_dollars{launch_type=%s} = %v, want more than 0", lt, got)
		}
	}
	for _, name := range zeroed {
		if before, after := len(fresh[name].GetMetric()), len(end[name].GetMetric()); before != after {
			t.Errorf("%s: %d series before any task, %d at the end", name, before, after)
		}
	}
	// No label grows with the tasks: none names a task.
	for name, f := range end {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, arn := range []string{sleeper, quitter, tiny} {
					if strings.Contains(l.GetValue(), arn[strings.LastIndexByte(arn, '/')+1:]) {
						t.Errorf("%s has label %s=%s, a task's ID", name, l.GetName(), l.GetValue())
					}
				}
			}
		}
	}
	if t.Failed() {
		t.Logf("the exposition at the end:\n%s", exposition(end))
	}
}

// scrapeMetrics reads the server's /metrics over HTTP and parses it as
// Prometheus does.
func scrapeMetrics(t *testing.T, srv *server.Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + srv.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return families
}

// expected is the value of the series of a family whose labels include
// those given (summed, when several have them): a counter's or gauge's
// value, a histogram's count.
type expected struct {
	name   string
	labels []string
	value  float64
}

func expectSeries(t *testing.T, when string, scrape func() map[string]*dto.MetricFamily, want []expected) map[string]*dto.MetricFamily {
	t.Helper()
	// The metrics are fed once a change is committed, just after
	// DescribeTasks can see it: the exposition is read again until it has
	// caught up (a minute at most, a guard against a hang).
	families := scrape()
	for deadline := time.Now().Add(time.Minute); !holds(families, want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		families = scrape()
	}
	for _, w := range want {
		if len(series(families, w.name, w.labels...)) == 0 {
			t.Errorf("%s: no %s%q", when, w.name, w.labels)
			continue
		}
		if got := sumOf(families, w.name, w.labels...); math.Abs(got-w.value) > 1e-9 {
			t.Errorf("%s: %s%q = %v, want %v", when, w.name, w.labels, got, w.value)
		}
	}
	return families
}

// holds says whether families have every series of want at its value.
func holds(families map[string]*dto.MetricFamily, want []expected) bool {
	for _, w := range want {
		if len(series(families, w.name, w.labels...)) == 0 || math.Abs(sumOf(families, w.name, w.labels...)-w.value) > 1e-9 {
			return false
		}
	}
	return true
}

// exposition prints the families one series a line, for a failure's log.
func exposition(families map[string]*dto.MetricFamily) string {
	var lines []string
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			value := m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
			lines = append(lines, fmt.Sprintf("%s{%s} %v", name, strings.Join(labels, ","), value))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
