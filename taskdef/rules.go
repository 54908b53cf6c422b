package taskdef

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/berthdev/berth/scheduler/query"
)

// checker holds one definition while ECS's rules run over it. Each rule is
// a method named after what it checks; the rule name in its problems is the
// name documented in docs/validation.md.
type checker struct {
	doc        *Document
	def        *TaskDefinition
	launchType string
	fargate    bool // Fargate's rules apply
	cpu        int  // task-level CPU units, 0 when unset or unreadable
	memory     int  // task-level MiB, 0 when unset or unreadable
	sized      bool // both task-level cpu and memory were read
	errors     []Problem
	warnings   []Problem
}

func (c *checker) fail(ptr, rule, format string, args ...any) {
	c.errors = append(c.errors, c.doc.at(ptr, rule, fmt.Sprintf(format, args...)))
}

func (c *checker) warn(ptr, rule, format string, args ...any) {
	c.warnings = append(c.warnings, c.doc.at(ptr, rule, fmt.Sprintf(format, args...)))
}

func containerPtr(i int) string { return "/containerDefinitions/" + strconv.Itoa(i) }

// run applies every rule. Cheap, document-wide rules come first; rules that
// need the task's cpu and memory run after those are parsed.
func (c *checker) run() {
	if size := c.doc.compactSize(); size > maxTaskDefinitionSize {
		c.fail("", "definition-size", "The task definition is %d bytes without white space; ECS accepts at most 64 KiB (65536 bytes).", size)
	}
	c.containerCount()
	c.taskSize()
	c.uniqueNames()
	c.essential()
	c.networkRules()
	c.memoryRules()
	c.cpuRules()
	c.dependsOn()
	c.volumeRefs()
	c.portRules()
	c.logRules()
	c.healthChecks()
	c.placementConstraints()
	c.proxy()
	c.dockerVolumes()
	c.hostSourcePaths()
	c.environment()
	if c.fargate {
		c.fargateRules()
	}
	c.approximations()
	c.placeholders()
}

func (c *checker) containerCount() {
	if len(c.def.ContainerDefinitions) == 0 {
		c.fail("/containerDefinitions", "container-count", "Container list cannot be empty.")
	}
}

// taskSize parses the task-level cpu and memory strings.
func (c *checker) taskSize() {
	cpuRead, memoryRead := false, false
	defer func() { c.sized = cpuRead && memoryRead }()
	if c.def.CPU != "" {
		n, err := ParseCPU(c.def.CPU)
		switch {
		case err != nil:
			c.fail("/cpu", "task-cpu-format", "Invalid 'cpu' setting for task: %v.", err)
		case !c.fargate && (n < 128 || n > 196608):
			c.fail("/cpu", "task-cpu-range", "Invalid 'cpu' setting for task: %d CPU units; it must be between 128 and 196608 (0.125 to 192 vCPU).", n)
		default:
			c.cpu, cpuRead = n, true
		}
	}
	if c.def.Memory != "" {
		n, err := ParseMemory(c.def.Memory)
		switch {
		case err != nil:
			c.fail("/memory", "task-memory-format", "Invalid 'memory' setting for task: %v.", err)
		case n < 6:
			c.fail("/memory", "task-memory-range", "Invalid 'memory' setting for task: %d MiB is below Docker's minimum of 6 MiB.", n)
		default:
			c.memory, memoryRead = n, true
		}
	}
}

func (c *checker) uniqueNames() {
	seen := map[string]bool{}
	for i, ctr := range c.def.ContainerDefinitions {
		if seen[ctr.Name] {
			c.fail(containerPtr(i)+"/name", "unique-container-names", "Container names must be unique within a task definition: %q is used more than once.", ctr.Name)
		}
		seen[ctr.Name] = true
	}
	vols := map[string]bool{}
	for i, v := range c.def.Volumes {
		if v.Name == "" {
			continue
		}
		if vols[v.Name] {
			c.fail("/volumes/"+strconv.Itoa(i)+"/name", "unique-volume-names", "Volume names must be unique within a task definition: %q is used more than once.", v.Name)
		}
		vols[v.Name] = true
	}
}

func (c *checker) essential() {
	if len(c.def.ContainerDefinitions) == 0 {
		return
	}
	for _, ctr := range c.def.ContainerDefinitions {
		if ctr.IsEssential() {
			return
		}
	}
	c.fail("/containerDefinitions", "essential-container", "A task definition must have at least one essential container.")
}

// networkRules checks what each network mode allows: links only in bridge,
// matching ports under awsvpc and host, no ports under none.
func (c *checker) networkRules() {
	mode := c.def.NetworkMode
	if mode == "" {
		mode = NetworkBridge
	}
	for i, ctr := range c.def.ContainerDefinitions {
		p := containerPtr(i)
		if ctr.Hostname != "" && mode == NetworkAWSVPC {
			c.fail(p+"/hostname", "hostname-awsvpc", "hostname is not supported on container when networkMode=awsvpc.")
		}
		if len(ctr.Links) > 0 && mode != NetworkBridge {
			c.fail(p+"/links", "links-bridge-only", "Links are not supported when networkMode=%s.", mode)
		}
		for j, pm := range ctr.PortMappings {
			pp := p + "/portMappings/" + strconv.Itoa(j)
			switch mode {
			case NetworkNone:
				c.fail(pp, "none-port-mappings", "Port mappings are not supported when networkMode=none.")
			case NetworkAWSVPC, NetworkHost:
				if pm.HostPort != nil && pm.ContainerPort != nil && *pm.HostPort != *pm.ContainerPort {
					c.fail(pp+"/hostPort", "matching-host-port", "When networkMode=%s, the host ports and container ports in port mappings must match.", mode)
				}
			}
		}
		for j, name := range ctr.Links {
			target, _, _ := strings.Cut(name, ":")
			if c.def.Container(target) == nil {
				c.fail(p+"/links/"+strconv.Itoa(j), "link-target", "Invalid link for container '%s': no container named '%s' in the task definition.", ctr.Name, target)
			}
		}
	}
}

// memoryRules: every container needs a memory figure when the task has
// none (EC2), memory may not be below memoryReservation, and no container
// may ask for more than the task.
func (c *checker) memoryRules() {
	sumReservation := 0
	for i, ctr := range c.def.ContainerDefinitions {
		p := containerPtr(i)
		if c.def.Memory == "" && ctr.Memory == nil && ctr.MemoryReservation == nil {
			c.fail(p, "container-memory-required", "Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", ctr.Name)
		}
		if ctr.Memory != nil && ctr.MemoryReservation != nil && *ctr.Memory < *ctr.MemoryReservation {
			c.fail(p+"/memory", "memory-below-reservation", "Invalid setting for container '%s'. 'memory' (%d MiB) must be greater than or equal to 'memoryReservation' (%d MiB).", ctr.Name, *ctr.Memory, *ctr.MemoryReservation)
		}
		if ctr.Memory != nil && c.memory > 0 && *ctr.Memory > c.memory {
			c.fail(p+"/memory", "container-memory-exceeds-task", "The 'memory' setting for container '%s' is greater than for the task.", ctr.Name)
		}
		if ctr.MemoryReservation != nil {
			sumReservation += *ctr.MemoryReservation
		}
	}
	if c.memory > 0 && sumReservation > c.memory {
		c.fail("/memory", "memory-reservation-sum", "The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.")
	}
}

func (c *checker) cpuRules() {
	sum := 0
	for _, ctr := range c.def.ContainerDefinitions {
		sum += ctr.CPU
	}
	if c.cpu > 0 && sum > c.cpu {
		c.fail("/cpu", "cpu-sum", "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
}

// dependsOn checks container dependencies: they name a container of the
// task other than the depending one, SUCCESS and COMPLETE targets are not
// essential, HEALTHY targets have a health check, and there is no cycle.
func (c *checker) dependsOn() {
	for i, ctr := range c.def.ContainerDefinitions {
		for j, dep := range ctr.DependsOn {
			p := containerPtr(i) + "/dependsOn/" + strconv.Itoa(j)
			target := c.def.Container(dep.ContainerName)
			switch {
			case target == nil:
				c.fail(p+"/containerName", "depends-on-exists", "Container '%s' depends on '%s', which is not a container of the task definition.", ctr.Name, dep.ContainerName)
				continue
			case dep.ContainerName == ctr.Name:
				c.fail(p+"/containerName", "depends-on-self", "Container '%s' cannot depend on itself.", ctr.Name)
				continue
			}
			switch dep.Condition {
			case ConditionSuccess, ConditionComplete:
				if target.IsEssential() {
					c.fail(p+"/condition", "depends-on-essential", "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container: '%s' is essential.", target.Name)
				}
			case ConditionHealthy:
				if target.HealthCheck == nil {
					c.fail(p+"/condition", "depends-on-health-check", "Container '%s' depends on '%s' being HEALTHY, but '%s' has no health check.", ctr.Name, target.Name, target.Name)
				}
			}
		}
	}
	if cycle := dependencyCycle(c.def); cycle != nil {
		i := slices.IndexFunc(c.def.ContainerDefinitions, func(x ContainerDefinition) bool { return x.Name == cycle[0] })
		c.fail(containerPtr(i)+"/dependsOn", "depends-on-cycle", "Container dependencies form a cycle: %s.", strings.Join(cycle, " -> "))
	}
}

// dependencyCycle returns the names along a dependsOn cycle, first name
// repeated at the end, or nil when the dependencies form no cycle.
func dependencyCycle(def *TaskDefinition) []string {
	const (
		unvisited = iota
		onPath
		finished
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		state[name] = onPath
		path = append(path, name)
		if ctr := def.Container(name); ctr != nil {
			for _, dep := range ctr.DependsOn {
				if dep.ContainerName == name || def.Container(dep.ContainerName) == nil {
					continue // reported by depends-on-self and depends-on-exists
				}
				switch state[dep.ContainerName] {
				case onPath:
					start := slices.Index(path, dep.ContainerName)
					return append(slices.Clone(path[start:]), dep.ContainerName)
				case unvisited:
					if cycle := visit(dep.ContainerName); cycle != nil {
						return cycle
					}
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = finished
		return nil
	}
	for _, ctr := range def.ContainerDefinitions {
		if state[ctr.Name] == unvisited {
			if cycle := visit(ctr.Name); cycle != nil {
				return cycle
			}
		}
	}
	return nil
}

// volumeRefs checks that mount points name a task volume and volumesFrom
// names another container of the task.
func (c *checker) volumeRefs() {
	for i, ctr := range c.def.ContainerDefinitions {
		p := containerPtr(i)
		for j, mp := range ctr.MountPoints {
			mpp := p + "/mountPoints/" + strconv.Itoa(j)
			if c.def.Volume(mp.SourceVolume) == nil {
				c.fail(mpp+"/sourceVolume", "mount-source-volume", "Invalid 'mountPoints' for container '%s': sourceVolume '%s' is not a volume of the task definition.", ctr.Name, mp.SourceVolume)
			}
			if mp.ContainerPath == "" {
				c.fail(mpp, "mount-container-path", "Invalid 'mountPoints' for container '%s': containerPath is required.", ctr.Name)
			}
		}
		for j, vf := range ctr.VolumesFrom {
			vp := p + "/volumesFrom/" + strconv.Itoa(j) + "/sourceContainer"
			switch {
			case c.def.Container(vf.SourceContainer) == nil:
				c.fail(vp, "volumes-from-container", "Invalid 'volumesFrom' for container '%s': sourceContainer '%s' is not a container of the task definition.", ctr.Name, vf.SourceContainer)
			case vf.SourceContainer == ctr.Name:
				c.fail(vp, "volumes-from-self", "Invalid 'volumesFrom' for container '%s': a container cannot mount its own volumes.", ctr.Name)
			}
		}
	}
}

// portRules checks each container's port mappings: a port or a range,
// ranges well formed and in the right network modes, and no container port
// exposed twice for one protocol.
func (c *checker) portRules() {
	for i, ctr := range c.def.ContainerDefinitions {
		p := containerPtr(i)
		seen := map[string]bool{}
		type span struct{ lo, hi int }
		var ranges []span
		for j, pm := range ctr.PortMappings {
			pp := p + "/portMappings/" + strconv.Itoa(j)
			proto := pm.Protocol
			if proto == "" {
				proto = DefaultPortProtocol
			}
			if pm.ContainerPortRange != "" {
				lo, hi, ok := ParsePortRange(pm.ContainerPortRange)
				switch {
				case !ok:
					c.fail(pp+"/containerPortRange", "port-range-format", "Invalid containerPortRange %q for container '%s': it must be two ports 1-65535, the first below the second.", pm.ContainerPortRange, ctr.Name)
				case pm.ContainerPort != nil:
					c.fail(pp, "port-range-exclusive", "Invalid port mapping for container '%s': containerPort and containerPortRange cannot both be set.", ctr.Name)
				case pm.HostPort != nil:
					c.fail(pp+"/hostPort", "port-range-host-port", "Invalid port mapping for container '%s': hostPort must be empty when containerPortRange is set.", ctr.Name)
				case c.def.NetworkMode == NetworkHost || c.def.NetworkMode == NetworkNone:
					c.fail(pp+"/containerPortRange", "port-range-network-mode", "containerPortRange is supported only when networkMode is bridge or awsvpc.")
				default:
					for _, r := range ranges {
						if lo <= r.hi && r.lo <= hi {
							c.fail(pp+"/containerPortRange", "port-range-overlap", "Invalid containerPortRange %q for container '%s': it overlaps another range.", pm.ContainerPortRange, ctr.Name)
						}
					}
					ranges = append(ranges, span{lo, hi})
				}
				continue
			}
			if pm.ContainerPort == nil {
				c.fail(pp, "container-port-required", "Invalid port mapping for container '%s': containerPort or containerPortRange is required.", ctr.Name)
				continue
			}
			key := strconv.Itoa(*pm.ContainerPort) + "/" + proto
			if seen[key] {
				c.fail(pp+"/containerPort", "duplicate-container-port", "Container '%s' exposes container port %d/%s more than once.", ctr.Name, *pm.ContainerPort, proto)
			}
			seen[key] = true
		}
		if len(ranges) > 100 {
			c.fail(p+"/portMappings", "port-range-count", "Container '%s' has %d containerPortRange mappings; at most 100 are allowed.", ctr.Name, len(ranges))
		}
	}
}

// ParsePortRange reads a containerPortRange, "8000-8010": two ports from 1
// to 65535, the first below the second.
func ParsePortRange(s string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	return lo, hi, err1 == nil && err2 == nil && lo >= 1 && hi <= 65535 && lo < hi
}

func (c *checker) logRules() {
	for i, ctr := range c.def.ContainerDefinitions {
		lc := ctr.LogConfiguration
		if lc == nil || lc.LogDriver != "awslogs" {
			continue
		}
		for _, opt := range []string{"awslogs-region", "awslogs-group"} {
			if lc.Options[opt] == "" {
				c.fail(containerPtr(i)+"/logConfiguration", "awslogs-options", "The awslogs log driver of container '%s' requires the option '%s'.", ctr.Name, opt)
			}
		}
	}
}

func (c *checker) healthChecks() {
	for i, ctr := range c.def.ContainerDefinitions {
		h := ctr.HealthCheck
		if h == nil || len(h.Command) == 0 {
			continue
		}
		switch h.Command[0] {
		case "CMD", "CMD-SHELL":
			if len(h.Command) < 2 {
				c.fail(containerPtr(i)+"/healthCheck/command", "health-check-command", "The health check of container '%s' names %s but no command to run.", ctr.Name, h.Command[0])
			}
		default:
			c.fail(containerPtr(i)+"/healthCheck/command/0", "health-check-command", "The health check command of container '%s' must start with CMD or CMD-SHELL, not %q.", ctr.Name, h.Command[0])
		}
	}
}

func (c *checker) placementConstraints() {
	for i, pc := range c.def.PlacementConstraints {
		p := "/placementConstraints/" + strconv.Itoa(i)
		if pc.Expression == "" {
			c.fail(p, "placement-expression", "A memberOf placement constraint requires an expression.")
			continue
		}
		if _, err := query.Parse(pc.Expression); err != nil {
			c.fail(p+"/expression", "placement-expression-syntax", "Invalid placement constraint expression %q: %v.", pc.Expression, err)
		}
	}
}

func (c *checker) proxy() {
	pc := c.def.ProxyConfiguration
	if pc == nil {
		return
	}
	if c.def.Container(pc.ContainerName) == nil {
		c.fail("/proxyConfiguration/containerName", "proxy-container", "The proxy configuration names container '%s', which is not a container of the task definition.", pc.ContainerName)
	}
	if c.def.NetworkMode != NetworkAWSVPC && c.launchType != LaunchFargate {
		c.fail("/proxyConfiguration", "proxy-network-mode", "A proxy configuration requires networkMode awsvpc.")
	}
}

func (c *checker) dockerVolumes() {
	for i, v := range c.def.Volumes {
		p := "/volumes/" + strconv.Itoa(i)
		set := 0
		for _, present := range []bool{v.Host != nil, v.DockerVolumeConfiguration != nil, v.EFSVolumeConfiguration != nil, v.FSxWindowsFileServerVolumeConfiguration != nil} {
			if present {
				set++
			}
		}
		if set > 1 {
			c.fail(p, "volume-one-type", "Volume '%s' may set only one of host, dockerVolumeConfiguration, efsVolumeConfiguration and fsxWindowsFileServerVolumeConfiguration.", v.Name)
		}
		if dv := v.DockerVolumeConfiguration; dv != nil && dv.Autoprovision != nil && *dv.Autoprovision && dv.Scope != "shared" {
			c.fail(p+"/dockerVolumeConfiguration/autoprovision", "docker-volume-autoprovision", "Volume '%s': autoprovision is supported only when scope is shared.", v.Name)
		}
		if c.fargate && v.DockerVolumeConfiguration != nil {
			c.fail(p+"/dockerVolumeConfiguration", "fargate-docker-volume", "Tasks using the Fargate launch type do not support dockerVolumeConfiguration.")
		}
	}
}

// hostSourcePaths checks that host volumes bind absolute paths. Docker
// takes a bind source that is not absolute for the name of a named volume:
// "./data" fails the container's creation (a volume name has no '/'), and
// "data" quietly mounts an empty volume instead of the host's directory.
// The message ends with Docker's own advice for the mistake.
func (c *checker) hostSourcePaths() {
	if c.fargate {
		return // Fargate refuses every sourcePath (fargate-source-path)
	}
	for i, v := range c.def.Volumes {
		if v.Host == nil || v.Host.SourcePath == "" || isAbsoluteHostPath(v.Host.SourcePath) {
			continue
		}
		c.fail("/volumes/"+strconv.Itoa(i)+"/host/sourcePath", "host-source-path-absolute", "Invalid 'sourcePath' for volume '%s': %q is not an absolute path. If you intended to pass a host directory, use absolute path.", v.Name, v.Host.SourcePath)
	}
}

// isAbsoluteHostPath reports whether a host volume's sourcePath is
// absolute on the container instance: /path on Linux, and on Windows C:\path
// or \\server\share (as in \\.\pipe\docker_engine).
func isAbsoluteHostPath(p string) bool {
	switch {
	case strings.HasPrefix(p, "/"), strings.HasPrefix(p, `\\`):
		return true
	case len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/'):
		d := p[0] | 0x20 // lower case
		return d >= 'a' && d <= 'z'
	}
	return false
}

// environment checks each container's environment variables: a name
// neither blank nor holding '=', and no NUL byte anywhere. Docker joins
// name and value as NAME=VALUE, so an '=' in the name moves the rest into
// the value, and the kernel ends a variable at a NUL: either way the
// container would not get the variable it was given, or not start.
func (c *checker) environment() {
	for i, ctr := range c.def.ContainerDefinitions {
		for j, kv := range ctr.Environment {
			p := containerPtr(i) + "/environment/" + strconv.Itoa(j)
			switch {
			case strings.TrimSpace(kv.Name) == "":
				c.fail(p, "environment-name-blank", "Environment variable name cannot be null or blank.")
			case strings.ContainsAny(kv.Name, "=\x00"):
				c.fail(p+"/name", "environment-name-characters", "Invalid environment variable name %q for container '%s': a name cannot contain '=' or a NUL byte.", kv.Name, ctr.Name)
			}
			if strings.Contains(kv.Value, "\x00") {
				c.fail(p+"/value", "environment-value-nul", "Invalid value for environment variable %q of container '%s': a value cannot contain a NUL byte.", kv.Name, ctr.Name)
			}
		}
	}
}

// fargateRules are the requirements of the Fargate launch type.
func (c *checker) fargateRules() {
	if c.def.CPU == "" {
		c.fail("", "fargate-cpu-required", "Fargate requires that 'cpu' be defined at the task level.")
	}
	if c.def.Memory == "" {
		c.fail("", "fargate-memory-required", "Fargate requires that 'memory' be defined at the task level.")
	}
	if c.def.NetworkMode != NetworkAWSVPC {
		ptr := "/networkMode"
		if c.def.NetworkMode == "" {
			ptr = "" // the default, bridge: no value to point at
		}
		c.fail(ptr, "fargate-network-mode", "Fargate only supports network mode 'awsvpc'.")
	}
	if c.def.IpcMode != "" {
		c.fail("/ipcMode", "fargate-ipc-mode", "Tasks using the Fargate launch type do not support ipcMode.")
	}
	if c.def.PidMode == "host" {
		c.fail("/pidMode", "fargate-pid-mode", "Tasks using the Fargate launch type do not support pidMode 'host'.")
	}
	if len(c.def.PlacementConstraints) > 0 {
		c.fail("/placementConstraints", "fargate-placement-constraints", "Placement constraints are not supported with FARGATE launch type.")
	}
	if c.sized && !ValidFargateSize(c.cpu, c.memory) {
		ptr := "/memory"
		if !slices.ContainsFunc(FargateSizes, func(s FargateSize) bool { return s.CPU == c.cpu }) {
			ptr = "/cpu" // no memory would do: the cpu value is what is wrong
		}
		c.fail(ptr, "fargate-size", "No Fargate configuration exists for given values: %d CPU, %d memory.", c.cpu, c.memory)
	}
	for i, v := range c.def.Volumes {
		if v.Host != nil && v.Host.SourcePath != "" {
			c.fail("/volumes/"+strconv.Itoa(i)+"/host/sourcePath", "fargate-source-path", "Tasks using the Fargate launch type do not support host volumes with a sourcePath.")
		}
	}
	for i, ctr := range c.def.ContainerDefinitions {
		p := containerPtr(i)
		if ctr.Privileged != nil && *ctr.Privileged {
			c.fail(p+"/privileged", "fargate-privileged", "Tasks using the Fargate launch type do not support privileged containers.")
		}
		if len(ctr.DockerSecurityOptions) > 0 {
			c.fail(p+"/dockerSecurityOptions", "fargate-security-options", "Tasks using the Fargate launch type do not support dockerSecurityOptions.")
		}
		if lc := ctr.LogConfiguration; lc != nil && lc.LogDriver == "awslogs" {
			if lc.Options["awslogs-stream-prefix"] == "" {
				c.fail(p+"/logConfiguration", "fargate-awslogs-stream-prefix", "Fargate requires log configuration options to include awslogs-stream-prefix to support log driver awslogs.")
			}
			if c.def.ExecutionRoleArn == "" {
				c.warn(p+"/logConfiguration", "fargate-awslogs-execution-role", "Fargate needs an executionRoleArn to send awslogs logs to CloudWatch; berth keeps the logs locally either way.")
			}
		}
		if ctr.StopTimeout != nil && *ctr.StopTimeout > fargateMaxStopTimeout {
			c.fail(p+"/stopTimeout", "fargate-stop-timeout", "Invalid 'stopTimeout' for container '%s': Fargate allows at most 120 seconds.", ctr.Name)
		}
		if lp := ctr.LinuxParameters; lp != nil {
			if lp.Capabilities != nil {
				for j, capName := range lp.Capabilities.Add {
					if capName != "SYS_PTRACE" {
						c.fail(p+"/linuxParameters/capabilities/add/"+strconv.Itoa(j), "fargate-capabilities", "Tasks using the Fargate launch type can add only the SYS_PTRACE capability, not %s.", capName)
					}
				}
			}
			if len(lp.Devices) > 0 {
				c.fail(p+"/linuxParameters/devices", "fargate-linux-parameters", "Tasks using the Fargate launch type do not support linuxParameters.devices.")
			}
			if lp.MaxSwap != nil {
				c.fail(p+"/linuxParameters/maxSwap", "fargate-max-swap", "Tasks using the Fargate launch type do not support linuxParameters.maxSwap.")
			}
			if lp.Swappiness != nil {
				c.fail(p+"/linuxParameters/swappiness", "fargate-swappiness", "Tasks using the Fargate launch type do not support linuxParameters.swappiness.")
			}
		}
	}
}
