package controller_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/hostagent"
)

// runAgentOver runs a berth agent over an engine in memory: for what an
// agent registers, which involves no container.
// It returns the agent's state directory.
func runAgentOver(t *testing.T, eng *enginetest.Engine, cfg hostagent.Config) string {
	t.Helper()
	cfg.Docker, cfg.StateDir, cfg.Logf = eng, t.TempDir(), t.Logf
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		hostagent.Run(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return cfg.StateDir
}

func capabilities(in api.ContainerInstance) map[string]bool {
	out := map[string]bool{}
	for _, a := range in.Attributes {
		if strings.HasPrefix(a.Name, "com.amazonaws.ecs.capability.docker-remote-api.") {
			out[strings.TrimPrefix(a.Name, "com.amazonaws.ecs.capability.docker-remote-api.")] = true
		}
	}
	return out
}

// An agent's instance names the Docker API versions of the agent's
// engine, not of the server's (the server's are DefaultEngineAPIVersion).
func TestARemoteInstancesCapabilitiesAreItsEngines(t *testing.T) {
	as, cluster := newAgentCluster(t, "caps")
	if controller.DefaultEngineAPIVersion != "1.41" {
		t.Fatalf("the server's engine API version is %s: the cases below assume 1.41", controller.DefaultEngineAPIVersion)
	}
	tests := []struct {
		zone, engineAPI string
		has, lacks      []string
	}{
		{zone: "us-east-1a", engineAPI: "1.44", has: []string{"1.17", "1.41", "1.42", "1.44"}, lacks: []string{"1.45"}},
		{zone: "us-east-1b", engineAPI: "1.40", has: []string{"1.17", "1.40"}, lacks: []string{"1.41"}},
	}
	for _, tt := range tests {
		eng := enginetest.New(nil)
		eng.SetAPIVersion(tt.engineAPI)
		runAgentOver(t, eng, hostagent.Config{Server: as.url, Cluster: cluster, Zone: tt.zone})
	}
	poll(t, "both instances are there", func() bool { return len(instancesByZone(t, as.ctl, cluster)) == 2 })
	for _, tt := range tests {
		caps := capabilities(instancesByZone(t, as.ctl, cluster)[tt.zone])
		for _, v := range tt.has {
			if !caps[v] {
				t.Errorf("engine API %s: the instance lacks docker-remote-api.%s", tt.engineAPI, v)
			}
		}
		for _, v := range tt.lacks {
			if caps[v] {
				t.Errorf("engine API %s: the instance has docker-remote-api.%s", tt.engineAPI, v)
			}
		}
	}
}

// RegisterContainerInstance through the API, naming an agent's instance,
// is refused with a ClientException that names the agent: the instance
// stays the agent's, connected, its record unchanged.
func TestTheAPICannotTakeAnAgentsInstance(t *testing.T) {
	as, cluster := newAgentCluster(t, "steal")
	runAgentOver(t, enginetest.New(nil), hostagent.Config{Server: as.url, Cluster: cluster, Zone: "us-east-1a"})
	poll(t, "the instance is there", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
	before := instancesByZone(t, as.ctl, cluster)["us-east-1a"]
	_, err := as.ctl.RegisterContainerInstance(context.Background(), &api.RegisterContainerInstanceInput{
		Cluster: cluster, ContainerInstanceArn: before.ContainerInstanceArn})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Type != "ClientException" || !strings.Contains(ae.Message, before.ContainerInstanceArn) ||
		!strings.Contains(ae.Message, "berth agent on host "+before.BerthAgent.Host) || !strings.Contains(ae.Message, before.BerthAgent.Engine) {
		t.Fatalf("RegisterContainerInstance of the agent's instance: %v", err)
	}
	after := instancesByZone(t, as.ctl, cluster)["us-east-1a"]
	if after.BerthAgent.Runs != "agent" || !after.AgentConnected || after.Version != before.Version {
		t.Errorf("after the refused registration: runs %q, connected %v, version %d (was %d)",
			after.BerthAgent.Runs, after.AgentConnected, after.Version, before.Version)
	}
}

// A new agent whose first Welcome is lost says Hello again with the key
// it kept: it is one instance, connected, not a second beside a first
// that ends disconnected.
func TestALostFirstWelcomeRegistersOneInstance(t *testing.T) {
	as, cluster := newAgentCluster(t, "welcome")
	proxy := startFaultProxy(t, as.srv.Addr())
	rule, dropped := once(func(toServer bool, f agentproto.Frame) bool { return !toServer && f.Type == agentproto.TypeWelcome })
	proxy.arm(rule)
	dir := runAgentOver(t, enginetest.New(nil), hostagent.Config{Server: proxy.url(), Cluster: cluster, Zone: "us-east-1a"})
	// The agent keeps the instance it is once a Welcome reaches it.
	var kept struct{ ContainerInstanceArn string }
	poll(t, "a Welcome reaches the agent", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "instance.json"))
		return err == nil && json.Unmarshal(b, &kept) == nil && kept.ContainerInstanceArn != ""
	})
	if !dropped() {
		t.Fatal("no Welcome was lost")
	}
	list, err := as.ctl.ListContainerInstances(context.Background(), &api.ListContainerInstancesInput{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.ContainerInstanceArns) != 1 || list.ContainerInstanceArns[0] != kept.ContainerInstanceArn {
		t.Errorf("instances after a lost Welcome: %v, want one, %s", list.ContainerInstanceArns, kept.ContainerInstanceArn)
	}
	poll(t, "the instance is connected", func() bool { return instancesByZone(t, as.ctl, cluster)["us-east-1a"].AgentConnected })
}
