package agent

import (
	"context"
	"errors"
	"strconv"

	"github.com/berthdev/berth/agent/cgroups"
)

// Slice is a container instance's share of the host, the cgroup all the
// agent's tasks run under: see package cgroups.
type Slice = cgroups.Slice

// setUpSlice puts the agent's tasks under the slice of cfg.Slice, made
// (itself or through the engine) as the agent starts. A slice the host
// cannot have (the systemd driver) or that cannot be made leaves the
// tasks without one, which Logf says.
func (a *Agent) setUpSlice(ctx context.Context) {
	s := a.cfg.Slice
	if s == nil {
		return
	}
	if a.cgroups.Driver == "systemd" {
		return // the caller says so, once for all its instances
	}
	a.cgroups.Base = cgroups.SlicePath(s.Name)
	var err error
	if a.cgroups.viaEngine() {
		err = a.runCgroupHelper(ctx, "create-slice", "--cpu", strconv.Itoa(s.CPU), "--memory", strconv.Itoa(s.MemoryMiB), s.Name)
	} else {
		err = a.cgroups.CreateSlice(*s)
	}
	if err != nil {
		a.cgroups.Base = ""
		a.cfg.Logf("container instance %s runs its tasks without a slice of the host (%s): %v", s.Name, cgroups.SlicePath(s.Name), err)
	}
}

// SliceEnforced reports whether the agent's tasks run under the slice of
// Config.Slice.
func (a *Agent) SliceEnforced() bool { return a.cgroups.Base != "" }

// CgroupDriver is the engine's cgroup driver: cgroupfs or systemd.
func (a *Agent) CgroupDriver() string { return a.cgroups.Driver }

// RemoveInstanceSlice removes the slice of cfg.Slice without running an
// agent: that of a container instance deregistered while no agent of it
// ran (a server that died before removing it). A slice not there is
// removed already.
func RemoveInstanceSlice(ctx context.Context, cfg Config) error {
	if cfg.Slice == nil {
		return errors.New("agent config: no Slice to remove")
	}
	if err := cgroups.CheckSlice(*cfg.Slice); err != nil {
		return err
	}
	a, _, err := newAgent(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.cancel()
	if a.cgroups.Driver == "systemd" {
		return nil // never made
	}
	a.cgroups.Base = cgroups.SlicePath(cfg.Slice.Name)
	return a.RemoveSlice(ctx)
}

// RemoveSlice removes the agent's slice (Config.Slice), once its tasks
// are gone: the container instance is no more. The agent must be closed.
func (a *Agent) RemoveSlice(ctx context.Context) error {
	if a.cgroups.Base == "" || !a.cgroups.HasSlice() {
		return nil
	}
	if a.cgroups.viaEngine() {
		return a.runCgroupHelper(ctx, "remove-slice", a.cfg.Slice.Name)
	}
	return a.cgroups.RemoveSlice()
}
