package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthdev/berth/agent"
	"github.com/berthdev/berth/internal/testenv"
)

// A real Prometheus, run with examples/monitoring/prometheus.yml pointed
// at a real berth server, scrapes berth's metrics through a scripted run,
// and every query of the Grafana dashboard, evaluated through Prometheus's
// HTTP API, answers what that run must produce: not merely some data, but
// the series the run makes and their values, checked right after what
// makes them. A rate or an increase needs its counter to move between two
// scrapes: the counters whose label values berth knows in advance (stops,
// placement failures, time to RUNNING) are there at zero from the first
// scrape, so the first event of a kind moves them; an API error's series
// is made by its first, so the run makes that one again once Prometheus
// has seen it.
//
// The run: a berth agent joins the engine to a cluster of its own, where a
// task is started and stopped through it; in the test's cluster, on an
// m5.large, an EC2 task burning a CPU and holding memory, a Fargate task
// left running, a task no instance can hold, a cluster that is not there
// (twice), and a task whose essential container exits; then the agent
// stops.
func TestPrometheusScrapesARealServer(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (./scripts/test.sh installs Debian's package where it can): the scrape by a real Prometheus is not checked")
	}
	docker := testenv.Docker(t)
	testenv.HoldVPC(t, docker) // first: it goes last
	// An agent silent for 3 s is away: it beats every second.
	s := newClusterServer(t, "--agent-timeout", "3s")
	cluster := s.e.cluster
	agentCluster := cluster + "-agent"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// The agent's stopped task waits for its cleanup, hours away.
		if err := testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+agentCluster); err != nil {
			t.Errorf("clean up: %v", err)
		}
	})
	prom := startPrometheus(t, bin, strings.TrimPrefix(s.endpoint, "http://"))
	queries := dashboardQueries(t)
	checked := map[string]bool{}
	// panel checks the answer to a query of the dashboard.
	panel := func(expr string, check func([]sample) string) {
		t.Helper()
		if !slices.Contains(queries, expr) {
			t.Errorf("the dashboard has no query %s", expr)
		}
		checked[expr] = true
		prom.expect(t, expr, check)
	}
	// underlying checks a query the dashboard shows "or vector(0)": what
	// it asks of berth's series, without the zero that fills the panel.
	underlying := func(expr string, check func([]sample) string) {
		t.Helper()
		panel(expr, some)
		prom.expect(t, strings.TrimSuffix(expr, " or vector(0)"), check)
	}
	prom.expect(t, `up{job="berth"}`, series(want{nil, equal(1)}))
	// Before anything happens, a stop of each launch type and stop code
	// is there at zero.
	prom.expect(t, `count(berth_task_stops_total == 0)`, series(want{nil, equal(float64(2 * len(agent.StopCodes)))}))
	runTask := func(def string, args ...string) string {
		t.Helper()
		out := s.berth(t, append([]string{"task", "run", def, "--wait", "-o", "json"}, args...)...)
		i := strings.Index(out, `"taskArn": "`)
		if i < 0 {
			t.Fatalf("task run:\n%s", out)
		}
		arn := out[i+len(`"taskArn": "`):]
		arn = arn[:strings.IndexByte(arn, '"')]
		return arn[strings.LastIndexByte(arn, '/')+1:]
	}
	stopTask := func(id, in string) {
		t.Helper()
		s.berth(t, "task", "stop", id, "--cluster", in)
		s.berth(t, "task", "wait", id, "--cluster", in, "--status", "STOPPED")
	}
	sleeper := s.e.file("sleeper.json", `{"family": "sleeper", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "cpu": 128, "memory": 32, "command": ["sleep", "infinity"]}]}`)

	// A berth agent, on this engine, in a cluster of its own; a task
	// started and stopped through it: two assignments, each acknowledged.
	s.berth(t, "cluster", "create", agentCluster)
	agentCmd := exec.Command(s.e.bin, "agent", "--server", s.endpoint, "--zone", "us-east-1b", "--state", t.TempDir(), "--host-ip", "127.0.0.1")
	agentCmd.Env = append(os.Environ(), "ECS_CLUSTER="+agentCluster)
	aw := s.e.start(agentCmd)
	agentRunning := true
	t.Cleanup(func() {
		if agentRunning {
			agentCmd.Process.Signal(syscall.SIGTERM)
			s.e.ended(agentCmd, aw)
		}
	})
	prom.expect(t, fmt.Sprintf(`berth_agents_connected{cluster=%q}`, agentCluster), series(want{nil, equal(1)}))
	onAgent := runTask(sleeper, "--cluster", agentCluster, "--launch-type", "EC2")
	prom.expect(t, fmt.Sprintf(`berth_agent_assignments_acknowledged_total{cluster=%q}`, agentCluster), series(want{nil, equal(1)}))
	prom.expect(t, `berth_task_time_to_running_seconds_count{launch_type="EC2"}`, series(want{nil, equal(1)}))
	stopTask(onAgent, agentCluster)
	underlying(`sum(rate(berth_agent_heartbeats_total[1m])) or vector(0)`, series(want{nil, positive}))
	underlying(`sum(rate(berth_agent_assignments_sent_total[1m])) or vector(0)`, series(want{nil, positive}))
	underlying(`sum(rate(berth_agent_assignments_acknowledged_total[1m])) or vector(0)`, series(want{nil, positive}))
	// Nothing was sent again: the agent never lost its connection.
	panel(`sum(rate(berth_agent_assignments_redelivered_total[1m])) or vector(0)`, series(want{nil, equal(0)}))
	prom.expect(t, `sum(rate(berth_agent_assignments_redelivered_total[1m]))`, none)
	prom.expect(t, fmt.Sprintf(`berth_agent_assignments_sent_total{cluster=%q}`, agentCluster), series(want{nil, equal(2)}))
	prom.expect(t, fmt.Sprintf(`berth_agent_assignments_acknowledged_total{cluster=%q}`, agentCluster), series(want{nil, equal(2)}))
	prom.expect(t, `berth_task_stops_total{launch_type="EC2", stop_code="UserInitiated"}`, series(want{nil, equal(1)}))

	// The test's cluster: an EC2 task on the m5.large and a Fargate task,
	// the first of its launch type: both launch types have a median.
	busy := s.runBusy(t)
	tiny := s.e.file("tiny.json", `{"family": "tiny", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
	  "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "command": ["sleep", "infinity"]}]}`)
	fargateTask := runTask(tiny, "--cluster", cluster, "--launch-type", "FARGATE")
	panel(`histogram_quantile(0.5, sum by (le, launch_type) (rate(berth_task_time_to_running_seconds_bucket[5m])))`, series(
		want{map[string]string{"launch_type": "EC2"}, positive},
		want{map[string]string{"launch_type": "FARGATE"}, positive}))

	// A task no instance can hold: the panel's increase counts it, the
	// first failure of its reason; the other reasons are there at zero.
	huge := s.e.file("huge.json", `{"family": "huge", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 1000000, "command": ["sleep", "60"]}]}`)
	if out, err := exec.Command(s.e.bin, "task", "run", huge, "--cluster", cluster, "--launch-type", "EC2", "--endpoint", s.endpoint).CombinedOutput(); err == nil || !strings.Contains(string(out), "RESOURCE:MEMORY") {
		t.Errorf("a task no instance can hold: %v\n%s", err, out)
	}
	panel(`sum by (reason) (increase(berth_placement_failures_total[1h]))`, series(
		want{map[string]string{"reason": "RESOURCE:MEMORY"}, positive},
		want{map[string]string{"reason": "RESOURCE:CPU"}, equal(0)}))
	prom.expect(t, `berth_placement_failures_total > 0`, onlySeries(want{map[string]string{"launch_type": "EC2", "reason": "RESOURCE:MEMORY"}, equal(1)}))

	// An API error, twice: the cluster is not there. Errors are not
	// counted at zero beforehand (operations × error types would be
	// mostly series no operation ever moves), so the first makes the
	// series and the second moves it.
	gone := func() {
		t.Helper()
		if out, err := exec.Command(s.e.bin, "task", "list", "--cluster", cluster+"-gone", "--endpoint", s.endpoint).CombinedOutput(); err == nil || !strings.Contains(string(out), "ClusterNotFoundException") {
			t.Errorf("task list of a cluster that is not there: %v\n%s", err, out)
		}
	}
	gone()
	prom.expect(t, `berth_api_requests_total{operation="ListTasks", error="ClusterNotFoundException"}`, series(want{nil, equal(1)}))
	gone()
	panel(`sum by (error) (rate(berth_api_requests_total{error!="none"}[1m]))`, series(want{map[string]string{"error": "ClusterNotFoundException"}, positive}))
	panel(`sum by (operation) (rate(berth_api_requests_total[1m]))`, series(
		want{map[string]string{"operation": "ListTasks"}, positive},
		want{map[string]string{"operation": "RunTask"}, atLeast(0)},
		want{map[string]string{"operation": "StopTask"}, atLeast(0)},
		want{map[string]string{"operation": "DescribeTasks"}, atLeast(0)},
		want{map[string]string{"operation": "RegisterTaskDefinition"}, atLeast(0)},
		want{map[string]string{"operation": "RegisterContainerInstance"}, atLeast(0)},
		want{map[string]string{"operation": "CreateCluster"}, atLeast(0)}))

	// A task whose essential container exits: the panel's increase
	// counts it, the first stop of its code, as it counts the agent's
	// task stopped by the user.
	quitter := s.e.file("quitter.json", `{"family": "quitter", "containerDefinitions": [{"name": "app", "image": "berth/demo:latest", "memory": 32, "command": ["exit", "3"]}]}`)
	quit := runTask(quitter, "--cluster", cluster, "--launch-type", "EC2")
	s.berth(t, "task", "wait", quit, "--cluster", cluster, "--status", "STOPPED")
	panel(`sum by (stop_code) (increase(berth_task_stops_total[1h]))`, series(
		want{map[string]string{"stop_code": "UserInitiated"}, positive},
		want{map[string]string{"stop_code": "EssentialContainerExited"}, positive},
		want{map[string]string{"stop_code": "TaskFailedToStart"}, equal(0)}))
	prom.expect(t, `berth_task_stops_total > 0`, onlySeries(
		want{map[string]string{"launch_type": "EC2", "stop_code": "UserInitiated"}, equal(1)},
		want{map[string]string{"launch_type": "EC2", "stop_code": "EssentialContainerExited"}, equal(1)}))

	// What runs now: the busy task on the m5.large and the Fargate task;
	// the agent's task and the quitter stopped. The m5.large's registered
	// memory is the server's to say; the agent's instance registers this
	// machine's.
	panel(`sum by (launch_type, status) (berth_tasks)`, onlySeries(
		want{map[string]string{"launch_type": "EC2", "status": "RUNNING"}, equal(1)},
		want{map[string]string{"launch_type": "FARGATE", "status": "RUNNING"}, equal(1)},
		want{map[string]string{"launch_type": "EC2", "status": "STOPPED"}, equal(2)}))
	registered := func(kind, in string) float64 {
		t.Helper()
		v, ok := prom.value(t, fmt.Sprintf(`berth_container_instance_%s{cluster=%q, kind="registered"}`, kind, in))
		if !ok || v <= 0 {
			t.Fatalf("the registered %s of the instance of %s: %v", kind, in, v)
		}
		return v
	}
	m5CPU, m5MiB := registered("cpu_units", cluster), registered("memory_mib", cluster)
	agentCPU, agentMiB := registered("cpu_units", agentCluster), registered("memory_mib", agentCluster)
	inCluster := func(name string) map[string]string { return map[string]string{"cluster": name} }
	// The busy task reserves 1024 CPU units and 256 MiB of the m5.large.
	panel(`100 * berth_cluster_cpu_reservation_ratio`, onlySeries(want{inCluster(cluster), near(100 * 1024 / m5CPU)}, want{inCluster(agentCluster), equal(0)}))
	panel(`100 * berth_cluster_memory_reservation_ratio`, onlySeries(want{inCluster(cluster), near(100 * 256 / m5MiB)}, want{inCluster(agentCluster), equal(0)}))
	panel(`berth_container_instance_cpu_units{kind="remaining"}`, onlySeries(want{inCluster(cluster), equal(m5CPU - 1024)}, want{inCluster(agentCluster), equal(agentCPU)}))
	panel(`berth_container_instance_memory_mib{kind="remaining"}`, onlySeries(want{inCluster(cluster), equal(m5MiB - 256)}, want{inCluster(agentCluster), equal(agentMiB)}))
	panel(`berth_container_instance_cpu_units{kind="registered"} - ignoring(kind) berth_container_instance_cpu_units{kind="remaining"}`, onlySeries(
		want{inCluster(cluster), equal(1024)}, want{inCluster(agentCluster), equal(0)}))
	// The busy task burns a CPU and holds memory; the Fargate task sleeps
	// (its CPU may well be nothing), in memory of its own.
	panel(`berth_container_instance_cpu_units{kind="used"}`, onlySeries(want{inCluster(cluster), positive}, want{inCluster(agentCluster), equal(0)}))
	panel(`100 * berth_cluster_cpu_utilization_ratio`, onlySeries(want{inCluster(cluster), positive}, want{inCluster(agentCluster), equal(0)}))
	panel(`100 * berth_cluster_memory_utilization_ratio`, onlySeries(want{inCluster(cluster), positive}, want{inCluster(agentCluster), equal(0)}))
	panel(`100 * berth_tasks_cpu_utilization_ratio`, onlySeries(want{map[string]string{"launch_type": "EC2"}, positive}, want{map[string]string{"launch_type": "FARGATE"}, atLeast(0)}))
	panel(`100 * berth_tasks_memory_utilization_ratio`, onlySeries(want{map[string]string{"launch_type": "EC2"}, positive}, want{map[string]string{"launch_type": "FARGATE"}, positive}))
	// The Fargate task left running: a quarter vCPU of the default quota.
	panel(`berth_fargate_vcpus`, series(want{nil, equal(0.25)}))
	panel(`berth_fargate_vcpu_limit`, series(want{nil, equal(6)}))
	// Money accrues: the Fargate tasks from their pulls, the m5.large from
	// its registration (the agent's instance has no type, so no price).
	panel(`berth_estimated_cost_dollars`, onlySeries(want{map[string]string{"launch_type": "EC2"}, positive}, want{map[string]string{"launch_type": "FARGATE"}, positive}))
	panel(`berth_agents_connected`, onlySeries(want{inCluster(cluster), equal(0)}, want{inCluster(agentCluster), equal(1)}))

	// The agent stops: its connection ends, and its instance is away.
	agentCmd.Process.Signal(syscall.SIGTERM)
	s.e.ended(agentCmd, aw)
	agentRunning = false
	prom.expect(t, fmt.Sprintf(`berth_agents_connected{cluster=%q}`, agentCluster), series(want{nil, equal(0)}))
	underlying(`sum by (reason) (rate(berth_agent_disconnections_total[1m])) or vector(0)`, onlySeries(want{map[string]string{"reason": "dropped"}, atLeast(0)}))
	prom.expect(t, fmt.Sprintf(`berth_agent_disconnections_total{cluster=%q}`, agentCluster), onlySeries(want{map[string]string{"reason": "dropped"}, equal(1)}))

	for _, q := range queries {
		if !checked[q] {
			t.Errorf("no check of what the dashboard's query %s answers after the run", q)
		}
	}
	stopTask(busy, cluster)
	stopTask(fargateTask, cluster)
	waitContainersGone(t, docker, "com.amazonaws.ecs.cluster="+cluster)
}

// dashboardQueries are the queries of the Grafana dashboard's panels.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			out = append(out, target.Expr)
		}
	}
	return out
}

// sample is a series of an instant query's answer.
type sample struct {
	labels map[string]string
	value  float64
}

func (s sample) String() string {
	names := make([]string, 0, len(s.labels))
	for n := range s.labels {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, n+"="+strconv.Quote(s.labels[n]))
	}
	return "{" + strings.Join(parts, ", ") + "} " + strconv.FormatFloat(s.value, 'g', -1, 64)
}

// want is a series an answer must hold: one whose labels include those
// given, with a value that satisfies the test.
type want struct {
	labels map[string]string
	value  valueTest
}

// valueTest says what is wrong with a value, "" when nothing is.
type valueTest func(float64) string

func equal(v float64) valueTest {
	return func(got float64) string {
		if got != v {
			return fmt.Sprintf("want %v", v)
		}
		return ""
	}
}

// near is equal but for the last bits of a division Prometheus does.
func near(v float64) valueTest {
	return func(got float64) string {
		if math.Abs(got-v) > 1e-9*math.Max(1, math.Abs(v)) {
			return fmt.Sprintf("want %v", v)
		}
		return ""
	}
}

func atLeast(v float64) valueTest {
	return func(got float64) string {
		if !(got >= v) {
			return fmt.Sprintf("want %v or more", v)
		}
		return ""
	}
}

func positive(got float64) string {
	if !(got > 0) || math.IsInf(got, 0) {
		return "want a number above 0"
	}
	return ""
}

// answerCheck says what is wrong with an answer, "" when nothing is.
type answerCheck func([]sample) string

// series checks that an answer holds each wanted series.
func series(wants ...want) answerCheck {
	return func(got []sample) string {
		var problems []string
	next:
		for _, w := range wants {
			for _, s := range got {
				if includes(s.labels, w.labels) {
					if p := w.value(s.value); p != "" {
						problems = append(problems, fmt.Sprintf("%s: %s", s, p))
					}
					continue next
				}
			}
			problems = append(problems, fmt.Sprintf("no series %v", w.labels))
		}
		return strings.Join(problems, "; ")
	}
}

// onlySeries checks that an answer holds each wanted series, and no other.
func onlySeries(wants ...want) answerCheck {
	return func(got []sample) string {
		problem := series(wants...)(got)
		for _, s := range got {
			if !slices.ContainsFunc(wants, func(w want) bool { return includes(s.labels, w.labels) }) {
				problem = strings.TrimPrefix(problem+"; a series not wanted: "+s.String(), "; ")
			}
		}
		return problem
	}
}

// some checks that an answer is not empty.
func some(got []sample) string {
	if len(got) == 0 {
		return "no data"
	}
	return ""
}

// none checks that an answer is empty.
func none(got []sample) string {
	if len(got) > 0 {
		return "want no data"
	}
	return ""
}

func includes(labels, want map[string]string) bool {
	for n, v := range want {
		if labels[n] != v {
			return false
		}
	}
	return true
}

// prometheus is a Prometheus server of the test's own.
type prometheus struct{ url string }

// startPrometheus runs Prometheus with the example configuration, its
// target replaced by target, on a loopback port and a data directory of
// its own; it is stopped when the test ends.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "monitoring", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), `"127.0.0.1:3185"`) {
		t.Fatalf("examples/monitoring/prometheus.yml no longer scrapes berth's default address:\n%s", example)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(strings.ReplaceAll(string(example), `"127.0.0.1:3185"`, `"`+target+`"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // Prometheus listens there next
	cmd := exec.Command(bin, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	log, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		log.Close()
		if t.Failed() {
			out, _ := os.ReadFile(log.Name())
			t.Logf("prometheus's log:\n%s", out)
		}
	})
	return &prometheus{url: "http://" + addr}
}

// expect queries Prometheus until its answer passes check; the wait
// (scrapes are five seconds apart) guards against a hang, it is no
// measure of speed.
func (p *prometheus) expect(t *testing.T, query string, check answerCheck) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		got, err := p.query(query)
		if err != nil {
			last = err.Error()
			continue
		}
		problem := check(got)
		if problem == "" {
			return
		}
		last = fmt.Sprintf("%s (answer: %v)", problem, got)
	}
	t.Errorf("Prometheus's answer to %s is not what the run makes: %s", query, last)
}

// value is the value of a query that answers one series.
func (p *prometheus) value(t *testing.T, query string) (float64, bool) {
	t.Helper()
	var got []sample
	p.expect(t, query, func(s []sample) string {
		got = s
		if len(s) != 1 {
			return "want one series"
		}
		return ""
	})
	if len(got) != 1 {
		return 0, false
	}
	return got[0].value, true
}

// query runs an instant query through the HTTP API.
func (p *prometheus) query(query string) ([]sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?"+url.Values{"query": {query}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string
		Error  string
		Data   struct {
			ResultType string
			Result     []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, err
	}
	if answer.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", query, answer.Error)
	}
	if answer.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: a %s, not an instant vector", query, answer.Data.ResultType)
	}
	out := make([]sample, len(answer.Data.Result))
	for i, r := range answer.Data.Result {
		text, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %q: %v", query, text, err)
		}
		delete(r.Metric, "__name__")
		out[i] = sample{labels: r.Metric, value: v}
	}
	return out, nil
}
