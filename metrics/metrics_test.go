package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	m := New(fixed(cluster(2)), []string{"RunTask"})
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
	m := New(fixed(cluster(2)), nil)
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
	few := testutil.CollectAndCount(New(fixed(cluster(2)), nil).Registry)
	many := testutil.CollectAndCount(New(fixed(cluster(10_000)), nil).Registry)
	if few != many {
		t.Errorf("%d series with 2 tasks, %d with 10,000", few, many)
	}
}

// An operation the server does not serve is counted as "other": a client
// cannot add series by inventing names.
func TestUnknownOperationsAreCountedAsOther(t *testing.T) {
	m := New(nil, []string{"RunTask"})
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
	m := New(nil, []string{"ListClusters", "DescribeClusters"})
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
