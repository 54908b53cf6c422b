// Package cgroups makes and removes the cgroups berth's agent puts tasks
// in, by writing the host's cgroup files: the per-task cgroup that holds
// task-level cpu and memory (every container of the task is created under
// it, Docker's CgroupParent, so the limits bind all of them together, as
// on ECS), and the slice of a container instance, which holds all the
// instance's tasks (slice.go).
//
//	cgroup v1: ROOT/cpu/BASE/ecs/TASKID     cpu.cfs_period_us, cpu.cfs_quota_us
//	           ROOT/memory/BASE/ecs/TASKID  memory.limit_in_bytes
//	cgroup v2: ROOT/BASE/ecs/TASKID         cpu.max, memory.max (controllers
//	                                        enabled in each cgroup.subtree_control)
//
// BASE is empty, or the instance's slice, /berth/NAME. The agent writes
// them itself when it may (root); otherwise it has the engine run `berth
// cgroup` (CreateTaskCgroup and its kin) in a container (the agent's
// cgroupengine.go).
package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DefaultRoot is where the cgroup hierarchies are mounted.
const DefaultRoot = "/sys/fs/cgroup"

const (
	mib            = 1 << 20
	cfsPeriodMicro = 100000 // the CFS period berth's quotas are of, as Docker's
)

// Tree is the task cgroups of an engine's host: under Root, of cgroup
// Version (1 or 2), made for the engine's Driver (cgroupfs or systemd),
// below Base ("" or a slice's path).
type Tree struct {
	Root    string
	Version int
	Driver  string
	Base    string
}

// ErrUnsupported: the engine manages cgroups through systemd, where a
// parent must be a slice berth cannot shape with files.
var ErrUnsupported = errors.New("the engine uses the systemd cgroup driver; berth shapes task cgroups with the cgroupfs driver only")

// parent is the CgroupParent of the task's containers.
func (c *Tree) Parent(taskID string) string { return c.Base + "/ecs/" + taskID }

// create makes the task's parent cgroup with a CPU quota of cpu/1024 CPUs
// and a memory limit of memoryMiB; a zero value leaves that resource free.
func (c *Tree) Create(taskID string, cpu, memoryMiB int) error {
	if c.Driver == "systemd" {
		return ErrUnsupported
	}
	quota := int64(cpu) * cfsPeriodMicro / 1024
	if cpu > 0 && quota < 1000 {
		quota = 1000 // the kernel's floor
	}
	memory := int64(memoryMiB) * mib
	if c.Version == 2 {
		return c.createV2(taskID, quota, memory)
	}
	return c.createV1(taskID, quota, memory)
}

func (c *Tree) createV1(taskID string, quota, memory int64) error {
	if quota > 0 {
		dir := filepath.Join(c.Root, "cpu", c.Base, "ecs", taskID)
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
		dir := filepath.Join(c.Root, "memory", c.Base, "ecs", taskID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		if err := writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(memory, 10)); err != nil {
			return err
		}
	}
	return nil
}

func (c *Tree) createV2(taskID string, quota, memory int64) error {
	ecs := filepath.Join(c.Root, c.Base, "ecs")
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
func (c *Tree) RemoveRetrying(ctx context.Context, id string) error {
	var err error
	for range 20 {
		if err = c.Remove(id); err == nil {
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
func (c *Tree) Remove(taskID string) error {
	var dirs []string
	if c.Version == 2 {
		dirs = []string{filepath.Join(c.Root, c.Base, "ecs", taskID)}
	} else {
		found, err := filepath.Glob(filepath.Join(c.Root, "*", c.Base, "ecs", taskID))
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
func (c *Tree) TaskDirs() map[string][]string {
	pattern := filepath.Join(c.Root, "*", c.Base, "ecs", "*")
	if c.Version == 2 {
		pattern = filepath.Join(c.Root, c.Base, "ecs", "*")
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

// MadeAfter reports whether the cgroup dir was made (or touched) after t,
// or cannot be looked at.
func MadeAfter(dir string, t time.Time) bool {
	fi, err := os.Stat(dir)
	return err != nil || fi.ModTime().After(t)
}

// HasProcesses reports whether any process is in the cgroup dir or below.
func HasProcesses(dir string) bool {
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
		if child.IsDir() && HasProcesses(filepath.Join(dir, child.Name())) {
			return true
		}
	}
	return false
}

// ErrBadName: a task ID that is not a plain name could reach outside the
// task cgroups.
var ErrBadName = errors.New("a task ID is letters, digits, '-' and '_'")

// CreateTaskCgroup makes the cgroup of task taskID under root, whose
// hierarchies are of cgroup version (1 or 2), with a CPU quota of cpu/1024
// CPUs and a memory limit of memoryMiB; a zero value leaves that resource
// free. A cgroup it cannot finish is removed. It is the work of `berth
// cgroup create`, which the agent runs through the engine when it cannot
// write the cgroups itself.
func CreateTaskCgroup(root string, version int, slice, taskID string, cpu, memoryMiB int) error {
	c, err := At(root, version, slice)
	if err != nil {
		return err
	}
	if err := CheckName(taskID); err != nil {
		return err
	}
	if cpu < 0 || memoryMiB < 0 {
		return fmt.Errorf("task %s: cpu %d and memory %d must not be negative", taskID, cpu, memoryMiB)
	}
	if err := c.Create(taskID, cpu, memoryMiB); err != nil {
		_ = c.Remove(taskID)
		return err
	}
	return nil
}

// RemoveTaskCgroups removes the cgroups of the tasks under root, waiting a
// little for those still busy: the runtime removes the containers' own
// cgroups just after they exit. It is the work of `berth cgroup remove`.
func RemoveTaskCgroups(ctx context.Context, root string, version int, slice string, taskIDs ...string) error {
	c, err := At(root, version, slice)
	if err != nil {
		return err
	}
	for _, id := range taskIDs {
		if err := CheckName(id); err != nil {
			return err
		}
	}
	var errs []error
	for _, id := range taskIDs {
		if err := c.RemoveRetrying(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// At is the task cgroups under root, in the slice named slice ("" for
// none).
func At(root string, version int, slice string) (*Tree, error) {
	if version != 1 && version != 2 {
		return nil, fmt.Errorf("cgroup version %d: want 1 or 2", version)
	}
	if root == "" {
		return nil, errors.New("cgroup root: empty")
	}
	c := &Tree{Root: root, Version: version, Driver: "cgroupfs"}
	if slice != "" {
		if err := CheckName(slice); err != nil {
			return nil, fmt.Errorf("slice name: %w", err)
		}
		c.Base = SlicePath(slice)
	}
	return c, nil
}

func CheckName(id string) error {
	if id == "" {
		return fmt.Errorf("task ID %q: %w", id, ErrBadName)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("task ID %q: %w", id, ErrBadName)
		}
	}
	return nil
}
