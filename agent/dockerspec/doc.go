// Package dockerspec turns one container of an ECS task into the Docker
// engine's create options, as the ECS agent's Docker task engine does, and
// does nothing else: it never talks to the engine, so every rule of the
// translation is tested without one.
//
// The agent decides what depends on the host and the task around the
// container (its pause container, cgroup parent, labels, host ports, the
// volumes made for it, the Docker names of its siblings) and hands those to
// Translate in a Plan, as plain values:
//
//	taskdef.ContainerDefinition ─┐
//	Plan: namespaces, ports,     ├─ Translate ─→ container.Config
//	  mounts, labels, overrides ─┘              container.HostConfig
//	                                             network.NetworkingConfig
//	                                             warnings (approximations)
//
// What Translate covers: command, entry point and environment (task-wide,
// the definition's, then RunTask's overrides, later names winning), cpu
// units as CPU shares, memory and its reservation, ulimits, sysctls, extra
// hosts, DNS, Linux parameters (capabilities, devices, init, shared memory,
// tmpfs, swap), the health check, the log driver (one Docker cannot read
// back becomes json-file, with a warning), the network, PID and IPC modes
// (joining the pause container's namespaces where the task shares them),
// published ports under bridge, and mount points and volumesFrom. A field
// Docker cannot honour is an error naming it.
//
// PortMappings expands a container's port mappings (ranges included) into
// the bindings the agent then gives host ports.
package dockerspec
