package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TaskCgroupLimits are the hard limits written on a task's cgroup; a zero
// value is no limit.
type TaskCgroupLimits struct {
	CPUQuotaMicros, CPUPeriodMicros int64
	MemoryLimitBytes                int64
}

// ReadTaskCgroup reads back the limits of a task's cgroup, at path (its
// containers' cgroup parent: /ecs/TASKID, or /berth/INSTANCE/ecs/TASKID in
// a container instance's slice) under root, whose hierarchies are of cgroup
// version (1 or 2): what the kernel enforces on all of the task's
// containers together. A task without a cgroup has none (fs.ErrNotExist).
func ReadTaskCgroup(root string, version int, path string) (TaskCgroupLimits, error) {
	if !strings.HasPrefix(path, "/") || filepath.Clean(path) != path || strings.Contains(path, "..") {
		return TaskCgroupLimits{}, fmt.Errorf("cgroup path %q: want a clean absolute path under the cgroup root", path)
	}
	var l TaskCgroupLimits
	if version == 2 {
		dir := filepath.Join(root, path)
		cpuMax, err := readCgroupFile(dir, "cpu.max")
		if err != nil {
			return l, err
		}
		if quota, period, ok := strings.Cut(cpuMax, " "); ok && quota != "max" {
			if l.CPUQuotaMicros, err = strconv.ParseInt(quota, 10, 64); err != nil {
				return l, fmt.Errorf("%s/cpu.max: %w", dir, err)
			}
			if l.CPUPeriodMicros, err = strconv.ParseInt(period, 10, 64); err != nil {
				return l, fmt.Errorf("%s/cpu.max: %w", dir, err)
			}
		}
		memMax, err := readCgroupFile(dir, "memory.max")
		if err != nil {
			return l, err
		}
		if memMax != "max" {
			if l.MemoryLimitBytes, err = strconv.ParseInt(memMax, 10, 64); err != nil {
				return l, fmt.Errorf("%s/memory.max: %w", dir, err)
			}
		}
		return l, nil
	}
	// Version 1: a hierarchy holds the task's cgroup only if the task has
	// a limit of that kind.
	found := false
	for _, f := range []struct {
		dir, name string
		dst       *int64
	}{
		{filepath.Join(root, "cpu", path), "cpu.cfs_quota_us", &l.CPUQuotaMicros},
		{filepath.Join(root, "cpu", path), "cpu.cfs_period_us", &l.CPUPeriodMicros},
		{filepath.Join(root, "memory", path), "memory.limit_in_bytes", &l.MemoryLimitBytes},
	} {
		s, err := readCgroupFile(f.dir, f.name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return l, err
		}
		found = true
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return l, fmt.Errorf("%s/%s: %w", f.dir, f.name, err)
		}
		if v > 0 && v < unlimitedV1 {
			*f.dst = v
		}
	}
	if !found {
		return l, fmt.Errorf("no cgroup %s under %s: %w", path, root, fs.ErrNotExist)
	}
	if l.CPUQuotaMicros == 0 {
		l.CPUPeriodMicros = 0
	}
	return l, nil
}

// unlimitedV1 is where cgroup v1 puts "no limit": beyond any machine.
const unlimitedV1 = 1 << 62

func readCgroupFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("read cgroup file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
