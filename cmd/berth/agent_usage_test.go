package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Every mistake in berth agent's flags and in the ECS agent's variables it
// reads is refused before it connects to anything, with exit status 2 and
// a message naming the flag or the variable and its rule.
// testdata/agent-usage-NAME.golden holds the command line, what berth
// prints on standard error and the exit status.
func TestAgentRefusesBadConfigurationNamingIt(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"argument", nil, []string{"extra"}},
		{"attribute-without-equals", nil, []string{"--attribute", "gpu"}},
		{"attribute-name", nil, []string{"--attribute", "instance type=m5.large"}},
		{"host-ip", nil, []string{"--host-ip", "localhost"}},
		{"instance-attributes", map[string]string{"ECS_INSTANCE_ATTRIBUTES": "stack=prod"}, nil},
		{"instance-attributes-value", map[string]string{"ECS_INSTANCE_ATTRIBUTES": `{"stack": "prod ", "team": "web"}`}, nil},
		{"reserved-memory", map[string]string{"ECS_RESERVED_MEMORY": "lots"}, nil},
		{"docker-host-ssh", map[string]string{"DOCKER_HOST": "ssh://me:secret@build-box"}, nil},
		{"reserved-ports", map[string]string{"ECS_RESERVED_PORTS": "[22, 70000]"}, nil},
		{"reserved-ports-udp", map[string]string{"ECS_RESERVED_PORTS_UDP": "[0]"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("BERTH_ENDPOINT", "http://127.0.0.1:1") // nothing listens: a call would fail otherwise
			var env []string
			for name, value := range tt.env {
				t.Setenv(name, value)
				env = append(env, name+"="+fmt.Sprintf("%q", value))
			}
			args := append([]string{"agent", "--state", t.TempDir()}, tt.args...)
			stdout, msg, code := executeRoot(args)
			if code != exitUsage {
				t.Errorf("exit status %d, want %d (usage): %s", code, exitUsage, msg)
			}
			if stdout != "" {
				t.Errorf("berth agent printed on standard output:\n%s", stdout)
			}
			cmdline := strings.Join(append(append(env, "berth agent --state DIR"), quoteArgs(tt.args)...), " ")
			got := fmt.Sprintf("$ %s\nberth: %s\nexit status %d\n", cmdline, msg, code)
			checkGolden(t, filepath.Join("testdata", "agent-usage-"+tt.name+".golden"), got)
		})
	}
}
