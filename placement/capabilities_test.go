package placement

import "testing"

func TestCapabilitiesNameWhatBerthsAgentDoes(t *testing.T) {
	caps, err := Capabilities("1.41")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"com.amazonaws.ecs.capability.docker-remote-api.1.17",
		"com.amazonaws.ecs.capability.docker-remote-api.1.41",
		"com.amazonaws.ecs.capability.privileged-container",
		"com.amazonaws.ecs.capability.logging-driver.json-file",
		"ecs.capability.task-eni",
		"ecs.capability.task-cpu-mem-limit",
		"ecs.capability.container-health-check",
		"ecs.capability.container-ordering",
	} {
		if v, ok := caps[want]; !ok || v != "" {
			t.Errorf("no name-only capability %s", want)
		}
	}
	for _, absent := range []string{
		"com.amazonaws.ecs.capability.docker-remote-api.1.42",
		"com.amazonaws.ecs.capability.docker-remote-api.1.16",
		"com.amazonaws.ecs.capability.task-iam-role",
		"ecs.capability.secrets.ssm.environment-variables",
	} {
		if _, ok := caps[absent]; ok {
			t.Errorf("capability %s, which berth's agent does not have", absent)
		}
	}
	for _, bad := range []string{"", "2.0", "1.x", "141"} {
		if _, err := Capabilities(bad); err == nil {
			t.Errorf("Capabilities(%q) took a malformed version", bad)
		}
	}
}
