package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Slice is a container instance's share of the host: a cgroup that every
// task of the agent runs under (the CgroupParent of its containers, or of
// its task cgroup), so that the instance's tasks together cannot use more
// memory than the instance registered, and get CPU time in proportion to
// its registered CPU units when the host's CPUs are contended.
//
//	cgroup v1: ROOT/cpu/berth/NAME     cpu.shares = CPU units
//	           ROOT/memory/berth/NAME  memory.limit_in_bytes = MemoryMiB
//	           ROOT/*/berth/NAME/ecs/TASKID   the tasks' cgroups, as cgroup.go makes them
//	cgroup v2: ROOT/berth/NAME         cpu.weight (CPU units as the runtime maps cpu.shares), memory.max
//
// The slice is made (or found again, by its name, and its limits written
// anew) when the agent starts, and removed by RemoveSlice once the instance
// is gone. The engine enforces it only with the cgroupfs driver: under
// systemd a parent must be a systemd slice, which berth does not make, and
// the agent then runs its tasks without one (Agent.SliceEnforced).
type Slice struct {
	// Name names the slice's cgroup: letters, digits, '-' and '_' (a
	// container instance ID).
	Name string
	// CPU is the instance's CPU units (1024 a CPU), its CPU weight.
	CPU int
	// MemoryMiB is the memory limit of all the instance's tasks together;
	// 0 leaves memory free.
	MemoryMiB int
}

// sliceParent is the cgroup the slices are made under.
const sliceParent = "/berth"

// slicePath is the cgroup path of the slice named name.
func slicePath(name string) string { return sliceParent + "/" + name }

// checkSlice checks what a slice is made of.
func checkSlice(s Slice) error {
	if err := checkTaskID(s.Name); err != nil {
		return fmt.Errorf("slice name: %w", err)
	}
	if s.CPU < 0 || s.MemoryMiB < 0 {
		return fmt.Errorf("slice %s: cpu %d and memory %d must not be negative", s.Name, s.CPU, s.MemoryMiB)
	}
	return nil
}

// v2Bases are the cgroups from the root down to base, whose
// cgroup.subtree_control must enable cpu and memory for the task cgroups
// below them.
func (c *cgroups) v2Bases() []string {
	out := []string{c.root}
	d := c.root
	for _, part := range strings.Split(strings.Trim(c.base, "/"), "/") {
		if part == "" {
			continue
		}
		d = filepath.Join(d, part)
		out = append(out, d)
	}
	return out
}

// createSlice makes the slice cgroup at base, or finds it again, and writes
// its limits.
func (c *cgroups) createSlice(s Slice) error {
	if c.driver == "systemd" {
		return errCgroupUnsupported
	}
	shares := max(s.CPU, 2) // the kernel's floor
	memory := int64(s.MemoryMiB) * mib
	if c.version == 2 {
		bases := c.v2Bases()
		dir := bases[len(bases)-1]
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create slice cgroup: %w", err)
		}
		for _, d := range bases[:len(bases)-1] {
			if err := writeFile(d, "cgroup.subtree_control", "+cpu +memory"); err != nil {
				return err
			}
		}
		if err := writeFile(dir, "cpu.weight", strconv.Itoa(cpuWeight(shares))); err != nil {
			return err
		}
		if memory > 0 {
			return writeFile(dir, "memory.max", strconv.FormatInt(memory, 10))
		}
		return nil
	}
	cpu := filepath.Join(c.root, "cpu", c.base)
	if err := os.MkdirAll(cpu, 0o755); err != nil {
		return fmt.Errorf("create slice cgroup: %w", err)
	}
	if err := writeFile(cpu, "cpu.shares", strconv.Itoa(shares)); err != nil {
		return err
	}
	if memory > 0 {
		dir := filepath.Join(c.root, "memory", c.base)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create slice cgroup: %w", err)
		}
		if err := writeFile(dir, "memory.limit_in_bytes", strconv.FormatInt(memory, 10)); err != nil {
			return err
		}
	}
	return nil
}

// cpuWeight maps cpu.shares to cgroup v2's cpu.weight as the OCI runtimes
// do, so that a slice weighs the same under either version.
func cpuWeight(shares int) int {
	return 1 + ((shares-2)*9999)/262142
}

// removeSlice removes the slice cgroup at base in every hierarchy the
// engine made it in, with the (empty) cgroup of its tasks' cgroups. A
// slice not there is removed already.
func (c *cgroups) removeSlice() error {
	var dirs []string
	if c.version == 2 {
		dirs = []string{filepath.Join(c.root, c.base)}
	} else {
		found, err := filepath.Glob(filepath.Join(c.root, "*", c.base))
		if err != nil {
			return err
		}
		dirs = found
	}
	var errs []error
	for _, d := range dirs {
		for _, dir := range []string{filepath.Join(d, "ecs"), d} {
			if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove slice cgroup: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// sliceExists reports whether any hierarchy holds the slice at base.
func (c *cgroups) sliceExists() bool {
	if c.version == 2 {
		_, err := os.Stat(filepath.Join(c.root, c.base))
		return err == nil
	}
	found, _ := filepath.Glob(filepath.Join(c.root, "*", c.base))
	return len(found) > 0
}

// CreateSliceCgroup makes the slice cgroup of s under root, whose
// hierarchies are of cgroup version (1 or 2), or finds it again and
// writes its limits anew. It is the work of `berth cgroup slice create`,
// which the agent runs through the engine when it cannot write the
// cgroups itself.
func CreateSliceCgroup(root string, version int, s Slice) error {
	if err := checkSlice(s); err != nil {
		return err
	}
	c, err := cgroupsAt(root, version, s.Name)
	if err != nil {
		return err
	}
	return c.createSlice(s)
}

// RemoveSliceCgroup removes the slice cgroup named name under root, which
// must hold no task any more. It is the work of `berth cgroup slice
// remove`.
func RemoveSliceCgroup(root string, version int, name string) error {
	if err := checkTaskID(name); err != nil {
		return fmt.Errorf("slice name: %w", err)
	}
	c, err := cgroupsAt(root, version, name)
	if err != nil {
		return err
	}
	return c.removeSlice()
}

// setUpSlice puts the agent's tasks under the slice of cfg.Slice, made
// (itself or through the engine) as the agent starts. A slice the host
// cannot have (the systemd driver) or that cannot be made leaves the
// tasks without one, which Logf says.
func (a *Agent) setUpSlice(ctx context.Context) {
	s := a.cfg.Slice
	if s == nil {
		return
	}
	if a.cgroups.driver == "systemd" {
		return // the caller says so, once for all its instances
	}
	a.cgroups.base = slicePath(s.Name)
	var err error
	if a.cgroups.viaEngine() {
		err = a.runCgroupHelper(ctx, "create-slice", "--cpu", strconv.Itoa(s.CPU), "--memory", strconv.Itoa(s.MemoryMiB), s.Name)
	} else {
		err = a.cgroups.createSlice(*s)
	}
	if err != nil {
		a.cgroups.base = ""
		a.cfg.Logf("container instance %s runs its tasks without a slice of the host (%s): %v", s.Name, slicePath(s.Name), err)
	}
}

// SliceEnforced reports whether the agent's tasks run under the slice of
// Config.Slice.
func (a *Agent) SliceEnforced() bool { return a.cgroups.base != "" }

// CgroupDriver is the engine's cgroup driver: cgroupfs or systemd.
func (a *Agent) CgroupDriver() string { return a.cgroups.driver }

// SliceExists reports whether the slice named name is on the host under
// root (empty for DefaultCgroupRoot), in any cgroup version's layout; it
// asks the engine nothing.
func SliceExists(root, name string) bool {
	if root == "" {
		root = DefaultCgroupRoot
	}
	v1, _ := filepath.Glob(filepath.Join(root, "*", sliceParent, name))
	_, err := os.Stat(filepath.Join(root, sliceParent, name, "cgroup.controllers"))
	return len(v1) > 0 || err == nil
}

// RemoveInstanceSlice removes the slice of cfg.Slice without running an
// agent: that of a container instance deregistered while no agent of it
// ran (a server that died before removing it). A slice not there is
// removed already.
func RemoveInstanceSlice(ctx context.Context, cfg Config) error {
	if cfg.Slice == nil {
		return errors.New("agent config: no Slice to remove")
	}
	if err := checkSlice(*cfg.Slice); err != nil {
		return err
	}
	a, _, err := newAgent(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.cancel()
	if a.cgroups.driver == "systemd" {
		return nil // never made
	}
	a.cgroups.base = slicePath(cfg.Slice.Name)
	return a.RemoveSlice(ctx)
}

// RemoveSlice removes the agent's slice (Config.Slice), once its tasks
// are gone: the container instance is no more. The agent must be closed.
func (a *Agent) RemoveSlice(ctx context.Context) error {
	if a.cgroups.base == "" || !a.cgroups.sliceExists() {
		return nil
	}
	if a.cgroups.viaEngine() {
		return a.runCgroupHelper(ctx, "remove-slice", a.cfg.Slice.Name)
	}
	return a.cgroups.removeSlice()
}
