package main

import (
	"reflect"
	"testing"

	"github.com/berthdev/berth/hostagent"
)

// berth agent's flags and the ECS agent's variables each reach the agent's
// configuration, a flag winning over its variable; the variables are read
// from the environment agentConfig is given, never the process's.
func TestAgentSettingsReachItsConfiguration(t *testing.T) {
	// The process's own variables, which agentConfig must not read.
	t.Setenv("BERTH_ENDPOINT", "http://process-env:1")
	t.Setenv("ECS_CLUSTER", "process-env")
	t.Setenv("BERTH_TOKEN", "process-env")
	tests := []struct {
		name  string
		opts  agentOptions
		env   map[string]string
		check func(t *testing.T, cfg hostagent.Config)
	}{
		{"BERTH_ENDPOINT names the server", agentOptions{}, map[string]string{"BERTH_ENDPOINT": "10.0.0.5:3185"}, func(t *testing.T, cfg hostagent.Config) {
			if cfg.Server != "http://10.0.0.5:3185" {
				t.Errorf("server %q", cfg.Server)
			}
		}},
		{"--server wins over BERTH_ENDPOINT", agentOptions{server: "http://server:3185/"}, map[string]string{"BERTH_ENDPOINT": "http://other:1"}, func(t *testing.T, cfg hostagent.Config) {
			if cfg.Server != "http://server:3185" {
				t.Errorf("server %q", cfg.Server)
			}
		}},
		{"neither: the server's default address", agentOptions{}, nil, func(t *testing.T, cfg hostagent.Config) {
			if cfg.Server != "http://127.0.0.1:3185" || cfg.Token != "" || cfg.Cluster != "" {
				t.Errorf("server %q, token %q, cluster %q", cfg.Server, cfg.Token, cfg.Cluster)
			}
		}},
		{"BERTH_TOKEN is the token, --token wins", agentOptions{token: "flag"}, map[string]string{"BERTH_TOKEN": "env"}, func(t *testing.T, cfg hostagent.Config) {
			if cfg.Token != "flag" {
				t.Errorf("token %q", cfg.Token)
			}
		}},
		{"ECS_CLUSTER is the cluster", agentOptions{}, map[string]string{"ECS_CLUSTER": "ci"}, func(t *testing.T, cfg hostagent.Config) {
			if cfg.Cluster != "ci" {
				t.Errorf("cluster %q", cfg.Cluster)
			}
		}},
		{"--cluster wins over ECS_CLUSTER", agentOptions{cluster: "lab"}, map[string]string{"ECS_CLUSTER": "ci"}, func(t *testing.T, cfg hostagent.Config) {
			if cfg.Cluster != "lab" {
				t.Errorf("cluster %q", cfg.Cluster)
			}
		}},
		{"--attribute adds to ECS_INSTANCE_ATTRIBUTES and wins for a name in both", agentOptions{attributes: []string{"team=web", "stack=dev"}},
			map[string]string{"ECS_INSTANCE_ATTRIBUTES": `{"stack": "prod", "gpu": "none"}`}, func(t *testing.T, cfg hostagent.Config) {
				want := map[string]string{"stack": "dev", "gpu": "none", "team": "web"}
				if !reflect.DeepEqual(cfg.Attributes, want) {
					t.Errorf("attributes %v, want %v", cfg.Attributes, want)
				}
			}},
		{"ECS_RESERVED_MEMORY, ECS_RESERVED_PORTS and ECS_RESERVED_PORTS_UDP", agentOptions{},
			map[string]string{"ECS_RESERVED_MEMORY": "512", "ECS_RESERVED_PORTS": "[22, 8080]", "ECS_RESERVED_PORTS_UDP": "[53]"}, func(t *testing.T, cfg hostagent.Config) {
				if cfg.ReservedMemoryMiB != 512 || !reflect.DeepEqual(cfg.ReservedPorts, []uint16{22, 8080}) || !reflect.DeepEqual(cfg.ReservedPortsUDP, []uint16{53}) {
					t.Errorf("reserved %d MiB, ports %v, UDP %v", cfg.ReservedMemoryMiB, cfg.ReservedPorts, cfg.ReservedPortsUDP)
				}
			}},
		{"nothing reserved: the agent's defaults", agentOptions{}, nil, func(t *testing.T, cfg hostagent.Config) {
			if cfg.ReservedMemoryMiB != 0 || cfg.ReservedPorts != nil || cfg.ReservedPortsUDP != nil {
				t.Errorf("reserved %d MiB, ports %v, UDP %v", cfg.ReservedMemoryMiB, cfg.ReservedPorts, cfg.ReservedPortsUDP)
			}
		}},
		{"--instance-type, --zone, --host-ip", agentOptions{instanceType: "m5.large", zone: "us-east-1b", hostIP: "10.0.0.7"}, nil, func(t *testing.T, cfg hostagent.Config) {
			if cfg.InstanceType != "m5.large" || cfg.Zone != "us-east-1b" || cfg.HostIP != "10.0.0.7" {
				t.Errorf("instance type %q, zone %q, host IP %q", cfg.InstanceType, cfg.Zone, cfg.HostIP)
			}
		}},
		{"XDG_STATE_HOME holds the state", agentOptions{}, map[string]string{"XDG_STATE_HOME": "/var/lib/me"}, func(t *testing.T, cfg hostagent.Config) {
			if cfg.StateDir != "/var/lib/me/berth/agent" {
				t.Errorf("state %q", cfg.StateDir)
			}
		}},
		{"--state wins", agentOptions{stateDir: "/srv/agent"}, map[string]string{"XDG_STATE_HOME": "/var/lib/me"}, func(t *testing.T, cfg hostagent.Config) {
			if cfg.StateDir != "/srv/agent" {
				t.Errorf("state %q", cfg.StateDir)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := agentConfig(tt.opts, func(name string) string { return tt.env[name] })
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg)
		})
	}
}
