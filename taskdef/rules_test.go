package taskdef

import (
	"slices"
	"testing"
)

// TestDefinitionsThatWouldNotStartAreRefused guards the rules for
// definitions that ECS's schema lets through but that cannot run as
// given: environment variables Docker cannot set, host volumes that are
// no host path, and the linuxParameters and placement constraints Fargate
// does not take. Each case gives the rules it must break, none when the
// definition is fine.
func TestDefinitionsThatWouldNotStartAreRefused(t *testing.T) {
	const ec2, fargate = "", LaunchFargate
	tests := []struct {
		name       string
		launchType string
		top        string // extra top-level fields, each ending in a comma
		container  string // extra container fields, each ending in a comma
		want       []string
	}{
		{name: "an empty environment variable name is refused", container: `"environment": [{"name": "", "value": "x"}],`, want: []string{"environment-name-blank"}},
		{name: "a blank environment variable name is refused", container: `"environment": [{"name": "  ", "value": "x"}],`, want: []string{"environment-name-blank"}},
		{name: "an environment variable without a name is refused", container: `"environment": [{"value": "x"}],`, want: []string{"environment-name-blank"}},
		{name: "an environment variable name with = is refused", container: `"environment": [{"name": "A=B", "value": "x"}],`, want: []string{"environment-name-characters"}},
		{name: "an environment variable name with a NUL is refused", container: `"environment": [{"name": "A\u0000B", "value": "x"}],`, want: []string{"environment-name-characters"}},
		{name: "an environment value with a NUL is refused", container: `"environment": [{"name": "A", "value": "x\u0000y"}],`, want: []string{"environment-value-nul"}},
		{name: "an environment value with = is fine", container: `"environment": [{"name": "A", "value": "x=y"}, {"name": "B", "value": ""}],`},
		{name: "a relative sourcePath is refused", top: `"volumes": [{"name": "v", "host": {"sourcePath": "data"}}],`, want: []string{"host-source-path-absolute"}},
		{name: "a dot-relative sourcePath is refused", top: `"volumes": [{"name": "v", "host": {"sourcePath": "./data"}}],`, want: []string{"host-source-path-absolute"}},
		{name: "a home-relative sourcePath is refused", top: `"volumes": [{"name": "v", "host": {"sourcePath": "~/data"}}],`, want: []string{"host-source-path-absolute"}},
		{name: "an absolute Linux sourcePath is fine", top: `"volumes": [{"name": "v", "host": {"sourcePath": "/var/run/docker.sock"}}],`},
		{name: "an absolute Windows sourcePath is fine", top: `"volumes": [{"name": "v", "host": {"sourcePath": "C:\\ProgramData\\logs"}}, {"name": "w", "host": {"sourcePath": "d:/data"}}],`},
		{name: "a Windows named pipe is fine", top: `"volumes": [{"name": "v", "host": {"sourcePath": "\\\\.\\pipe\\docker_engine"}}],`},
		{name: "a scratch volume has no sourcePath to check", top: `"volumes": [{"name": "v", "host": {}}],`},
		{name: "maxSwap is refused on Fargate", launchType: fargate, container: `"linuxParameters": {"maxSwap": 0},`, want: []string{"fargate-max-swap"}},
		{name: "swappiness is refused on Fargate", launchType: fargate, container: `"linuxParameters": {"swappiness": 60},`, want: []string{"fargate-swappiness"}},
		{name: "maxSwap and swappiness are fine on EC2", launchType: ec2, container: `"linuxParameters": {"maxSwap": 512, "swappiness": 60},`},
		{name: "placement constraints are refused on Fargate", launchType: fargate, top: `"placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],`, want: []string{"fargate-placement-constraints"}},
		{name: "no placement constraints are fine on Fargate", launchType: fargate, top: `"placementConstraints": [],`},
		{name: "placement constraints are fine on EC2", launchType: ec2, top: `"placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := `{"family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "512", ` + tt.top +
				`"containerDefinitions": [{"name": "a", "image": "nginx", ` + tt.container + `"essential": true}]}`
			_, report, err := Load([]byte(src), Options{LaunchType: tt.launchType})
			if err != nil {
				t.Fatal(err)
			}
			var rules []string
			for _, p := range report.Errors {
				rules = append(rules, p.Rule)
			}
			if !slices.Equal(rules, tt.want) {
				t.Errorf("rules %v, want %v: %v", rules, tt.want, report.Errors)
			}
		})
	}
}
