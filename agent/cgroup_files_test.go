package agent

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
			c := &cgroups{root: root, version: tt.version, driver: "cgroupfs"}
			if err := c.create("T", tt.cpu, tt.memory); err != nil {
				t.Fatal(err)
			}
			for path, want := range tt.want {
				got, err := os.ReadFile(filepath.Join(root, path))
				if err != nil || string(got) != want {
					t.Errorf("%s: %q, %v; want %q", path, got, err, want)
				}
			}
			for _, path := range tt.absent {
				if _, err := os.Stat(filepath.Join(root, path)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s exists (%v); want none", path, err)
				}
			}
			if got := c.parent("T"); got != "/ecs/T" {
				t.Errorf("parent %q, want /ecs/T", got)
			}
		})
	}
}

func TestTaskCgroupsNeedTheCgroupfsDriver(t *testing.T) {
	c := &cgroups{root: t.TempDir(), version: 2, driver: "systemd"}
	if err := c.create("T", 256, 512); !errors.Is(err, errCgroupUnsupported) {
		t.Errorf("create under the systemd driver: %v, want errCgroupUnsupported", err)
	}
}
