package demo

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// CgroupLimits are the resource limits the engine put on this container, as
// its cgroup shows them. A zero limit means none.
type CgroupLimits struct {
	Version          int   `json:"version"` // 1 or 2; 0 when no cgroup was readable
	MemoryLimitBytes int64 `json:"memoryLimitBytes,omitempty"`
	// InheritedMemoryLimitBytes is a lower limit set on a cgroup above the
	// container's, such as an ECS task's memory (cgroup v1 shows it as
	// hierarchical_memory_limit; v2 hides the cgroups above). Zero when
	// there is none or it cannot be seen.
	InheritedMemoryLimitBytes int64   `json:"inheritedMemoryLimitBytes,omitempty"`
	MemoryReservationBytes    int64   `json:"memoryReservationBytes,omitempty"`
	MemoryUsageBytes          int64   `json:"memoryUsageBytes,omitempty"`
	CPUs                      float64 `json:"cpus,omitempty"`      // CFS quota over period
	CPUShares                 int64   `json:"cpuShares,omitempty"` // cgroup v1
	CPUWeight                 int64   `json:"cpuWeight,omitempty"` // cgroup v2
}

// unlimitedV1 is where cgroup v1 puts "no limit": the largest page-aligned
// int64, which no machine has.
const unlimitedV1 = 1 << 62

// ReadCgroup reads the limits from fsys, the container's /sys/fs/cgroup.
// Files that are absent leave their field zero; a file that is present but
// unreadable as a number is an error naming it.
func ReadCgroup(fsys fs.FS) (CgroupLimits, error) {
	if _, err := fs.Stat(fsys, "cgroup.controllers"); err == nil {
		return readCgroupV2(fsys)
	}
	if _, err := fs.Stat(fsys, "memory"); err == nil {
		return readCgroupV1(fsys)
	}
	if _, err := fs.Stat(fsys, "cpu"); err == nil {
		return readCgroupV1(fsys)
	}
	return CgroupLimits{}, nil
}

func readCgroupV1(fsys fs.FS) (CgroupLimits, error) {
	l := CgroupLimits{Version: 1}
	var errs []error
	read := func(name string, dst *int64) {
		v, ok, err := readInt(fsys, name)
		if err != nil {
			errs = append(errs, err)
		}
		if ok && v < unlimitedV1 {
			*dst = v
		}
	}
	read("memory/memory.limit_in_bytes", &l.MemoryLimitBytes)
	read("memory/memory.soft_limit_in_bytes", &l.MemoryReservationBytes)
	read("memory/memory.usage_in_bytes", &l.MemoryUsageBytes)
	read("cpu/cpu.shares", &l.CPUShares)
	if v, ok, err := readStat(fsys, "memory/memory.stat", "hierarchical_memory_limit"); err != nil {
		errs = append(errs, err)
	} else if ok && v < unlimitedV1 && (l.MemoryLimitBytes == 0 || v < l.MemoryLimitBytes) {
		l.InheritedMemoryLimitBytes = v
	}
	var quota, period int64
	read("cpu/cpu.cfs_quota_us", &quota) // -1 when there is no quota
	read("cpu/cpu.cfs_period_us", &period)
	if quota > 0 && period > 0 {
		l.CPUs = float64(quota) / float64(period)
	}
	return l, errors.Join(errs...)
}

func readCgroupV2(fsys fs.FS) (CgroupLimits, error) {
	l := CgroupLimits{Version: 2}
	var errs []error
	read := func(name string, dst *int64) {
		v, ok, err := readInt(fsys, name) // "max" reads as absent
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			*dst = v
		}
	}
	read("memory.max", &l.MemoryLimitBytes)
	read("memory.low", &l.MemoryReservationBytes)
	read("memory.current", &l.MemoryUsageBytes)
	read("cpu.weight", &l.CPUWeight)
	if b, err := fs.ReadFile(fsys, "cpu.max"); err == nil {
		// "QUOTA PERIOD", QUOTA being "max" when there is none.
		f := strings.Fields(string(b))
		if len(f) != 2 {
			errs = append(errs, fmt.Errorf("cgroup file cpu.max: want \"QUOTA PERIOD\", got %q", strings.TrimSpace(string(b))))
		} else if f[0] != "max" {
			quota, err1 := strconv.ParseInt(f[0], 10, 64)
			period, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 != nil || err2 != nil || period <= 0 {
				errs = append(errs, fmt.Errorf("cgroup file cpu.max: want \"QUOTA PERIOD\", got %q", strings.TrimSpace(string(b))))
			} else {
				l.CPUs = float64(quota) / float64(period)
			}
		}
	}
	return l, errors.Join(errs...)
}

// readInt reads a file holding one integer. ok is false when the file is
// absent or says "max".
func readInt(fsys fs.FS, name string) (v int64, ok bool, err error) {
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cgroup file %s: %w", name, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, false, nil
	}
	v, err = strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("cgroup file %s: want an integer, got %q", name, s)
	}
	return v, true, nil
}

// readStat reads the value of key from a cgroup v1 stat file of "KEY VALUE"
// lines. ok is false when the file or the key is absent.
func readStat(fsys fs.FS, name, key string) (v int64, ok bool, err error) {
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cgroup file %s: %w", name, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, value, found := strings.Cut(line, " ")
		if !found || k != key {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return 0, false, fmt.Errorf("cgroup file %s: %s: want an integer, got %q", name, key, value)
		}
		return v, true, nil
	}
	return 0, false, nil
}
