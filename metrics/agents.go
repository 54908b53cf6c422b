package metrics

import "github.com/prometheus/client_golang/prometheus"

// agentMetrics count what the berth agents of other hosts and the server
// say to each other (agentproto), by cluster: their heartbeats, the
// assignments (tasks to start or stop) sent to them, acknowledged and sent
// again, and their connections' ends. How many are connected is a gauge of
// the State (AgentCount).
type agentMetrics struct {
	heartbeats     *prometheus.CounterVec
	sent           *prometheus.CounterVec
	acknowledged   *prometheus.CounterVec
	redelivered    *prometheus.CounterVec
	disconnections *prometheus.CounterVec
}

// Why an agent's connection ended (AgentDisconnected).
const (
	// DisconnectDropped: the connection broke or the agent closed it.
	DisconnectDropped = "dropped"
	// DisconnectSilent: the agent was silent longer than the agent
	// timeout; the server closed it and the instance is agentConnected
	// false.
	DisconnectSilent = "silent"
	// DisconnectReplaced: the same agent connected again, and its newer
	// connection took the place of this one.
	DisconnectReplaced = "replaced"
	// DisconnectServerStopping: the server is stopping.
	DisconnectServerStopping = "server_stopping"
	// DisconnectProtocolError: the agent sent what the protocol does not
	// allow, or a write to it failed.
	DisconnectProtocolError = "protocol_error"
)

func newAgentMetrics() agentMetrics {
	byCluster := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"cluster"})
	}
	return agentMetrics{
		heartbeats: byCluster("berth_agent_heartbeats_total",
			"Heartbeats received from the berth agents of other hosts, by their instances' cluster."),
		sent: byCluster("berth_agent_assignments_sent_total",
			"Assignment messages (tasks to start or stop) sent to berth agents on their live connection when made, by cluster."),
		acknowledged: byCluster("berth_agent_assignments_acknowledged_total",
			"Assignment messages berth agents acknowledged, by cluster: each is then sent no more."),
		redelivered: byCluster("berth_agent_assignments_redelivered_total",
			"Assignment messages sent on an agent's new connection because it had not acknowledged them (or was away when they were made), by cluster."),
		disconnections: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "berth_agent_disconnections_total",
			Help: "Connections of berth agents that ended, by cluster and why: dropped, silent (longer than the agent timeout), replaced (by the agent's newer connection), server_stopping, protocol_error."},
			[]string{"cluster", "reason"}),
	}
}

func (a agentMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{a.heartbeats, a.sent, a.acknowledged, a.redelivered, a.disconnections}
}

// The Agent methods do nothing on a nil *Metrics: a controller without
// metrics calls them all the same.

// AgentHeartbeat counts a heartbeat of an agent of cluster.
func (m *Metrics) AgentHeartbeat(cluster string) {
	if m != nil {
		m.agents.heartbeats.WithLabelValues(cluster).Inc()
	}
}

// AgentAssignmentsSent counts n assignment messages sent to an agent of
// cluster when they were made.
func (m *Metrics) AgentAssignmentsSent(cluster string, n int) {
	if m != nil {
		m.agents.sent.WithLabelValues(cluster).Add(float64(n))
	}
}

// AgentAssignmentAcknowledged counts an assignment message an agent of
// cluster acknowledged.
func (m *Metrics) AgentAssignmentAcknowledged(cluster string) {
	if m != nil {
		m.agents.acknowledged.WithLabelValues(cluster).Inc()
	}
}

// AgentAssignmentsRedelivered counts n assignment messages sent again on
// an agent's new connection.
func (m *Metrics) AgentAssignmentsRedelivered(cluster string, n int) {
	if m != nil && n > 0 {
		m.agents.redelivered.WithLabelValues(cluster).Add(float64(n))
	}
}

// AgentDisconnected counts the end of an agent's connection, for reason
// (one of the Disconnect constants).
func (m *Metrics) AgentDisconnected(cluster, reason string) {
	if m != nil {
		m.agents.disconnections.WithLabelValues(cluster, reason).Inc()
	}
}
