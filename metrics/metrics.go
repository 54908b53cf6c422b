// Package metrics is berth's Prometheus exposition: what the controller
// does (counters and histograms it feeds as things happen) and what the
// cluster is (gauges read from the controller's state at each scrape).
// Every name is under berth_, and no label takes a task ID or anything else
// that grows with the number of tasks: a scrape costs the same with ten
// tasks stored as with ten thousand.
//
//	controller ── TaskEntered, TaskStopped, Placed, APIRequest ──► counters, histograms
//	berth agents' connections ── AgentHeartbeat, AgentAssignments…, AgentDisconnected ──► counters
//	scrape ──► Collect ──► State.Snapshot() ──► gauges (tasks, instances,
//	           reservation and utilization, Fargate capacity, cost, agents connected)
package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds berth's metrics and the registry that exposes them.
type Metrics struct {
	Registry *prometheus.Registry

	transitions   *prometheus.CounterVec
	stops         *prometheus.CounterVec
	timeToRunning *prometheus.HistogramVec
	inStatus      *prometheus.HistogramVec
	placements    *prometheus.CounterVec
	placeFailures *prometheus.CounterVec
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	// operations are the API operation names served; others count as
	// "other".
	operations map[string]bool
	agents     agentMetrics

	watchMu sync.Mutex
	watched *stateCollector
}

// taskSeconds are the buckets of task timings: from a fraction of a second
// (a container start) to minutes (a pull, a graceful stop).
var taskSeconds = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// New makes berth's metrics on a registry of their own, with state read at
// each scrape (nil for none yet). operations are the API operations served:
// requests for any other are counted as "other", so that a client cannot
// grow the series by inventing names.
func New(state State, operations []string) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_task_transitions_total",
			Help: "Task status changes, by launch type and the lastStatus entered (PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED).",
		}, []string{"launch_type", "status"}),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_task_stops_total",
			Help: "Tasks stopped, by launch type and ECS stop code (EssentialContainerExited, UserInitiated, TaskFailedToStart, SpotInterruption ...).",
		}, []string{"launch_type", "stop_code"}),
		timeToRunning: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_task_time_to_running_seconds",
			Help:    "Time from RunTask accepting a task to the task being RUNNING, by launch type.",
			Buckets: taskSeconds,
		}, []string{"launch_type"}),
		inStatus: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_task_status_duration_seconds",
			Help:    "Time tasks spent in each lifecycle status before leaving it, by launch type and status.",
			Buckets: taskSeconds,
		}, []string{"launch_type", "status"}),
		placements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_placement_attempts_total",
			Help: "Tasks the scheduler was asked to place, by launch type.",
		}, []string{"launch_type"}),
		placeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_placement_failures_total",
			Help: "Tasks that could not be placed, by launch type and ECS reason (RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, ATTRIBUTE, AGENT, MISSING, and the Fargate vCPU limit).",
		}, []string{"launch_type", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_api_requests_total",
			Help: "ECS API requests, by operation and error type (\"none\" when it succeeded).",
		}, []string{"operation", "error"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "berth_api_request_duration_seconds",
			Help:    "Time to answer ECS API requests, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"operation"}),
	}
	m.Registry.MustRegister(m.transitions, m.stops, m.timeToRunning, m.inStatus, m.placements, m.placeFailures, m.requests, m.latency)
	m.agents = newAgentMetrics()
	m.Registry.MustRegister(m.agents.collectors()...)
	if state != nil {
		m.Watch(state)
	}
	m.operations = make(map[string]bool, len(operations))
	for _, op := range operations {
		m.operations[op] = true
	}
	return m
}

// TaskEntered counts a task entering lastStatus status, and how long it
// spent in the status it left (zero when unknown).
func (m *Metrics) TaskEntered(launchType, status, left string, spent time.Duration) {
	m.transitions.WithLabelValues(launchType, status).Inc()
	if left != "" && spent > 0 {
		m.inStatus.WithLabelValues(launchType, left).Observe(spent.Seconds())
	}
}

// TaskRunning records how long a task took from RunTask to RUNNING.
func (m *Metrics) TaskRunning(launchType string, took time.Duration) {
	m.timeToRunning.WithLabelValues(launchType).Observe(took.Seconds())
}

// TaskStopped counts a task that stopped with stopCode.
func (m *Metrics) TaskStopped(launchType, stopCode string) {
	m.stops.WithLabelValues(launchType, stopCode).Inc()
}

// Placed counts a placement of one task: reason is "" when it was placed,
// else the ECS reason it was not.
func (m *Metrics) Placed(launchType, reason string) {
	m.placements.WithLabelValues(launchType).Inc()
	if reason != "" {
		m.placeFailures.WithLabelValues(launchType, reason).Inc()
	}
}

// APIRequest counts an API request and its time to answer; errorType is
// the ECS error's type, "" when it succeeded.
func (m *Metrics) APIRequest(operation, errorType string, took time.Duration) {
	if !m.operations[operation] {
		operation = "other"
	}
	if errorType == "" {
		errorType = "none"
	}
	m.requests.WithLabelValues(operation, errorType).Inc()
	m.latency.WithLabelValues(operation).Observe(took.Seconds())
}
