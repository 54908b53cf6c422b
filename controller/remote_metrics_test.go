package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/hostagent"
	"github.com/berthdev/berth/internal/testenv"
	"github.com/berthdev/berth/metrics"
)

// An agent's conversation with the server shows in /metrics: it is
// counted connected, its heartbeats are counted, an assignment whose
// acknowledgement is lost with the connection is counted sent, sent
// again on the agent's next connection and acknowledged there, each end
// of a connection is counted with why, and an agent that stops is counted
// connected no more once it has been silent the agent timeout.
func TestAnAgentsConversationShowsInTheMetrics(t *testing.T) {
	cluster := "agent-metrics-" + api.NewID()[:8]
	docker := testenv.Docker(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		testenv.RemoveLabelled(ctx, docker, "com.amazonaws.ecs.cluster="+cluster)
	})
	m := metrics.New(nil, controller.MetricLabels())
	as := startAgentServerAt(t, t.TempDir(), "127.0.0.1:0", "", func(o *controller.Options) { o.Metrics = m })
	t.Cleanup(func() { as.stop(t) })
	m.Watch(as.ctl.MetricsState())
	if _, err := as.ctl.CreateCluster(context.Background(), &api.CreateClusterInput{ClusterName: cluster}); err != nil {
		t.Fatal(err)
	}
	value := func(name string, labels ...string) float64 {
		return metricValue(t, m.Registry, name, append([]string{"cluster", cluster}, labels...)...)
	}

	proxy := startFaultProxy(t, as.srv.Addr())
	agent := startAgent(t, hostagent.Config{Server: proxy.url(), Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the agent is counted connected", func() bool { return value("berth_agents_connected") == 1 })
	poll(t, "its heartbeats are counted", func() bool { return value("berth_agent_heartbeats_total") >= 1 })

	registerDemo(t, as.ctl, "agent-metrics-web", "serve", "--port", "8080")
	rule, dropped := once(func(toServer bool, f agentproto.Frame) bool { return toServer && f.Type == agentproto.TypeAck })
	proxy.arm(rule)
	run, err := as.ctl.RunTask(context.Background(), &api.RunTaskInput{Cluster: cluster, TaskDefinition: "agent-metrics-web"})
	if err != nil || len(run.Tasks) != 1 {
		t.Fatalf("RunTask: %+v %v", run, err)
	}
	arn := run.Tasks[0].TaskArn
	waitStatus(t, as.ctl, cluster, arn, "RUNNING")
	if !dropped() {
		t.Fatal("the acknowledgement was never dropped")
	}
	proxy.arm(nil)
	if got := value("berth_agent_assignments_sent_total"); got != 1 {
		t.Errorf("assignments sent: %v, want 1 (the RunTask's)", got)
	}
	if got := value("berth_agent_assignments_redelivered_total"); got != 1 {
		t.Errorf("assignments redelivered: %v, want 1 (the one whose acknowledgement was lost)", got)
	}
	poll(t, "the assignment is acknowledged", func() bool { return value("berth_agent_assignments_acknowledged_total") == 1 })
	if got := value("berth_agent_disconnections_total", "reason", "dropped"); got != 1 {
		t.Errorf("connections dropped: %v, want 1", got)
	}

	if _, err := as.ctl.StopTask(context.Background(), &api.StopTaskInput{Cluster: cluster, Task: arn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, as.ctl, cluster, arn, "STOPPED")
	poll(t, "the stop is acknowledged", func() bool { return value("berth_agent_assignments_acknowledged_total") == 2 })
	if got := value("berth_agent_assignments_sent_total"); got != 2 {
		t.Errorf("assignments sent: %v, want 2 (the RunTask's and the StopTask's)", got)
	}

	if err := agent.stop(); err != nil {
		t.Fatal(err)
	}
	poll(t, "the stopped agent's connection is counted", func() bool {
		return value("berth_agent_disconnections_total", "reason", "dropped") == 2
	})
	poll(t, "the silent agent is counted connected no more", func() bool { return value("berth_agents_connected") == 0 })
	for _, reason := range []string{"replaced", "server_stopping", "protocol_error"} {
		if got := value("berth_agent_disconnections_total", "reason", reason); got != 0 {
			t.Errorf("disconnections %s: %v, want 0", reason, got)
		}
	}
}

// metricValue is the value of the series of name with labels (pairs of
// name and value) that reg gathers, counter or gauge; 0 when there is
// none, as a counter not yet counted.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	v, _ := seriesValue(t, reg, name, labels...)
	return v
}

// seriesValue is the value of the first series of name whose labels
// include those given (name, value pairs), counter or gauge, and whether
// reg gathers one.
func seriesValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			has := map[string]string{}
			for _, l := range m.GetLabel() {
				has[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if has[labels[i]] != labels[i+1] {
					continue series
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}
