package controller_test

import (
	"context"
	"testing"
	"time"

	"github.com/berthdev/berth/agent/clock"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
)

// An instance is agentConnected false the moment its agent has been silent
// for the agent timeout (the default, 30 s, as the docs say), not at the
// next look after it; a word from the agent puts that moment a timeout
// after it. The server's clock is a manual one: the agent, played by the
// test, says nothing it is not told to.
func TestAnAgentSilentForTheTimeoutIsDisconnectedThenAndNotBefore(t *testing.T) {
	const timeout = controller.DefaultAgentTimeout
	clk := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	as := startAgentServerAt(t, t.TempDir(), "127.0.0.1:0", "", func(o *controller.Options) {
		o.Now, o.Clock, o.AgentTimeout = clk.Now, clk, timeout
	})
	t.Cleanup(func() { as.stop(t) })
	cluster := "silent-" + api.NewID()[:8]
	if _, err := as.ctl.CreateCluster(context.Background(), &api.CreateClusterInput{ClusterName: cluster}); err != nil {
		t.Fatal(err)
	}
	connected := func() bool {
		in, ok := instancesByZone(t, as.ctl, cluster)["us-east-1a"]
		return ok && in.AgentConnected
	}
	hello := func(arn string) (*agentproto.Conn, string) {
		t.Helper()
		return helloAt(t, as, cluster, arn, "us-east-1a")
	}

	// Heard at the start, then silent.
	_, arn := hello("")
	if !connected() {
		t.Fatal("the instance is not connected after its Hello")
	}
	clk.Advance(timeout - time.Nanosecond)
	if !connected() {
		t.Errorf("disconnected before the timeout")
	}
	clk.Advance(time.Nanosecond)
	poll(t, "the silent agent's instance is disconnected at the timeout", func() bool { return !connected() })

	// Back, heard again half a timeout later: the moment moves on with it.
	conn, _ := hello(arn)
	poll(t, "the agent is back", connected)
	clk.Advance(timeout / 2)
	if err := conn.Write(agentproto.TypeHeartbeat, agentproto.HeartbeatMessage{MessageID: "beat", EngineReachable: true}); err != nil {
		t.Fatal(err)
	}
	if f, err := conn.Read(); err != nil || f.Type != agentproto.TypeHeartbeatAck {
		t.Fatalf("the answer to the heartbeat: %+v %v", f, err)
	}
	// The watch wakes a timeout after the Hello, finds the agent heard
	// since, and sleeps again: it has not disconnected it.
	rearmed := clk.TimerSet()
	clk.Advance(timeout / 2)
	<-rearmed
	if !connected() {
		t.Errorf("disconnected a timeout after its Hello, though heard half a timeout after it")
	}
	clk.Advance(timeout/2 - time.Nanosecond)
	if !connected() {
		t.Errorf("disconnected before a timeout after its heartbeat")
	}
	clk.Advance(time.Nanosecond)
	poll(t, "the agent silent since its heartbeat is disconnected a timeout after it", func() bool { return !connected() })
}

// helloAt connects an agent, played by the test, of an instance of cluster
// in zone (the instance arn, or a new one): it returns the connection and
// the instance's ARN.
func helloAt(t *testing.T, as *agentServer, cluster, arn, zone string) (*agentproto.Conn, string) {
	t.Helper()
	conn, err := agentproto.Dial(context.Background(), as.url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Write(agentproto.TypeHello, agentproto.Hello{ContainerInstanceArn: arn, Cluster: cluster, AgentVersion: "test",
		EngineAPIVersion: "1.41", Host: "test", Engine: "scripted://" + zone, EngineReachable: true, Tasks: []agentproto.TaskStatus{},
		Registration: api.RegisterContainerInstanceInput{Attributes: []api.Attribute{{Name: "ecs.availability-zone", Value: zone}}}}); err != nil {
		t.Fatal(err)
	}
	f, err := conn.Read()
	var w agentproto.Welcome
	if err != nil || f.Type != agentproto.TypeWelcome || agentproto.Decode(f, &w) != nil {
		t.Fatalf("the answer to Hello: %+v %v", f, err)
	}
	return conn, w.ContainerInstanceArn
}

// An agent that connects while the watch sleeps until another's silence
// (which is sooner than its own can be: the watch does not look again at
// its connection) is disconnected a timeout after its Hello all the same.
func TestAnAgentConnectedWhileAnotherIsWatchedIsDisconnectedAtItsOwnTimeout(t *testing.T) {
	const timeout = controller.DefaultAgentTimeout
	clk := clock.NewManual(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
	as := startAgentServerAt(t, t.TempDir(), "127.0.0.1:0", "", func(o *controller.Options) {
		o.Now, o.Clock, o.AgentTimeout = clk.Now, clk, timeout
	})
	t.Cleanup(func() { as.stop(t) })
	cluster := "watched-" + api.NewID()[:8]
	if _, err := as.ctl.CreateCluster(context.Background(), &api.CreateClusterInput{ClusterName: cluster}); err != nil {
		t.Fatal(err)
	}
	connected := func(zone string) bool {
		in, ok := instancesByZone(t, as.ctl, cluster)[zone]
		return ok && in.AgentConnected
	}
	armed := clk.TimerSet()
	helloAt(t, as, cluster, "", "us-east-1a")
	<-armed // the watch sleeps until the first agent's timeout
	clk.Advance(timeout / 2)
	helloAt(t, as, cluster, "", "us-east-1b")
	rearmed := clk.TimerSet()
	clk.Advance(timeout / 2)
	poll(t, "the first agent is disconnected a timeout after its Hello", func() bool { return !connected("us-east-1a") })
	<-rearmed
	if !connected("us-east-1b") {
		t.Fatal("the second agent was disconnected half a timeout after its Hello")
	}
	clk.Advance(timeout/2 - time.Nanosecond)
	if !connected("us-east-1b") {
		t.Errorf("the second agent was disconnected before a timeout after its Hello")
	}
	clk.Advance(time.Nanosecond)
	poll(t, "the second agent is disconnected a timeout after its Hello", func() bool { return !connected("us-east-1b") })
}
