package hostagent

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthdev/berth/agent/engine/enginetest"
	"github.com/berthdev/berth/agentproto"
	"github.com/berthdev/berth/controller/api"
)

// The state directory is the instance's identity: kept whole, read back,
// and refused for another cluster before anything is asked of the server
// or the engine, so an agent never becomes another cluster's instance by a
// wrong flag.
func TestTheStateDirectoryKeepsTheInstancesIdentity(t *testing.T) {
	dir := t.TempDir()
	if id, err := readIdentity(dir); err != nil || id.ContainerInstanceArn != "" {
		t.Fatalf("a new directory: %+v %v", id, err)
	}
	want := identity{ContainerInstanceArn: "arn:aws:ecs:us-east-1:000000000000:container-instance/lab/0123", Cluster: "lab"}
	if err := writeIdentity(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := readIdentity(dir); err != nil || got != want {
		t.Fatalf("read back %+v %v", got, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Run(ctx, Config{Server: "http://127.0.0.1:1", Cluster: "other", Docker: enginetest.New(nil), StateDir: dir})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "instance "+want.ContainerInstanceArn+" of cluster lab, not of other") {
		t.Errorf("another cluster: %v", err)
	}

	if err := os.WriteFile(filepath.Join(dir, identityFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readIdentity(dir); err == nil || !strings.Contains(err.Error(), "is not berth agent's") {
		t.Errorf("a spoilt identity: %v", err)
	}
}

// What the agent is configured with reaches the instance it registers: its
// engine's CPUs and memory (the engine in memory has 4 CPUs and 8 GiB) less
// the memory reserved, the reserved ports (the ECS agent's by default), the
// instance type, zone and custom attributes.
func TestTheAgentsSettingsShapeTheInstanceItRegisters(t *testing.T) {
	defaultPorts := []string{"22", "2375", "2376", "51678", "51679"}
	tests := []struct {
		name            string
		cfg             Config
		memory          int32
		ports, portsUDP []string
		attributes      map[string]string
	}{
		{"nothing set", Config{}, 8192, defaultPorts, []string{}, map[string]string{}},
		{"ECS_RESERVED_MEMORY lowers the memory", Config{ReservedMemoryMiB: 512}, 7680, defaultPorts, []string{}, map[string]string{}},
		{"ECS_RESERVED_PORTS and _UDP are the ports", Config{ReservedPorts: []uint16{22, 8080}, ReservedPortsUDP: []uint16{53, 161}},
			8192, []string{"22", "8080"}, []string{"53", "161"}, map[string]string{}},
		{"no reserved port at all", Config{ReservedPorts: []uint16{}}, 8192, []string{}, []string{}, map[string]string{}},
		{"instance type, zone and attributes", Config{InstanceType: "m5.large", Zone: "us-east-1b", Attributes: map[string]string{"stack": "prod", "team": "web"}},
			8192, defaultPorts, []string{}, map[string]string{"ecs.instance-type": "m5.large", "ecs.availability-zone": "us-east-1b", "stack": "prod", "team": "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScriptedServer(t)
			done := srv.runAgent(newMemEngine(), tt.cfg)
			c := srv.next()
			c.send(agentproto.TypeRefused, agentproto.Refused{Reason: "the test has what it wanted"})
			if err := <-done; !errors.Is(err, ErrRefused) {
				t.Errorf("the agent refused: %v", err)
			}
			resources := map[string]api.Resource{}
			for _, r := range c.hello.Registration.TotalResources {
				resources[r.Name] = r
			}
			if cpu := resources["CPU"].IntegerValue; cpu != 4096 {
				t.Errorf("CPU %d, want 4096", cpu)
			}
			if memory := resources["MEMORY"].IntegerValue; memory != tt.memory {
				t.Errorf("MEMORY %d, want %d", memory, tt.memory)
			}
			if ports := resources["PORTS"].StringSetValue; !slices.Equal(ports, tt.ports) {
				t.Errorf("PORTS %v, want %v", ports, tt.ports)
			}
			if ports := resources["PORTS_UDP"].StringSetValue; !slices.Equal(ports, tt.portsUDP) {
				t.Errorf("PORTS_UDP %v, want %v", ports, tt.portsUDP)
			}
			attributes := map[string]string{}
			for _, a := range c.hello.Registration.Attributes {
				attributes[a.Name] = a.Value
			}
			if !maps.Equal(attributes, tt.attributes) {
				t.Errorf("attributes %v, want %v", attributes, tt.attributes)
			}
		})
	}
}

// Memory reserved beyond what the engine has is refused before the agent
// says Hello.
func TestReservingAllTheEnginesMemoryIsRefused(t *testing.T) {
	srv := startScriptedServer(t)
	done := srv.runAgent(newMemEngine(), Config{ReservedMemoryMiB: 8192})
	select {
	case err := <-done:
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "ECS_RESERVED_MEMORY: 8192 MiB reserved of the engine's 8192") {
			t.Errorf("the agent: %v", err)
		}
	case c := <-srv.conns:
		t.Errorf("the agent said Hello with %+v", c.hello.Registration.TotalResources)
	}
}
