package taskdef

// Defaults ECS applies when a field is left out.
const (
	DefaultStopTimeout       = 30  // seconds between SIGTERM and SIGKILL
	DefaultStartTimeout      = 180 // seconds a dependency may take to reach its condition
	DefaultHealthInterval    = 30
	DefaultHealthTimeout     = 5
	DefaultHealthRetries     = 3
	DefaultDockerVolumeScope = "task"
	DefaultPortProtocol      = "tcp"
	fargateMaxStopTimeout    = 120
)

// Normalized is a task definition in the canonical form the scheduler and
// the agent work from: it has passed validation, its defaults are filled in
// (so the optional pointers that have a default are set) and its task-level
// cpu and memory are integers. (It is no running task: that is ECS's Task,
// controller/api's and the agent's TaskState.)
type Normalized struct {
	Definition TaskDefinition
	// CPU is the task-level CPU in units (1024 per vCPU); 0 when unset.
	CPU int
	// Memory is the task-level memory in MiB; 0 when unset.
	Memory int
	// LaunchType is the launch type the definition was checked for.
	LaunchType string
	// Warnings are fields berth accepts but only approximates locally.
	Warnings []Problem
}

// IsEssential reports whether the container's exit stops the task.
func (c *ContainerDefinition) IsEssential() bool { return c.Essential == nil || *c.Essential }

// Container returns the container named name, or nil.
func (t *TaskDefinition) Container(name string) *ContainerDefinition {
	for i := range t.ContainerDefinitions {
		if t.ContainerDefinitions[i].Name == name {
			return &t.ContainerDefinitions[i]
		}
	}
	return nil
}

// Volume returns the volume named name, or nil.
func (t *TaskDefinition) Volume(name string) *Volume {
	for i := range t.Volumes {
		if t.Volumes[i].Name == name {
			return &t.Volumes[i]
		}
	}
	return nil
}

// normalize fills the defaults of a definition that passed validation, in
// place: the caller hands it a copy of its own.
func normalize(d *TaskDefinition, launchType string, cpu, memory int) *Normalized {
	if d.NetworkMode == "" {
		d.NetworkMode = NetworkBridge
	}
	for i := range d.ContainerDefinitions {
		c := &d.ContainerDefinitions[i]
		if c.Essential == nil {
			c.Essential = ptr(true)
		}
		if c.StopTimeout == nil {
			c.StopTimeout = ptr(DefaultStopTimeout)
		}
		if c.StartTimeout == nil {
			c.StartTimeout = ptr(DefaultStartTimeout)
		}
		for j := range c.PortMappings {
			pm := &c.PortMappings[j]
			if pm.Protocol == "" {
				pm.Protocol = DefaultPortProtocol
			}
			if pm.ContainerPort != nil && (d.NetworkMode == NetworkAWSVPC || d.NetworkMode == NetworkHost) {
				pm.HostPort = ptr(*pm.ContainerPort)
			}
		}
		for j := range c.MountPoints {
			if c.MountPoints[j].ReadOnly == nil {
				c.MountPoints[j].ReadOnly = ptr(false)
			}
		}
		for j := range c.VolumesFrom {
			if c.VolumesFrom[j].ReadOnly == nil {
				c.VolumesFrom[j].ReadOnly = ptr(false)
			}
		}
		if h := c.HealthCheck; h != nil {
			if h.Interval == nil {
				h.Interval = ptr(DefaultHealthInterval)
			}
			if h.Timeout == nil {
				h.Timeout = ptr(DefaultHealthTimeout)
			}
			if h.Retries == nil {
				h.Retries = ptr(DefaultHealthRetries)
			}
			if h.StartPeriod == nil {
				h.StartPeriod = ptr(0)
			}
		}
	}
	for i := range d.Volumes {
		v := &d.Volumes[i]
		if dv := v.DockerVolumeConfiguration; dv != nil {
			if dv.Scope == "" {
				dv.Scope = DefaultDockerVolumeScope
			}
			if dv.Autoprovision == nil {
				dv.Autoprovision = ptr(false)
			}
			if dv.Driver == "" {
				dv.Driver = "local"
			}
		}
		if v.Host == nil && v.DockerVolumeConfiguration == nil && v.EFSVolumeConfiguration == nil && v.FSxWindowsFileServerVolumeConfiguration == nil {
			// A bare named volume is a host scratch volume, as in ECS.
			v.Host = &HostVolumeProperties{}
		}
	}
	return &Normalized{Definition: *d, CPU: cpu, Memory: memory, LaunchType: launchType}
}

func ptr[T any](v T) *T { return &v }
