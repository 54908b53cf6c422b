package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The files a task cgroup is made of, written into a directory standing in
// for /sys/fs/cgroup, for both cgroup versions: the engine of the
// integration tests has only one of them.
func TestTaskCgroupFiles(t *testing.T) {
	tests := []struct {
		name        string
		version     int
		cpu, memory int
		want        map[string]string // path under the root → content
		absent      []string
	}{
		{"v1: a quarter CPU and 512 MiB", 1, 256, 512, map[string]string{
			"cpu/ecs/T/cpu.cfs_period_us":        "100000",
			"cpu/ecs/T/cpu.cfs_quota_us":         "25000",
			"memory/ecs/T/memory.limit_in_bytes": "536870912",
		}, nil},
		{"v1: memory alone makes no cpu cgroup", 1, 0, 512, map[string]string{
			"memory/ecs/T/memory.limit_in_bytes": "536870912",
		}, []string{"cpu/ecs/T"}},
		{"v1: a CPU quota is at least the kernel's floor of 1 ms", 1, 1, 0, map[string]string{
			"cpu/ecs/T/cpu.cfs_quota_us": "1000",
		}, []string{"memory/ecs/T"}},
		{"v2: two CPUs and 1 GiB, controllers enabled down to the task", 2, 2048, 1024, map[string]string{
			"cgroup.subtree_control":       "+cpu +memory",
			"ecs/cgroup.subtree_control":   "+cpu +memory",
			"ecs/T/cgroup.subtree_control": "+cpu +memory",
			"ecs/T/cpu.max":                "200000 100000",
			"ecs/T/memory.max":             "1073741824",
		}, nil},
		{"v2: cpu alone writes no memory limit", 2, 512, 0, map[string]string{
			"ecs/T/cpu.max": "50000 100000",
		}, []string{"ecs/T/memory.max"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			c := &Tree{Root: root, Version: tt.version, Driver: "cgroupfs"}
			if err := c.Create("T", tt.cpu, tt.memory); err != nil {
				t.Fatal(err)
			}
			checkFiles(t, root, tt.want, tt.absent)
			if got := c.Parent("T"); got != "/ecs/T" {
				t.Errorf("parent %q, want /ecs/T", got)
			}
		})
	}
}

func TestTaskCgroupsNeedTheCgroupfsDriver(t *testing.T) {
	c := &Tree{Root: t.TempDir(), Version: 2, Driver: "systemd"}
	if err := c.Create("T", 256, 512); !errors.Is(err, ErrUnsupported) {
		t.Errorf("create under the systemd driver: %v, want ErrUnsupported", err)
	}
}

// The files a container instance's slice is made of, and those of a task
// cgroup inside it, for both cgroup versions.
func TestSliceCgroupFiles(t *testing.T) {
	tests := []struct {
		name    string
		version int
		slice   Slice
		want    map[string]string // path under the root → content
		absent  []string
	}{
		{"v1: CPU units are the weight, memory the limit", 1, Slice{Name: "I", CPU: 2048, MemoryMiB: 4096}, map[string]string{
			"cpu/berth/I/cpu.shares":                     "2048",
			"memory/berth/I/memory.limit_in_bytes":       "4294967296",
			"cpu/berth/I/ecs/T/cpu.cfs_quota_us":         "25000",
			"memory/berth/I/ecs/T/memory.limit_in_bytes": "536870912",
		}, nil},
		{"v1: no memory registered leaves memory free", 1, Slice{Name: "I", CPU: 1}, map[string]string{
			"cpu/berth/I/cpu.shares": "2",
		}, []string{"memory/berth/I/memory.limit_in_bytes"}},
		{"v2: the weight as the runtime maps shares, controllers enabled down to the task", 2, Slice{Name: "I", CPU: 1024, MemoryMiB: 512}, map[string]string{
			"cgroup.subtree_control":         "+cpu +memory",
			"berth/cgroup.subtree_control":   "+cpu +memory",
			"berth/I/cgroup.subtree_control": "+cpu +memory",
			"berth/I/cpu.weight":             "39",
			"berth/I/memory.max":             "536870912",
			"berth/I/ecs/T/cpu.max":          "25000 100000",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			c, err := At(root, tt.version, tt.slice.Name)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.CreateSlice(tt.slice); err != nil {
				t.Fatal(err)
			}
			if err := c.Create("T", 256, 512); err != nil {
				t.Fatal(err)
			}
			checkFiles(t, root, tt.want, tt.absent)
			if got := c.Parent("T"); got != "/berth/I/ecs/T" {
				t.Errorf("parent %q, want /berth/I/ecs/T", got)
			}
		})
	}
}

func TestSliceNamesAreChecked(t *testing.T) {
	for _, s := range []Slice{{Name: ""}, {Name: "../x"}, {Name: "a/b"}, {Name: "ok", CPU: -1}} {
		if err := CreateSliceCgroup(t.TempDir(), 1, s); err == nil {
			t.Errorf("slice %+v was made", s)
		}
	}
}

// checkFiles checks the files under root: those of want hold what it
// says, those of absent are not there.
func checkFiles(t *testing.T, root string, want map[string]string, absent []string) {
	t.Helper()
	for path, content := range want {
		got, err := os.ReadFile(filepath.Join(root, path))
		if err != nil || string(got) != content {
			t.Errorf("%s: %q, %v; want %q", path, got, err, content)
		}
	}
	for _, path := range absent {
		if _, err := os.Stat(filepath.Join(root, path)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists (%v); want none", path, err)
		}
	}
}
