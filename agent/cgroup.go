package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
)

// cgroups makes the per-task cgroup parent that holds task-level cpu and
// memory: every container of the task is created under it (Docker's
// CgroupParent), so the limits written on the parent bind all of them
// together, as on ECS.
//
//	cgroup v1: ROOT/cpu/ecs/TASKID     cpu.cfs_period_us, cpu.cfs_quota_us
//	           ROOT/memory/ecs/TASKID  memory.limit_in_bytes
//	cgroup v2: ROOT/ecs/TASKID         cpu.max, memory.max (controllers
//	                                   enabled in each cgroup.subtree_control)
//
// berth writes them itself when it may (root); otherwise the engine does
// (see cgroupengine.go). Which of the two is decided once per agent, the
// first time a task cgroup is made or removed.
type cgroups struct {
	root    string // where the hierarchies are mounted, /sys/fs/cgroup
	version int    // 1 or 2, as the engine reports it
	driver  string // cgroupfs or systemd
	// base is the cgroup the agent's tasks are under: "" for the root, or
	// the slice of the agent's container instance, /berth/NAME (slice.go).
	base string

	decide        sync.Once
	throughEngine bool
}

// viaEngine reports whether the task cgroups are made through the engine:
// berth is refused the cgroup files (not root, or a read-only mount). It
// finds out by making and removing a cgroup of its own, once.
func (c *cgroups) viaEngine() bool {
	c.decide.Do(func() {
		if c.driver == "systemd" {
			return // the engine could not shape it either
		}
		probe := "berth-probe-" + randHex(4)
		err := c.create(probe, 1024, 64)
		_ = c.remove(probe)
		c.throughEngine = errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
	})
	return c.throughEngine
}

// useEngine makes the agent make its task cgroups through the engine,
// whether or not it could write them itself; it must come before the
// first task cgroup is made or removed.
func (c *cgroups) useEngine() {
	c.decide.Do(func() { c.throughEngine = true })
}

// errCgroupUnsupported: the engine manages cgroups through systemd, where a
// parent must be a slice berth cannot shape with files.
var errCgroupUnsupported = errors.New("the engine uses the systemd cgroup driver; berth shapes task cgroups with the cgroupfs driver only")

// parent is the CgroupParent of the task's containers.
func (c *cgroups) parent(taskID string) string { return c.base + "/ecs/" + taskID }

// create makes the task's parent cgroup with a CPU quota of cpu/1024 CPUs
// and a memory limit of memoryMiB; a zero value leaves that resource free.
func (c *cgroups) create(taskID string, cpu, memoryMiB int) error {
	if c.driver == "systemd" {
		return errCgroupUnsupported
	}
	quota := int64(cpu) * cfsPeriodMicro / 1024
	if cpu > 0 && quota < 1000 {
		quota = 1000 // the kernel's floor
	}
	memory := int64(memoryMiB) * mib
	if c.version == 2 {
		return c.createV2(taskID, quota, memory)
	}
	return c.createV1(taskID, quota, memory)
}

func (c *cgroups) createV1(taskID string, quota, memory int64) error {
	if quota > 0 {
		dir := filepath.Join(c.root, "cpu", c.base, "ecs", taskID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		if err := writeFile(dir, "cpu.cfs_period_us", strconv.Itoa(cfsPeriodMicro)); err != nil {
			return err
		}
		if err := writeFile(dir, "cpu.cfs_quota_us", strconv.FormatInt(quota, 10)); err != nil {
			return err
		}
	}
	if memory > 0 {
		dir := filepath.Join(c.root, "memory", c.base, "ecs", taskID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		if err := writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(memory, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (c *cgroups) createV2(taskID string, quota, memory int64) error {
	ecs := filepath.Join(c.root, c.base, "ecs")
	dir := filepath.Join(ecs, taskID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup: %w", err)
	}
	// A controller's files exist in a cgroup only when its parent enables
	// the controller for its children.
	for _, d := range append(c.v2Bases(), ecs, dir) {
		if err := writeFile(d, "cgroup.subtree_control", "+cpu +memory"); err != nil {
			return err
		}
	}
	if quota > 0 {
		if err := writeFile(dir, "cpu.max", fmt.Sprintf("%d %d", quota, cfsPeriodMicro)); err != nil {
			return err
		}
	}
	if memory > 0 {
		if err := writeFile(dir, "memory.max", strconv.FormatInt(memory, 10)); err != nil {
			return err
		}
	}
	return nil
}

// removeRetrying removes the task's cgroup, trying a few times: the
// runtime removes the containers' own cgroups just after they exit.
func (c *cgroups) removeRetrying(ctx context.Context, id string) error {
	var err error
	for range 20 {
		if err = c.remove(id); err == nil {
			return nil
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
	}
	return err
}

// remove deletes the task's parent cgroup in every hierarchy the engine
// created it in. The containers' own cgroups go when their containers do.
func (c *cgroups) remove(taskID string) error {
	var dirs []string
	if c.version == 2 {
		dirs = []string{filepath.Join(c.root, c.base, "ecs", taskID)}
	} else {
		found, err := filepath.Glob(filepath.Join(c.root, "*", c.base, "ecs", taskID))
		if err != nil {
			return err
		}
		dirs = found
	}
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}

func writeFile(dir, name, value string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o644); err != nil {
		return fmt.Errorf("write cgroup file: %w", err)
	}
	return nil
}

// taskDirs lists the task cgroups under the root, by task ID.
func (c *cgroups) taskDirs() map[string][]string {
	pattern := filepath.Join(c.root, "*", c.base, "ecs", "*")
	if c.version == 2 {
		pattern = filepath.Join(c.root, c.base, "ecs", "*")
	}
	found, _ := filepath.Glob(pattern)
	out := map[string][]string{}
	for _, d := range found {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			id := filepath.Base(d)
			out[id] = append(out[id], d)
		}
	}
	return out
}

// madeAfter reports whether the cgroup dir was made (or touched) after t,
// or cannot be looked at.
func madeAfter(dir string, t time.Time) bool {
	fi, err := os.Stat(dir)
	return err != nil || fi.ModTime().After(t)
}

// hasProcesses reports whether any process is in the cgroup dir or below.
func hasProcesses(dir string) bool {
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		// Unreadable: assume it is in use.
		return true
	}
	if len(strings.TrimSpace(string(procs))) > 0 {
		return true
	}
	children, _ := os.ReadDir(dir)
	for _, child := range children {
		if child.IsDir() && hasProcesses(filepath.Join(dir, child.Name())) {
			return true
		}
	}
	return false
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
	dirs := a.cgroups.taskDirs()
	if len(dirs) == 0 {
		return
	}
	made := time.Now().Add(-cgroupSweepGrace)
	for id, ds := range dirs {
		if slices.ContainsFunc(ds, func(d string) bool { return madeAfter(d, made) }) {
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
		if !live[id] && !slices.ContainsFunc(ds, hasProcesses) {
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
	if err := a.cgroups.create(id, cpu, memoryMiB); err != nil {
		_ = a.cgroups.remove(id)
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
		if err := a.cgroups.removeRetrying(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
