package agent_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthdev/berth/agent"
)

func TestReadTaskCgroupReadsBackTheTasksHardLimits(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name    string
		version int
		files   map[string]string
		want    agent.TaskCgroupLimits
		wantErr error
	}{
		{"v1, cpu and memory", 1, map[string]string{
			"cpu/ecs/" + id + "/cpu.cfs_quota_us": "25000\n", "cpu/ecs/" + id + "/cpu.cfs_period_us": "100000\n",
			"memory/ecs/" + id + "/memory.limit_in_bytes": "536870912\n"},
			agent.TaskCgroupLimits{CPUQuotaMicros: 25000, CPUPeriodMicros: 100000, MemoryLimitBytes: 512 << 20}, nil},
		{"v1, memory only", 1, map[string]string{"memory/ecs/" + id + "/memory.limit_in_bytes": "536870912\n"},
			agent.TaskCgroupLimits{MemoryLimitBytes: 512 << 20}, nil},
		{"v1, no limit is no limit", 1, map[string]string{
			"cpu/ecs/" + id + "/cpu.cfs_quota_us": "-1\n", "cpu/ecs/" + id + "/cpu.cfs_period_us": "100000\n",
			"memory/ecs/" + id + "/memory.limit_in_bytes": "9223372036854771712\n"}, agent.TaskCgroupLimits{}, nil},
		{"v2", 2, map[string]string{"ecs/" + id + "/cpu.max": "50000 100000\n", "ecs/" + id + "/memory.max": "1073741824\n"},
			agent.TaskCgroupLimits{CPUQuotaMicros: 50000, CPUPeriodMicros: 100000, MemoryLimitBytes: 1 << 30}, nil},
		{"v2 without limits", 2, map[string]string{"ecs/" + id + "/cpu.max": "max 100000\n", "ecs/" + id + "/memory.max": "max\n"},
			agent.TaskCgroupLimits{}, nil},
		{"no cgroup", 1, nil, agent.TaskCgroupLimits{}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, body := range tt.files {
				path := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := agent.ReadTaskCgroup(root, tt.version, "/ecs/"+id)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	// A task in a container instance's slice has its cgroup inside it.
	root := t.TempDir()
	slice := filepath.Join(root, "memory", "berth", "i1", "ecs", id)
	if err := os.MkdirAll(slice, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(slice, "memory.limit_in_bytes"), []byte("536870912\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := agent.ReadTaskCgroup(root, 1, "/berth/i1/ecs/"+id); err != nil || got.MemoryLimitBytes != 512<<20 {
		t.Errorf("in a slice: %+v, %v", got, err)
	}
	for _, path := range []string{"/ecs/../../etc", "ecs/" + id, "/ecs//" + id, ""} {
		if _, err := agent.ReadTaskCgroup(t.TempDir(), 1, path); err == nil {
			t.Errorf("cgroup path %q was taken", path)
		}
	}
}
