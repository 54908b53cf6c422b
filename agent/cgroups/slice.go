package cgroups

import (
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
//	           ROOT/*/berth/NAME/ecs/TASKID   the tasks' cgroups, as cgroups.go makes them
//	cgroup v2: ROOT/berth/NAME         cpu.weight (CPU units as the runtime maps cpu.shares), memory.max
//
// The slice is made (or found again, by its name, and its limits written
// anew) when the agent starts, and removed by RemoveSlice once the instance
// is gone. The engine enforces it only with the cgroupfs driver: under
// systemd a parent must be a systemd slice, which berth does not make, and
// the agent then runs its tasks without one (agent.Agent.SliceEnforced).
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

// SlicePath is the cgroup path of the slice named name.
func SlicePath(name string) string { return sliceParent + "/" + name }

// CheckSlice checks what a slice is made of.
func CheckSlice(s Slice) error {
	if err := CheckName(s.Name); err != nil {
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
func (c *Tree) v2Bases() []string {
	out := []string{c.Root}
	d := c.Root
	for _, part := range strings.Split(strings.Trim(c.Base, "/"), "/") {
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
func (c *Tree) CreateSlice(s Slice) error {
	if c.Driver == "systemd" {
		return ErrUnsupported
	}
	shares := max(s.CPU, 2) // the kernel's floor
	memory := int64(s.MemoryMiB) * mib
	if c.Version == 2 {
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
	cpu := filepath.Join(c.Root, "cpu", c.Base)
	if err := os.MkdirAll(cpu, 0o755); err != nil {
		return fmt.Errorf("create slice cgroup: %w", err)
	}
	if err := writeFile(cpu, "cpu.shares", strconv.Itoa(shares)); err != nil {
		return err
	}
	if memory > 0 {
		dir := filepath.Join(c.Root, "memory", c.Base)
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
func (c *Tree) RemoveSlice() error {
	var dirs []string
	if c.Version == 2 {
		dirs = []string{filepath.Join(c.Root, c.Base)}
	} else {
		found, err := filepath.Glob(filepath.Join(c.Root, "*", c.Base))
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
func (c *Tree) HasSlice() bool {
	if c.Version == 2 {
		_, err := os.Stat(filepath.Join(c.Root, c.Base))
		return err == nil
	}
	found, _ := filepath.Glob(filepath.Join(c.Root, "*", c.Base))
	return len(found) > 0
}

// CreateSliceCgroup makes the slice cgroup of s under root, whose
// hierarchies are of cgroup version (1 or 2), or finds it again and
// writes its limits anew. It is the work of `berth cgroup slice create`,
// which the agent runs through the engine when it cannot write the
// cgroups itself.
func CreateSliceCgroup(root string, version int, s Slice) error {
	if err := CheckSlice(s); err != nil {
		return err
	}
	c, err := At(root, version, s.Name)
	if err != nil {
		return err
	}
	return c.CreateSlice(s)
}

// RemoveSliceCgroup removes the slice cgroup named name under root, which
// must hold no task any more. It is the work of `berth cgroup slice
// remove`.
func RemoveSliceCgroup(root string, version int, name string) error {
	if err := CheckName(name); err != nil {
		return fmt.Errorf("slice name: %w", err)
	}
	c, err := At(root, version, name)
	if err != nil {
		return err
	}
	return c.RemoveSlice()
}

// SliceExists reports whether the slice named name is on the host under
// root (empty for DefaultRoot), in any cgroup version's layout; it
// asks the engine nothing.
func SliceExists(root, name string) bool {
	if root == "" {
		root = DefaultRoot
	}
	v1, _ := filepath.Glob(filepath.Join(root, "*", sliceParent, name))
	_, err := os.Stat(filepath.Join(root, sliceParent, name, "cgroup.controllers"))
	return len(v1) > 0 || err == nil
}
