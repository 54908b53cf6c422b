package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fixed is a State that always gives the same snapshot.
type fixed Snapshot

func (f fixed) Snapshot() Snapshot { return Snapshot(f) }

func cluster(tasks int) Snapshot {
	return Snapshot{
		Tasks: []TaskCount{
			{Cluster: "class", LaunchType: "EC2", Status: "RUNNING", Count: tasks},
			{Cluster: "class", LaunchType: "FARGATE", Status: "RUNNING", Count: 1},
		},
		Instances: []Instance{{Cluster: "class", ID: "i1", RegisteredCPU: 2048, RemainingCPU: 1536, RegisteredMiB: 4000, RemainingMiB: 3000}},
		Clusters:  []Cluster{{Name: "class", RegisteredCPU: 2048, ReservedCPU: 512, RegisteredMiB: 4000, ReservedMiB: 1000, UsedCPU: 256, UsedMiB: 500}},
		Usage:     []Usage{{Cluster: "class", LaunchType: "EC2", UsedCPU: 256, UsedMiB: 500, ReservedCPU: 512, ReservedMiB: 1000}},
		Fargate:   Fargate{VCPUs: 0.25, VCPULimit: 6, MiB: 512},
		Cost:      map[string]float64{"EC2": 0.096, "FARGATE": 0.0003},
		Agents:    []AgentCount{{Cluster: "class", Connected: 1}},
	}
}

func TestTheExpositionPassesTheLinter(t *testing.T) {
	m := New(fixed(cluster(2)), known)
	m.TaskEntered("EC2", "RUNNING", "PENDING", 2*time.Second)
	m.TaskRunning("EC2", 3*time.Second)
	m.TaskStopped("EC2", "UserInitiated")
	m.Placed("EC2", "RESOURCE:MEMORY")
	m.APIRequest("RunTask", "", time.Millisecond)
	m.AgentHeartbeat("class")
	m.AgentAssignmentsSent("class", 1)
	m.AgentAssignmentAcknowledged("class")
	m.AgentAssignmentsRedelivered("class", 1)
	m.AgentDisconnected("class", DisconnectSilent)
	problems, err := testutil.GatherAndLint(m.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestTheGaugesShowTheStateAsECSComputesIt(t *testing.T) {
	m := New(fixed(cluster(2)), Labels{})
	want := `
# HELP berth_cluster_cpu_reservation_ratio CPU reserved by running tasks over CPU registered by ACTIVE and DRAINING instances; ×100 is CloudWatch's CPUReservation.
# TYPE berth_cluster_cpu_reservation_ratio gauge
berth_cluster_cpu_reservation_ratio{cluster="class"} 0.25
# HELP berth_tasks_memory_utilization_ratio Memory the running tasks use over what they reserve; ×100 is CloudWatch's service MemoryUtilization.
# TYPE berth_tasks_memory_utilization_ratio gauge
berth_tasks_memory_utilization_ratio{cluster="class",launch_type="EC2"} 0.5
# HELP berth_tasks Tasks by cluster, launch type and lastStatus.
# TYPE berth_tasks gauge
berth_tasks{cluster="class",launch_type="EC2",status="RUNNING"} 2
berth_tasks{cluster="class",launch_type="FARGATE",status="RUNNING"} 1
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "berth_cluster_cpu_reservation_ratio", "berth_tasks_memory_utilization_ratio", "berth_tasks"); err != nil {
		t.Error(err)
	}
}

// The series are as many with ten thousand tasks as with two: no label
// grows with the tasks.
func TestTheSeriesDoNotGrowWithTheTasks(t *testing.T) {
	few := testutil.CollectAndCount(New(fixed(cluster(2)), known).Registry)
	many := testutil.CollectAndCount(New(fixed(cluster(10_000)), known).Registry)
	if few != many {
		t.Errorf("%d series with 2 tasks, %d with 10,000", few, many)
	}
}

// An operation the server does not serve is counted as "other": a client
// cannot add series by inventing names.
func TestUnknownOperationsAreCountedAsOther(t *testing.T) {
	m := New(nil, Labels{Operations: []string{"RunTask"}})
	m.APIRequest("RunTask", "", time.Millisecond)
	m.APIRequest("RunTask", "ClusterNotFoundException", time.Millisecond)
	for i := range 50 {
		m.APIRequest("Invented"+strings.Repeat("x", i), "UnknownOperationException", time.Millisecond)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("other", "UnknownOperationException")); got != 50 {
		t.Errorf("other: %v, want 50", got)
	}
	if got := testutil.CollectAndCount(m.requests); got != 3 {
		t.Errorf("%d request series, want 3", got)
	}
}

func TestInstrumentAPICountsOperationsAndTheirErrors(t *testing.T) {
	m := New(nil, Labels{Operations: []string{"ListClusters", "DescribeClusters"}})
	h := m.InstrumentAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DescribeClusters") {
			w.Header().Set("X-Amzn-ErrorType", "ClusterNotFoundException")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write([]byte("{}"))
	}))
	for _, op := range []string{"ListClusters", "DescribeClusters", "ListClusters"} {
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+op)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("ListClusters", "none")); got != 2 {
		t.Errorf("ListClusters without error: %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("DescribeClusters", "ClusterNotFoundException")); got != 1 {
		t.Errorf("DescribeClusters with ClusterNotFoundException: %v, want 1", got)
	}
}

// A controller without metrics calls the agents' counters all the same.
func TestTheAgentCountersOfNoMetricsCountNothing(t *testing.T) {
	var m *Metrics
	m.AgentHeartbeat("class")
	m.AgentAssignmentsSent("class", 1)
	m.AgentAssignmentAcknowledged("class")
	m.AgentAssignmentsRedelivered("class", 1)
	m.AgentDisconnected("class", DisconnectDropped)
}

// known are label values as the controller gives them (MetricLabels),
// fewer.
var known = Labels{
	Operations:        []string{"RunTask", "StopTask"},
	LaunchTypes:       []string{"EC2", "FARGATE"},
	Statuses:          []string{"PENDING", "RUNNING", "STOPPED"},
	StopCodes:         []string{"UserInitiated", "EssentialContainerExited"},
	PlacementFailures: map[string][]string{"EC2": {"RESOURCE:CPU", "AGENT"}, "FARGATE": {"RESOURCE:ENI"}},
}

// Before anything is counted, the counters of the known label values are
// there at zero, so that an increase() sees their first event: launch
// types × statuses and × stop codes, placements by launch type and their
// failures by that launch type's own reasons, and each operation served
// without error; the time to RUNNING has an empty histogram per launch
// type. What is left to its first event has no series yet.
func TestTheKnownSeriesStartAtZero(t *testing.T) {
	m := New(nil, known)
	want := `
# HELP berth_task_stops_total Tasks stopped, by launch type and ECS stop code (EssentialContainerExited, UserInitiated, TaskFailedToStart, SpotInterruption ...).
# TYPE berth_task_stops_total counter
berth_task_stops_total{launch_type="EC2",stop_code="EssentialContainerExited"} 0
berth_task_stops_total{launch_type="EC2",stop_code="UserInitiated"} 0
berth_task_stops_total{launch_type="FARGATE",stop_code="EssentialContainerExited"} 0
berth_task_stops_total{launch_type="FARGATE",stop_code="UserInitiated"} 0
# HELP berth_task_transitions_total Task status changes, by launch type and the lastStatus entered (PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED).
# TYPE berth_task_transitions_total counter
berth_task_transitions_total{launch_type="EC2",status="PENDING"} 0
berth_task_transitions_total{launch_type="EC2",status="RUNNING"} 0
berth_task_transitions_total{launch_type="EC2",status="STOPPED"} 0
berth_task_transitions_total{launch_type="FARGATE",status="PENDING"} 0
berth_task_transitions_total{launch_type="FARGATE",status="RUNNING"} 0
berth_task_transitions_total{launch_type="FARGATE",status="STOPPED"} 0
# HELP berth_placement_attempts_total Tasks the scheduler was asked to place, by launch type.
# TYPE berth_placement_attempts_total counter
berth_placement_attempts_total{launch_type="EC2"} 0
berth_placement_attempts_total{launch_type="FARGATE"} 0
# HELP berth_placement_failures_total Tasks that could not be placed, by launch type and ECS reason: EC2's from placement (RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:ENI, ATTRIBUTE, AGENT, MISSING) and StartTask (INACTIVE, DRAINING), Fargate's from its capacity (the account's vCPU limit, RESOURCE:ENI).
# TYPE berth_placement_failures_total counter
berth_placement_failures_total{launch_type="EC2",reason="AGENT"} 0
berth_placement_failures_total{launch_type="EC2",reason="RESOURCE:CPU"} 0
berth_placement_failures_total{launch_type="FARGATE",reason="RESOURCE:ENI"} 0
# HELP berth_api_requests_total ECS API requests, by operation and error type ("none" when it succeeded).
# TYPE berth_api_requests_total counter
berth_api_requests_total{error="none",operation="RunTask"} 0
berth_api_requests_total{error="none",operation="StopTask"} 0
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "berth_task_stops_total", "berth_task_transitions_total",
		"berth_placement_attempts_total", "berth_placement_failures_total", "berth_api_requests_total"); err != nil {
		t.Error(err)
	}
	for _, lt := range known.LaunchTypes {
		if got := histogramCount(t, m, "berth_task_time_to_running_seconds", lt); got != 0 {
			t.Errorf("time to RUNNING of %s: %d observed, want an empty histogram", lt, got)
		}
	}
	for _, tt := range []struct {
		name string
		c    prometheus.Collector
		want int
	}{
		{"berth_task_time_to_running_seconds", m.timeToRunning, 2},
		{"berth_task_status_duration_seconds", m.inStatus, 0},
		{"berth_api_request_duration_seconds", m.latency, 0},
		{"berth_agent_heartbeats_total", m.agents.heartbeats, 0},
		{"berth_agent_disconnections_total", m.agents.disconnections, 0},
	} {
		if got := testutil.CollectAndCount(tt.c); got != tt.want {
			t.Errorf("%s: %d series, want %d", tt.name, got, tt.want)
		}
	}
	if problems, err := testutil.GatherAndLint(m.Registry); err != nil || len(problems) > 0 {
		t.Errorf("the exposition does not lint: %v %+v", err, problems)
	}
}

// Counting what the known label values name adds no series: it moves
// those at zero.
func TestCountingKnownValuesAddsNoSeries(t *testing.T) {
	m := New(nil, known)
	before := testutil.CollectAndCount(m.Registry, "berth_task_stops_total", "berth_task_transitions_total", "berth_task_time_to_running_seconds",
		"berth_placement_attempts_total", "berth_placement_failures_total", "berth_api_requests_total")
	for range 3 {
		for _, lt := range known.LaunchTypes {
			for _, status := range known.Statuses {
				m.TaskEntered(lt, status, "", 0)
			}
			for _, code := range known.StopCodes {
				m.TaskStopped(lt, code)
			}
			m.TaskRunning(lt, time.Second)
			m.Placed(lt, "")
			for _, reason := range known.PlacementFailures[lt] {
				m.Placed(lt, reason)
			}
		}
		for _, op := range known.Operations {
			m.APIRequest(op, "", time.Millisecond)
		}
	}
	after := testutil.CollectAndCount(m.Registry, "berth_task_stops_total", "berth_task_transitions_total", "berth_task_time_to_running_seconds",
		"berth_placement_attempts_total", "berth_placement_failures_total", "berth_api_requests_total")
	if before != after || before != 4+6+2+2+3+2 {
		t.Errorf("%d series before counting, %d after, want 19 both times", before, after)
	}
	if got := testutil.ToFloat64(m.placeFailures.WithLabelValues("FARGATE", "RESOURCE:ENI")); got != 3 {
		t.Errorf("FARGATE RESOURCE:ENI failures: %v, want 3", got)
	}
}

// histogramCount is the number of observations in the histogram name of
// launch type lt; it fails the test when there is no such series.
func histogramCount(t *testing.T, m *Metrics, name, lt string) uint64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "launch_type" && l.GetValue() == lt {
					return s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	t.Fatalf("no %s{launch_type=%q}", name, lt)
	return 0
}
