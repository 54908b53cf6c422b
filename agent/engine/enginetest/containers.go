package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Exit codes the engine gives a process it signals.
const (
	ExitSIGTERM = 143 // 128 + SIGTERM: a process that honours its stop signal
	ExitSIGKILL = 137 // 128 + SIGKILL: killed, or stopped after its timeout, or out of memory
)

// DefaultStopTimeout is the engine's wait between SIGTERM and SIGKILL for
// a stop that names none.
const DefaultStopTimeout = 10 * time.Second

// Program is what the process of a container of an image does.
type Program struct {
	// IgnoresSIGTERM makes a stop wait out its timeout and SIGKILL the
	// process (exit code 137); otherwise the process ends on SIGTERM
	// (143).
	IgnoresSIGTERM bool
	// ExitsAtOnce ends the process as soon as it starts, with ExitCode.
	ExitsAtOnce bool
	ExitCode    int
	// Health is the status a container with a health check reports once
	// started (none: "starting" until SetHealth).
	Health container.HealthStatus
}

// SetProgram says what the containers of image ref do from now on.
func (e *Engine) SetProgram(ref string, p Program) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.programs[normalize(ref)] = p
}

type fakeContainer struct {
	id, name string
	config   *container.Config
	host     *container.HostConfig
	imageID  string
	program  Program
	created  time.Time
	status   container.ContainerState
	exitCode int
	oom      bool
	started  time.Time
	finished time.Time
	health   *container.Health
	// endpoints are the networks the container is on, by network ID.
	endpoints map[string]*network.EndpointSettings
	// exited is closed when the process ends, and replaced at its start.
	exited chan struct{}
	// removed is closed when the container is removed.
	removed chan struct{}
	// attached are the attach streams to close when the process ends.
	attached []net.Conn
	// usage is what the process uses (SetUsage).
	usage Usage
}

// ContainerCreate creates a container of an image the engine has (by
// reference or ID) and puts it on its networks.
func (e *Engine) ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error) {
	if err := e.enter(ctx, "ContainerCreate", name); err != nil {
		return container.CreateResponse{}, err
	}
	if config == nil {
		return container.CreateResponse{}, invalid("config cannot be empty in order to create a container")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	img := e.imageLocked(config.Image)
	if img == nil {
		return container.CreateResponse{}, notFound("No such image: %s", config.Image)
	}
	if name == "" {
		name = "enginetest_" + newID()[:8]
	}
	for _, c := range e.containers {
		if c.name == name {
			return container.CreateResponse{}, conflict("Conflict. The container name %q is already in use by container %q", "/"+name, c.id)
		}
	}
	cfg := *config
	cfg.Labels = maps.Clone(img.labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	maps.Copy(cfg.Labels, config.Labels)
	host := &container.HostConfig{}
	if hostConfig != nil {
		h := *hostConfig
		host = &h
	}
	c := &fakeContainer{
		id:        newID(),
		name:      name,
		config:    &cfg,
		host:      host,
		imageID:   img.id,
		program:   e.programs[normalize(config.Image)],
		created:   e.clock.Now(),
		status:    container.StateCreated,
		endpoints: map[string]*network.EndpointSettings{},
		exited:    make(chan struct{}),
		removed:   make(chan struct{}),
	}
	for _, v := range e.volumesOf(c) {
		if _, ok := e.volumes[v]; !ok {
			e.volumes[v] = e.newVolume(v, "local", nil, nil)
		}
	}
	mode := string(host.NetworkMode)
	switch {
	case mode == "" || mode == "default":
		mode = "bridge"
	case mode == "host", mode == "none", strings.HasPrefix(mode, "container:"):
		mode = ""
	}
	if mode != "" {
		var settings *network.EndpointSettings
		if networkingConfig != nil {
			settings = networkingConfig.EndpointsConfig[mode]
		}
		if err := e.connectLocked(mode, c, settings); err != nil {
			return container.CreateResponse{}, err
		}
	}
	if networkingConfig != nil {
		for name, settings := range networkingConfig.EndpointsConfig {
			if name == mode {
				continue
			}
			if err := e.connectLocked(name, c, settings); err != nil {
				e.disconnectAllLocked(c)
				return container.CreateResponse{}, err
			}
		}
	}
	e.containers[c.id] = c
	e.emitLocked(c, events.ActionCreate, nil)
	return container.CreateResponse{ID: c.id}, nil
}

// volumesOf names the named volumes a container mounts.
func (e *Engine) volumesOf(c *fakeContainer) []string {
	var names []string
	for _, b := range c.host.Binds {
		src, _, _ := strings.Cut(b, ":")
		if src != "" && !strings.HasPrefix(src, "/") {
			names = append(names, src)
		}
	}
	for _, m := range c.host.Mounts {
		if m.Type == mount.TypeVolume && m.Source != "" {
			names = append(names, m.Source)
		}
	}
	return names
}

// containerLocked finds a container by ID, ID prefix or name.
func (e *Engine) containerLocked(ref string) *fakeContainer {
	ref = strings.TrimPrefix(ref, "/")
	if c, ok := e.containers[ref]; ok {
		return c
	}
	for _, c := range e.containers {
		if c.name == ref || (len(ref) >= 12 && strings.HasPrefix(c.id, ref)) {
			return c
		}
	}
	return nil
}

func (e *Engine) lookup(ref string) (*fakeContainer, error) {
	c := e.containerLocked(ref)
	if c == nil {
		return nil, notFound("No such container: %s", ref)
	}
	return c, nil
}

// ContainerStart starts a created or exited container; a running one is
// left as it is, as Docker does.
func (e *Engine) ContainerStart(ctx context.Context, id string, options container.StartOptions) error {
	if err := e.enter(ctx, "ContainerStart", id); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return err
	}
	if c.status == container.StateRunning {
		return nil
	}
	if c.status == container.StateExited {
		c.exited = make(chan struct{})
	}
	c.status = container.StateRunning
	c.started = e.clock.Now()
	c.finished = time.Time{}
	c.exitCode = 0
	c.oom = false
	if c.config.Healthcheck != nil && len(c.config.Healthcheck.Test) > 0 && c.config.Healthcheck.Test[0] != "NONE" {
		c.health = &container.Health{Status: container.Starting}
	}
	e.emitLocked(c, events.ActionStart, nil)
	if c.health != nil && c.program.Health != "" {
		e.setHealthLocked(c, c.program.Health)
	}
	if c.program.ExitsAtOnce {
		e.exitLocked(c, c.program.ExitCode, false)
	}
	return nil
}

// exitLocked ends a running container's process with code.
func (e *Engine) exitLocked(c *fakeContainer, code int, oom bool) {
	if c.status != container.StateRunning {
		return
	}
	if oom {
		c.oom = true
		e.emitLocked(c, events.ActionOOM, nil)
	}
	c.status = container.StateExited
	c.exitCode = code
	c.finished = e.clock.Now()
	if c.health != nil {
		c.health.Status = container.Unhealthy
		c.health.FailingStreak = 0
	}
	for _, conn := range c.attached {
		conn.Close()
	}
	c.attached = nil
	close(c.exited)
	e.emitLocked(c, events.ActionDie, map[string]string{"exitCode": itoa(code)})
}

// ContainerStop sends SIGTERM and, after options.Timeout seconds (of the
// engine's clock; DefaultStopTimeout when unset), SIGKILL. It returns once
// the container has exited. A container not running is left as it is.
func (e *Engine) ContainerStop(ctx context.Context, id string, options container.StopOptions) error {
	if err := e.enter(ctx, "ContainerStop", id); err != nil {
		return err
	}
	e.mu.Lock()
	c, err := e.lookup(id)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if c.status != container.StateRunning {
		e.mu.Unlock()
		return nil
	}
	timeout := DefaultStopTimeout
	if options.Timeout != nil && *options.Timeout >= 0 {
		timeout = time.Duration(*options.Timeout) * time.Second
	}
	e.emitLocked(c, events.ActionKill, map[string]string{"signal": "15"})
	if !c.program.IgnoresSIGTERM {
		e.exitLocked(c, ExitSIGTERM, false)
		e.emitLocked(c, events.ActionStop, nil)
		e.mu.Unlock()
		return nil
	}
	exited := c.exited
	e.mu.Unlock()
	if timeout > 0 {
		timer := e.clock.NewTimer(timeout)
		defer timer.Stop()
		select {
		case <-exited:
			e.mu.Lock()
			e.emitLocked(c, events.ActionStop, nil)
			e.mu.Unlock()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C():
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.status == container.StateRunning {
		e.emitLocked(c, events.ActionKill, map[string]string{"signal": "9"})
		e.exitLocked(c, ExitSIGKILL, false)
	}
	e.emitLocked(c, events.ActionStop, nil)
	return nil
}

// ContainerKill sends signal. SIGKILL (and SIGTERM to a process that
// honours it) ends the process; a container not running is a Conflict.
func (e *Engine) ContainerKill(ctx context.Context, id, signal string) error {
	if err := e.enter(ctx, "ContainerKill", id); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return err
	}
	if c.status != container.StateRunning {
		return conflict("cannot kill container: %s: container %s is not running", id, c.id)
	}
	sig := strings.TrimPrefix(strings.ToUpper(signal), "SIG")
	num := map[string]string{"": "9", "KILL": "9", "9": "9", "TERM": "15", "15": "15"}[sig]
	if num == "" {
		num = sig
	}
	e.emitLocked(c, events.ActionKill, map[string]string{"signal": num})
	switch {
	case num == "9":
		e.exitLocked(c, ExitSIGKILL, false)
	case num == "15" && !c.program.IgnoresSIGTERM:
		e.exitLocked(c, ExitSIGTERM, false)
	}
	return nil
}

// runningLocked is the running container id, or the engine's conflict for
// one that is not running.
func (e *Engine) runningLocked(id string) (*fakeContainer, error) {
	c, err := e.lookup(id)
	if err != nil {
		return nil, err
	}
	if c.status != container.StateRunning {
		return nil, conflict("container %s is not running", id)
	}
	return c, nil
}

// Exit ends a running container's process on its own with code, as a
// program that finishes does.
func (e *Engine) Exit(id string, code int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.runningLocked(id)
	if err != nil {
		return err
	}
	e.exitLocked(c, code, false)
	return nil
}

// OOM has the kernel kill a running container's process for want of
// memory: an oom event, then its death with 137.
func (e *Engine) OOM(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.runningLocked(id)
	if err != nil {
		return err
	}
	e.exitLocked(c, ExitSIGKILL, true)
	return nil
}

// LateOOM has the kernel kill a running container's process for want of
// memory the way a real engine sometimes reports it: the death (137)
// first, and the oom event after it, with the inspect's OOMKilled set
// only then.
func (e *Engine) LateOOM(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.runningLocked(id)
	if err != nil {
		return err
	}
	e.exitLocked(c, ExitSIGKILL, false)
	c.oom = true
	e.emitLocked(c, events.ActionOOM, nil)
	return nil
}

// SetHealth records a health check of a running container with a health
// check that reports status; the engine sends health_status when the
// status changes.
func (e *Engine) SetHealth(id string, status container.HealthStatus) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return err
	}
	if c.status != container.StateRunning || c.health == nil {
		return conflict("container %s is not running with a health check", id)
	}
	e.setHealthLocked(c, status)
	return nil
}

func (e *Engine) setHealthLocked(c *fakeContainer, status container.HealthStatus) {
	now := e.clock.Now()
	code := 0
	if status != container.Healthy {
		code = 1
		c.health.FailingStreak++
	} else {
		c.health.FailingStreak = 0
	}
	c.health.Log = append(c.health.Log, &container.HealthcheckResult{Start: now, End: now, ExitCode: code, Output: string(status) + "\n"})
	if n := len(c.health.Log); n > 5 {
		c.health.Log = c.health.Log[n-5:]
	}
	e.emitLocked(c, events.ActionExecDie, map[string]string{"exitCode": itoa(code)})
	if c.health.Status != status {
		c.health.Status = status
		e.emitLocked(c, events.Action(string(events.ActionHealthStatus)+": "+string(status)), nil)
	}
}

// ContainerInspect describes a container as Docker does.
func (e *Engine) ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error) {
	if err := e.enter(ctx, "ContainerInspect", id); err != nil {
		return container.InspectResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return container.InspectResponse{}, err
	}
	return e.inspectLocked(c), nil
}

func (e *Engine) inspectLocked(c *fakeContainer) container.InspectResponse {
	cfg := *c.config
	cfg.Labels = maps.Clone(c.config.Labels)
	host := *c.host
	state := &container.State{
		Status:     c.status,
		Running:    c.status == container.StateRunning,
		OOMKilled:  c.oom,
		ExitCode:   c.exitCode,
		StartedAt:  dockerTime(c.started),
		FinishedAt: dockerTime(c.finished),
	}
	if state.Running {
		state.Pid = 4242
	}
	if c.health != nil {
		h := *c.health
		h.Log = slices.Clone(c.health.Log)
		state.Health = &h
	}
	nets := map[string]*network.EndpointSettings{}
	for id, ep := range c.endpoints {
		copied := *ep
		nets[e.networks[id].name] = &copied
	}
	return container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:         c.id,
			Name:       "/" + c.name,
			Created:    dockerTime(c.created),
			Path:       firstOr(c.config.Entrypoint),
			State:      state,
			Image:      c.imageID,
			HostConfig: &host,
			Driver:     "overlay2",
			Platform:   "linux",
		},
		Config:          &cfg,
		NetworkSettings: &container.NetworkSettings{Networks: nets},
	}
}

// ContainerList lists the running containers, or all with options.All,
// that pass the filters label, name, status and id.
func (e *Engine) ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error) {
	if err := e.enter(ctx, "ContainerList", ""); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f := options.Filters
	var out []container.Summary
	for _, c := range e.containers {
		if !options.All && c.status != container.StateRunning && !f.Contains("status") {
			continue
		}
		if !matchLabels(f, c.config.Labels) || !matchName(f, c.name) {
			continue
		}
		if f.Contains("status") && !f.ExactMatch("status", string(c.status)) {
			continue
		}
		if f.Contains("id") && !slices.ContainsFunc(f.Get("id"), func(p string) bool { return strings.HasPrefix(c.id, p) }) {
			continue
		}
		s := container.Summary{
			ID:      c.id,
			Names:   []string{"/" + c.name},
			Image:   c.config.Image,
			ImageID: c.imageID,
			Created: c.created.Unix(),
			Labels:  maps.Clone(c.config.Labels),
			State:   c.status,
			Status:  string(c.status),
		}
		s.HostConfig.NetworkMode = string(c.host.NetworkMode)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b container.Summary) int { return int(b.Created - a.Created) })
	return out, nil
}

// ContainerRemove removes a container; a running one only with Force,
// which kills it first.
func (e *Engine) ContainerRemove(ctx context.Context, id string, options container.RemoveOptions) error {
	if err := e.enter(ctx, "ContainerRemove", id); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return err
	}
	if c.status == container.StateRunning {
		if !options.Force {
			return conflict("cannot remove container %q: container is running: stop the container before removing or force remove", "/"+c.name)
		}
		e.emitLocked(c, events.ActionKill, map[string]string{"signal": "9"})
		e.exitLocked(c, ExitSIGKILL, false)
	}
	e.disconnectAllLocked(c)
	delete(e.containers, c.id)
	close(c.removed)
	e.emitLocked(c, events.ActionDestroy, nil)
	return nil
}

// ContainerWait answers when the container meets condition: not running
// (the default), its next exit, or its removal.
func (e *Engine) ContainerWait(ctx context.Context, id string, condition container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	resp := make(chan container.WaitResponse, 1)
	errs := make(chan error, 1)
	if err := e.enter(ctx, "ContainerWait", id); err != nil {
		errs <- err
		return resp, errs
	}
	e.mu.Lock()
	c, err := e.lookup(id)
	if err != nil {
		e.mu.Unlock()
		errs <- err
		return resp, errs
	}
	var done <-chan struct{}
	switch condition {
	case container.WaitConditionRemoved:
		done = c.removed
	case container.WaitConditionNextExit:
		done = c.exited
	default:
		if c.status != container.StateRunning {
			resp <- container.WaitResponse{StatusCode: int64(c.exitCode)}
			e.mu.Unlock()
			return resp, errs
		}
		done = c.exited
	}
	e.mu.Unlock()
	go func() {
		select {
		case <-done:
			e.mu.Lock()
			code := c.exitCode
			e.mu.Unlock()
			resp <- container.WaitResponse{StatusCode: int64(code)}
		case <-ctx.Done():
			errs <- ctx.Err()
		}
	}()
	return resp, errs
}

// ContainerAttach returns a stream that carries no output and ends when
// the container's process does.
func (e *Engine) ContainerAttach(ctx context.Context, id string, options container.AttachOptions) (types.HijackedResponse, error) {
	if err := e.enter(ctx, "ContainerAttach", id); err != nil {
		return types.HijackedResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return types.HijackedResponse{}, err
	}
	ours, theirs := net.Pipe()
	if c.status == container.StateExited {
		theirs.Close()
	} else {
		c.attached = append(c.attached, theirs)
	}
	return types.NewHijackedResponse(ours, "application/vnd.docker.raw-stream"), nil
}

// ContainerLogs returns a container's output: none.
func (e *Engine) ContainerLogs(ctx context.Context, id string, options container.LogsOptions) (io.ReadCloser, error) {
	if err := e.enter(ctx, "ContainerLogs", id); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.lookup(id); err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// OnlineCPUs is how many CPUs the engine's host has, as its stats say.
const OnlineCPUs = 4

// Usage is what a container's process uses, as its stats report it.
type Usage struct {
	// CPU is the CPU time the process has used since it started.
	CPU time.Duration
	// Memory is the memory the container is charged for, Cache the part
	// of it that is page cache (cgroup v2's inactive_file).
	Memory, Cache uint64
}

// SetUsage says what a running container's process has used, from now on.
func (e *Engine) SetUsage(id string, u Usage) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.runningLocked(id)
	if err != nil {
		return err
	}
	c.usage = u
	return nil
}

// ContainerStatsOneShot returns the container's statistics, as a one-shot
// answer of Docker's gives them: the CPU counters now (precpu_stats empty)
// and the memory, from its Usage while it runs, zero once it has exited.
// The host's CPU time is the engine's clock times OnlineCPUs, so that a
// container that used d of CPU between two samples a wall time w apart
// used d/w of a CPU.
func (e *Engine) ContainerStatsOneShot(ctx context.Context, id string) (container.StatsResponseReader, error) {
	if err := e.enter(ctx, "ContainerStatsOneShot", id); err != nil {
		return container.StatsResponseReader{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := e.lookup(id)
	if err != nil {
		return container.StatsResponseReader{}, err
	}
	now := e.clock.Now()
	stats := container.StatsResponse{Name: "/" + c.name, ID: c.id, Read: now}
	if c.status == container.StateRunning {
		stats.CPUStats = container.CPUStats{
			CPUUsage:    container.CPUUsage{TotalUsage: uint64(c.usage.CPU)},
			SystemUsage: uint64(now.UnixNano()) * OnlineCPUs,
			OnlineCPUs:  OnlineCPUs,
		}
		stats.MemoryStats = container.MemoryStats{Usage: c.usage.Memory, Stats: map[string]uint64{"inactive_file": c.usage.Cache}}
	}
	body, err := json.Marshal(stats)
	if err != nil {
		return container.StatsResponseReader{}, err
	}
	return container.StatsResponseReader{Body: io.NopCloser(bytes.NewReader(body)), OSType: "linux"}, nil
}

// dockerTime formats t as Docker's inspect does, with Go's zero time for
// a time that has not come.
func dockerTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func firstOr(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
