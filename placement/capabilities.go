package placement

import (
	"fmt"
	"strconv"
	"strings"
)

// Capability attributes carry a name and no value, as the ECS agent
// registers them.
const (
	capabilityPrefix = "com.amazonaws.ecs.capability."
	attributePrefix  = "ecs.capability."
)

// oldestDockerAPI is the oldest Docker Remote API version the ECS agent
// names a capability after.
const oldestDockerAPI = 17

// Capabilities are the capability attributes a container instance run by
// berth's agent registers, as the ECS agent registers the same abilities:
// only what berth does (task IAM roles, secrets and FireLens are among
// what it does not, so a definition requiring them is placed nowhere, as
// on an instance whose agent lacks them). engineAPI is the engine's Docker
// API version ("1.41"): the instance names every docker-remote-api version
// from 1.17 to it.
func Capabilities(engineAPI string) (map[string]string, error) {
	major, minor, ok := strings.Cut(engineAPI, ".")
	newest, err := strconv.Atoi(minor)
	if !ok || major != "1" || err != nil {
		return nil, fmt.Errorf("docker API version %q: want 1.N", engineAPI)
	}
	caps := map[string]string{}
	for v := oldestDockerAPI; v <= newest; v++ {
		caps[capabilityPrefix+"docker-remote-api.1."+strconv.Itoa(v)] = ""
	}
	for _, name := range []string{
		"privileged-container",
		// Every container logs through a driver berth can read back; the
		// others are replaced by json-file (see agent/dockerspec).
		"logging-driver.json-file",
		"logging-driver.none",
	} {
		caps[capabilityPrefix+name] = ""
	}
	for _, name := range []string{
		"task-eni",           // awsvpc, through a pause container
		"task-cpu-mem-limit", // task-level cpu and memory, as a task cgroup
		"container-health-check",
		"container-ordering", // dependsOn
		"pid-ipc-namespace-sharing",
		"efs", // emulated by a local volume
		"network.container-port-range",
	} {
		caps[attributePrefix+name] = ""
	}
	return caps, nil
}
