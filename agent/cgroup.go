package agent

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/berthdev/berth/agent/cgroups"
)

// cgroupTree is the agent's task cgroups (package cgroups), and whether
// it makes them itself or through the engine (see cgroupengine.go), which
// is decided once per agent, the first time a task cgroup is made or
// removed.
type cgroupTree struct {
	cgroups.Tree

	decide        sync.Once
	throughEngine bool
}

// viaEngine reports whether the task cgroups are made through the engine:
// berth is refused the cgroup files (not root, or a read-only mount). It
// finds out by making and removing a cgroup of its own, once.
func (c *cgroupTree) viaEngine() bool {
	c.decide.Do(func() {
		if c.Driver == "systemd" {
			return // the engine could not shape it either
		}
		probe := "berth-probe-" + randHex(4)
		err := c.Create(probe, 1024, 64)
		_ = c.Remove(probe)
		c.throughEngine = errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
	})
	return c.throughEngine
}

// useEngine makes the agent make its task cgroups through the engine,
// whether or not it could write them itself; it must come before the
// first task cgroup is made or removed.
func (c *cgroupTree) useEngine() {
	c.decide.Do(func() { c.throughEngine = true })
}

// cgroupSweepGrace is how old a task cgroup must be before an agent may
// take it for one left behind. A task makes its cgroup just before creating
// its first container, and another agent's task may be in that moment: a
// container create takes far less than this.
const cgroupSweepGrace = time.Minute

// sweepCgroups removes the task cgroups whose task has no container on the
// engine, of any agent, and no process, and that were made more than
// cgroupSweepGrace ago: their task ended (or failed before its first
// container ran) while no agent was there to clean up. A task that failed
// so under a live agent loses nothing by it: the cgroup holds nothing.
// An agent that makes its cgroups through the engine also removes the
// helper containers a dead agent left unstarted.
func (a *Agent) sweepCgroups(ctx context.Context) {
	if a.cgroups.viaEngine() {
		a.sweepCgroupHelpers(ctx, cgroupHelperDeadline)
	}
	dirs := a.cgroups.TaskDirs()
	if len(dirs) == 0 {
		return
	}
	made := time.Now().Add(-cgroupSweepGrace)
	for id, ds := range dirs {
		if slices.ContainsFunc(ds, func(d string) bool { return cgroups.MadeAfter(d, made) }) {
			delete(dirs, id)
		}
	}
	if len(dirs) == 0 {
		return
	}
	list, err := a.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", LabelTaskARN))})
	if err != nil {
		a.cfg.Logf("list the engine's task containers: %v", err)
		return
	}
	live := map[string]bool{}
	for _, c := range list {
		live[taskID(c.Labels[LabelTaskARN])] = true
	}
	var stale []string
	for id, ds := range dirs {
		if !live[id] && !slices.ContainsFunc(ds, cgroups.HasProcesses) {
			stale = append(stale, id)
		}
	}
	if len(stale) == 0 {
		return
	}
	slices.Sort(stale)
	if err := a.removeCgroups(ctx, stale...); err != nil {
		a.cfg.Logf("remove the task cgroups left behind: %v", err)
	}
}

// makeTaskCgroup makes the task's cgroup, itself or through the engine. A
// cgroup it cannot finish is removed.
func (a *Agent) makeTaskCgroup(ctx context.Context, id string, cpu, memoryMiB int) error {
	if a.cgroups.viaEngine() {
		return a.createThroughEngine(ctx, id, cpu, memoryMiB)
	}
	if err := a.cgroups.Create(id, cpu, memoryMiB); err != nil {
		_ = a.cgroups.Remove(id)
		return err
	}
	return nil
}

// removeCgroups removes the tasks' cgroups, itself or through the engine.
func (a *Agent) removeCgroups(ctx context.Context, ids ...string) error {
	if a.cgroups.viaEngine() {
		return a.removeThroughEngine(ctx, ids...)
	}
	var errs []error
	for _, id := range ids {
		if err := a.cgroups.RemoveRetrying(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
