package dockerspec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/berthdev/berth/taskdef"
)

// Plan is one container of a task together with the decisions the agent
// made about the task around it: its namespaces, its ports, where its
// volumes live. Translate turns it into Docker's create options without
// talking to Docker.
type Plan struct {
	Def *taskdef.ContainerDefinition
	// NetworkMode, PidMode and IpcMode are the task's.
	NetworkMode, PidMode, IpcMode string
	// Pause names the container holding the task's namespaces, if any.
	Pause string
	// Network, under awsvpc with no Pause, is the task network the
	// container joins itself, at Address when that is set (else at the
	// address the engine gives it): the task's one container, with
	// nothing to share a namespace with, needs no pause container.
	Network, Address string
	CgroupParent     string
	Labels           map[string]string
	// Env is added before the definition's own environment.
	Env []taskdef.KeyValuePair
	// Command, when not nil, replaces the definition's command, and
	// EnvOverride is added after the definition's own environment: a
	// RunTask override of the container.
	Command     []string
	EnvOverride []taskdef.KeyValuePair
	// HostIP is the address published ports bind to.
	HostIP string
	// Ports are the container's port mappings with their host ports decided.
	Ports []PortBinding
	// Volumes maps each task volume name to what is mounted for it.
	Volumes map[string]MountSource
	// DockerNames maps the task's container names to Docker names, for
	// volumesFrom.
	DockerNames map[string]string
}

// PortBinding is a port mapping with its host port decided.
type PortBinding struct {
	ContainerPort int
	HostPort      int
	Protocol      string
}

// MountSource is what a task volume mounts: a host path (absolute) or a
// Docker volume name. NoCopy keeps Docker from copying the image's files
// into an empty volume, so a scratch volume starts empty like a fresh host
// directory.
type MountSource struct {
	Source string
	NoCopy bool
}

// logDriversReadable are the log drivers whose output Docker itself can read
// back; any other driver ships logs somewhere berth cannot read, so it is
// replaced by json-file.
var logDriversReadable = map[string]bool{"json-file": true, "local": true}

const (
	mib          = 1 << 20
	minCPUShares = 2
	maxCPUShares = 262144
)

// Translate turns a container plan into Docker's create options. Warnings
// name what was approximated; an error names a field Docker cannot honour.
func Translate(p *Plan) (*container.Config, *container.HostConfig, *network.NetworkingConfig, []string, error) {
	d := p.Def
	var warnings []string
	cfg := &container.Config{
		Image:      d.Image,
		Entrypoint: d.EntryPoint,
		Cmd:        d.Command,
		Env:        environment(p.Env, d.Environment, p.EnvOverride),
		WorkingDir: d.WorkingDirectory,
		User:       d.User,
		Hostname:   d.Hostname,
		Labels:     p.Labels,
		StopTimeout: func() *int {
			if d.StopTimeout == nil {
				return nil
			}
			v := *d.StopTimeout
			return &v
		}(),
		OpenStdin:       boolOf(d.Interactive),
		Tty:             boolOf(d.PseudoTerminal),
		NetworkDisabled: boolOf(d.DisableNetworking),
	}
	if p.Command != nil {
		cfg.Cmd = p.Command
	}
	if d.HealthCheck != nil {
		cfg.Healthcheck = healthConfig(d.HealthCheck)
	}
	host := &container.HostConfig{
		Privileged:     boolOf(d.Privileged),
		ReadonlyRootfs: boolOf(d.ReadonlyRootFilesystem),
		DNS:            d.DNSServers,
		DNSSearch:      d.DNSSearchDomains,
		SecurityOpt:    d.DockerSecurityOptions,
		Resources: container.Resources{
			CgroupParent: p.CgroupParent,
			CPUShares:    cpuShares(d.CPU),
		},
	}
	if d.Memory != nil {
		host.Memory = int64(*d.Memory) * mib
	}
	if d.MemoryReservation != nil {
		host.MemoryReservation = int64(*d.MemoryReservation) * mib
	}
	for _, h := range d.ExtraHosts {
		host.ExtraHosts = append(host.ExtraHosts, h.Hostname+":"+h.IPAddress)
	}
	for _, u := range d.Ulimits {
		host.Ulimits = append(host.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.SoftLimit, Hard: u.HardLimit})
	}
	if len(d.SystemControls) > 0 {
		host.Sysctls = map[string]string{}
		for _, s := range d.SystemControls {
			host.Sysctls[s.Namespace] = s.Value
		}
	}
	if err := linuxParameters(d, host); err != nil {
		return nil, nil, nil, nil, err
	}
	logCfg, warning := logConfig(d)
	host.LogConfig = logCfg
	if warning != "" {
		warnings = append(warnings, warning)
	}

	netCfg, err := namespaces(p, cfg, host)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := mounts(p, host); err != nil {
		return nil, nil, nil, nil, err
	}
	return cfg, host, netCfg, warnings, nil
}

// environment merges the task-wide variables, the definition's and the
// override's, later ones winning, each name kept at its first position so
// the result is stable.
func environment(taskEnv, own, override []taskdef.KeyValuePair) []string {
	var order []string
	values := map[string]string{}
	for _, list := range [][]taskdef.KeyValuePair{taskEnv, own, override} {
		for _, e := range list {
			if _, seen := values[e.Name]; !seen {
				order = append(order, e.Name)
			}
			values[e.Name] = e.Value
		}
	}
	if len(order) == 0 {
		return nil
	}
	env := make([]string, len(order))
	for i, name := range order {
		env[i] = name + "=" + values[name]
	}
	return env
}

func boolOf(b *bool) bool { return b != nil && *b }

// cpuShares maps container cpu units to Docker CPU shares the way the ECS
// agent does: units are shares, clamped to what the kernel accepts.
func cpuShares(cpu int) int64 {
	switch {
	case cpu < minCPUShares:
		return minCPUShares
	case cpu > maxCPUShares:
		return maxCPUShares
	}
	return int64(cpu)
}

func healthConfig(h *taskdef.HealthCheck) *container.HealthConfig {
	seconds := func(p *int) time.Duration {
		if p == nil {
			return 0
		}
		return time.Duration(*p) * time.Second
	}
	hc := &container.HealthConfig{
		Test:        h.Command,
		Interval:    seconds(h.Interval),
		Timeout:     seconds(h.Timeout),
		StartPeriod: seconds(h.StartPeriod),
	}
	if h.Retries != nil {
		hc.Retries = *h.Retries
	}
	return hc
}

func linuxParameters(d *taskdef.ContainerDefinition, host *container.HostConfig) error {
	lp := d.LinuxParameters
	if lp == nil {
		return nil
	}
	if c := lp.Capabilities; c != nil {
		host.CapAdd = c.Add
		host.CapDrop = c.Drop
	}
	for _, dev := range lp.Devices {
		target := dev.ContainerPath
		if target == "" {
			target = dev.HostPath
		}
		perms := "rwm"
		if len(dev.Permissions) > 0 {
			perms = ""
			for _, p := range dev.Permissions {
				switch p {
				case "read":
					perms += "r"
				case "write":
					perms += "w"
				case "mknod":
					perms += "m"
				default:
					return fmt.Errorf("linuxParameters.devices: permission %q is not read, write or mknod", p)
				}
			}
		}
		host.Devices = append(host.Devices, container.DeviceMapping{PathOnHost: dev.HostPath, PathInContainer: target, CgroupPermissions: perms})
	}
	if lp.InitProcessEnabled != nil && *lp.InitProcessEnabled {
		init := true
		host.Init = &init
	}
	if lp.SharedMemorySize != nil {
		host.ShmSize = int64(*lp.SharedMemorySize) * mib
	}
	if len(lp.Tmpfs) > 0 {
		host.Tmpfs = map[string]string{}
		for _, t := range lp.Tmpfs {
			opts := append([]string{fmt.Sprintf("size=%dm", t.Size)}, t.MountOptions...)
			host.Tmpfs[t.ContainerPath] = strings.Join(opts, ",")
		}
	}
	if lp.MaxSwap != nil {
		if d.Memory == nil {
			return fmt.Errorf("linuxParameters.maxSwap needs the container's memory to be set")
		}
		// Docker's MemorySwap is memory plus swap; maxSwap 0 means no swap.
		host.MemorySwap = int64(*d.Memory+*lp.MaxSwap) * mib
	}
	if lp.Swappiness != nil {
		s := int64(*lp.Swappiness)
		host.MemorySwappiness = &s
	}
	return nil
}

// logConfig returns the container's log driver. Drivers that send logs away
// (awslogs, splunk, fluentd, ...) have nowhere to send them locally and would
// leave berth unable to read the logs, so they become json-file.
func logConfig(d *taskdef.ContainerDefinition) (container.LogConfig, string) {
	lc := d.LogConfiguration
	if lc == nil || lc.LogDriver == "" {
		return container.LogConfig{Type: "json-file"}, ""
	}
	if logDriversReadable[lc.LogDriver] {
		return container.LogConfig{Type: lc.LogDriver, Config: lc.Options}, ""
	}
	return container.LogConfig{Type: "json-file"},
		fmt.Sprintf("container %s: logDriver %s is kept locally with json-file so its logs stay readable", d.Name, lc.LogDriver)
}

// namespaces sets the container's network, PID and IPC namespaces and its
// published ports.
func namespaces(p *Plan, cfg *container.Config, host *container.HostConfig) (*network.NetworkingConfig, error) {
	d := p.Def
	// joinPause is the mode ("container:ID") of a namespace the task's
	// pause container owns.
	joinPause := func(what string) (string, error) {
		if p.Pause == "" {
			return "", fmt.Errorf("%s needs the task's pause container, which was not made", what)
		}
		return "container:" + p.Pause, nil
	}
	netCfg := &network.NetworkingConfig{}
	switch p.NetworkMode {
	case taskdef.NetworkBridge, "":
		host.NetworkMode = network.NetworkBridge
		if len(p.Ports) > 0 {
			cfg.ExposedPorts = nat.PortSet{}
			host.PortBindings = nat.PortMap{}
		}
		for _, b := range p.Ports {
			port, err := nat.NewPort(b.Protocol, strconv.Itoa(b.ContainerPort))
			if err != nil {
				return nil, fmt.Errorf("portMappings: %w", err)
			}
			cfg.ExposedPorts[port] = struct{}{}
			host.PortBindings[port] = append(host.PortBindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: strconv.Itoa(b.HostPort)})
		}
	case taskdef.NetworkHost:
		host.NetworkMode = network.NetworkHost
	case taskdef.NetworkNone:
		host.NetworkMode = network.NetworkNone
	case taskdef.NetworkAWSVPC:
		if p.Pause == "" && p.Network != "" {
			host.NetworkMode = container.NetworkMode(p.Network)
			ep := &network.EndpointSettings{}
			if p.Address != "" {
				ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: p.Address}
			}
			netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{p.Network: ep}}
		} else {
			mode, err := joinPause("networkMode awsvpc")
			if err != nil {
				return nil, err
			}
			host.NetworkMode = container.NetworkMode(mode)
		}
		// The namespace's owner decides these; Docker refuses them on a
		// container that joins another's network. A task's one container
		// on the network itself is held to the same, so that a task
		// definition means one thing whether or not its task has a pause
		// container.
		for _, f := range []struct {
			field string
			set   bool
		}{
			{"hostname", d.Hostname != ""},
			{"dnsServers", len(d.DNSServers) > 0},
			{"dnsSearchDomains", len(d.DNSSearchDomains) > 0},
			{"extraHosts", len(d.ExtraHosts) > 0},
		} {
			if f.set {
				return nil, fmt.Errorf("container %s: %s is not supported with networkMode awsvpc", d.Name, f.field)
			}
		}
	default:
		return nil, fmt.Errorf("networkMode %q is not bridge, host, awsvpc or none", p.NetworkMode)
	}
	switch p.PidMode {
	case "host":
		host.PidMode = "host"
	case "task":
		mode, err := joinPause("pidMode task")
		if err != nil {
			return nil, err
		}
		host.PidMode = container.PidMode(mode)
	}
	switch p.IpcMode {
	case "host", "none":
		host.IpcMode = container.IpcMode(p.IpcMode)
	case "task":
		mode, err := joinPause("ipcMode task")
		if err != nil {
			return nil, err
		}
		host.IpcMode = container.IpcMode(mode)
	}
	return netCfg, nil
}

// mounts binds the container's mountPoints and volumesFrom.
func mounts(p *Plan, host *container.HostConfig) error {
	d := p.Def
	for i, m := range d.MountPoints {
		src, ok := p.Volumes[m.SourceVolume]
		if !ok {
			return fmt.Errorf("container %s: mountPoints[%d].sourceVolume %q is not a volume of the task", d.Name, i, m.SourceVolume)
		}
		var opts []string
		if boolOf(m.ReadOnly) {
			opts = append(opts, "ro")
		}
		if src.NoCopy {
			opts = append(opts, "nocopy")
		}
		bind := src.Source + ":" + m.ContainerPath
		if len(opts) > 0 {
			bind += ":" + strings.Join(opts, ",")
		}
		host.Binds = append(host.Binds, bind)
	}
	for i, v := range d.VolumesFrom {
		name, ok := p.DockerNames[v.SourceContainer]
		if !ok {
			return fmt.Errorf("container %s: volumesFrom[%d].sourceContainer %q is not a container of the task", d.Name, i, v.SourceContainer)
		}
		mode := "rw"
		if boolOf(v.ReadOnly) {
			mode = "ro"
		}
		host.VolumesFrom = append(host.VolumesFrom, name+":"+mode)
	}
	return nil
}

// PortMappings lists the container's port mappings with the host port each
// one asks for; 0 asks for a dynamic port. Under host and awsvpc networking
// Docker publishes nothing: the container's ports are the namespace's own.
func PortMappings(d *taskdef.ContainerDefinition) ([]PortBinding, error) {
	var out []PortBinding
	for i, pm := range d.PortMappings {
		proto := pm.Protocol
		if proto == "" {
			proto = taskdef.DefaultPortProtocol
		}
		if pm.ContainerPortRange != "" {
			lo, hi, ok := taskdef.ParsePortRange(pm.ContainerPortRange)
			if !ok {
				return nil, fmt.Errorf("container %s: portMappings[%d].containerPortRange: %q is not a range of ports like 8000-8010", d.Name, i, pm.ContainerPortRange)
			}
			for port := lo; port <= hi; port++ {
				out = append(out, PortBinding{ContainerPort: port, Protocol: proto})
			}
			continue
		}
		if pm.ContainerPort == nil {
			return nil, fmt.Errorf("container %s: portMappings[%d] has neither containerPort nor containerPortRange", d.Name, i)
		}
		b := PortBinding{ContainerPort: *pm.ContainerPort, Protocol: proto}
		if pm.HostPort != nil {
			b.HostPort = *pm.HostPort
		}
		out = append(out, b)
	}
	return out, nil
}
