// Package metrics is berth's Prometheus exposition: what the controller
// does (counters and histograms it feeds as things happen) and what the
// cluster is (gauges read from the controller's state at each scrape).
// Every name is under berth_, and no label takes a task ID or anything else
// that grows with the number of tasks: a scrape costs the same with ten
// tasks stored as with ten thousand. The counters whose label values are
// known in advance (launch types, statuses, stop codes, placement failure
// reasons, operations served) start at zero, so that their first event
// shows in increase() and rate().
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

// Labels are the label values known before anything is counted: those the
// controller counts with, taken from the constants it counts with
// (controller.MetricLabels), so that they cannot drift apart.
type Labels struct {
	// Operations are the API operations served: requests for any other
	// are counted as "other", so that a client cannot grow the series by
	// inventing names.
	Operations []string
	// LaunchTypes are the launch types tasks are placed and run with.
	LaunchTypes []string
	// Statuses are the lastStatus values a task can enter.
	Statuses []string
	// StopCodes are the stop codes a task can stop with.
	StopCodes []string
	// PlacementFailures are the reasons a placement can fail for, by
	// launch type.
	PlacementFailures map[string][]string
}

// New makes berth's metrics on a registry of their own, with state read at
// each scrape (nil for none yet), and the series of the known label values
// at zero (see zero).
func New(state State, known Labels) *Metrics {
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
			Help: "Tasks that could not be placed, by launch type and ECS reason: EC2's from placement (RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:ENI, ATTRIBUTE, AGENT, MISSING) and StartTask (INACTIVE, DRAINING), Fargate's from its capacity (the account's vCPU limit, RESOURCE:ENI).",
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
	m.operations = make(map[string]bool, len(known.Operations))
	for _, op := range known.Operations {
		m.operations[op] = true
	}
	m.zero(known)
	return m
}

// zero makes at zero the series the known label values name, the way
// Prometheus advises for label values known in advance: a series made by
// its first event starts at 1, and increase() and rate() see no change in
// it, so a dashboard would never show the first stop, failure or request
// of a kind. Every set is closed and none grows with the tasks: launch
// types × statuses, × stop codes; placements by launch type, and their
// failures by the reasons of that launch type only; time to RUNNING by
// launch type (a histogram of 15 series each).
//
// Left to their first event are: the time spent in each status (launch
// types × statuses × 15 series of a histogram, some 200 series for a
// panel no dashboard draws); API requests with an error (operations ×
// error types, most of which no operation returns), while each operation
// served starts at zero without one, which is what the requests-per-second
// panel sums; the API latency histogram (operations × 13 series); and the
// agents' counters, whose cluster label names clusters made while the
// server runs.
func (m *Metrics) zero(known Labels) {
	for _, lt := range known.LaunchTypes {
		for _, status := range known.Statuses {
			m.transitions.WithLabelValues(lt, status)
		}
		for _, code := range known.StopCodes {
			m.stops.WithLabelValues(lt, code)
		}
		m.timeToRunning.WithLabelValues(lt)
		m.placements.WithLabelValues(lt)
	}
	for lt, reasons := range known.PlacementFailures {
		for _, reason := range reasons {
			m.placeFailures.WithLabelValues(lt, reason)
		}
	}
	for _, op := range known.Operations {
		m.requests.WithLabelValues(op, noError)
	}
}

// noError is the error label of a request that succeeded.
const noError = "none"

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
		errorType = noError
	}
	m.requests.WithLabelValues(operation, errorType).Inc()
	m.latency.WithLabelValues(operation).Observe(took.Seconds())
}
