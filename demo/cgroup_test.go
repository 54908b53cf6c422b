package demo

import (
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestReadCgroup(t *testing.T) {
	tests := []struct {
		name    string
		fs      fstest.MapFS
		want    CgroupLimits
		wantErr bool
	}{
		{
			name: "v1 with a memory limit, a reservation and a CPU quota",
			fs: fstest.MapFS{
				"memory/memory.limit_in_bytes":      file("67108864\n"),
				"memory/memory.soft_limit_in_bytes": file("33554432\n"),
				"memory/memory.usage_in_bytes":      file("1000\n"),
				"cpu/cpu.shares":                    file("512\n"),
				"cpu/cpu.cfs_quota_us":              file("50000\n"),
				"cpu/cpu.cfs_period_us":             file("100000\n"),
			},
			want: CgroupLimits{Version: 1, MemoryLimitBytes: 64 << 20, MemoryReservationBytes: 32 << 20, MemoryUsageBytes: 1000, CPUs: 0.5, CPUShares: 512},
		},
		{
			name: "v1 without limits reads as no limits",
			fs: fstest.MapFS{
				"memory/memory.limit_in_bytes":      file("9223372036854771712\n"),
				"memory/memory.soft_limit_in_bytes": file("9223372036854771712\n"),
				"cpu/cpu.shares":                    file("1024\n"),
				"cpu/cpu.cfs_quota_us":              file("-1\n"),
				"cpu/cpu.cfs_period_us":             file("100000\n"),
			},
			want: CgroupLimits{Version: 1, CPUShares: 1024},
		},
		{
			name: "v1 under a task cgroup with a lower memory limit",
			fs: fstest.MapFS{
				"memory/memory.limit_in_bytes": file("9223372036854771712\n"),
				"memory/memory.stat":           file("cache 0\nrss 4096\nhierarchical_memory_limit 536870912\nhierarchical_memsw_limit 9223372036854771712\n"),
				"cpu/cpu.shares":               file("2\n"),
			},
			want: CgroupLimits{Version: 1, InheritedMemoryLimitBytes: 512 << 20, CPUShares: 2},
		},
		{
			name: "v1 whose own memory limit is the lower one",
			fs: fstest.MapFS{
				"memory/memory.limit_in_bytes": file("67108864\n"),
				"memory/memory.stat":           file("hierarchical_memory_limit 67108864\n"),
			},
			want: CgroupLimits{Version: 1, MemoryLimitBytes: 64 << 20},
		},
		{
			name:    "v1 with an unreadable hierarchical limit",
			fs:      fstest.MapFS{"memory/memory.stat": file("hierarchical_memory_limit lots\n")},
			want:    CgroupLimits{Version: 1},
			wantErr: true,
		},
		{
			name: "v1 with a garbled file is an error naming it",
			fs: fstest.MapFS{
				"memory/memory.limit_in_bytes": file("lots\n"),
				"cpu/cpu.shares":               file("1024\n"),
			},
			want:    CgroupLimits{Version: 1, CPUShares: 1024},
			wantErr: true,
		},
		{
			name: "v2 with a memory limit and a CPU quota",
			fs: fstest.MapFS{
				"cgroup.controllers": file("cpu memory\n"),
				"memory.max":         file("134217728\n"),
				"memory.low":         file("0\n"),
				"memory.current":     file("2048\n"),
				"cpu.max":            file("150000 100000\n"),
				"cpu.weight":         file("100\n"),
			},
			want: CgroupLimits{Version: 2, MemoryLimitBytes: 128 << 20, MemoryUsageBytes: 2048, CPUs: 1.5, CPUWeight: 100},
		},
		{
			name: "v2 without limits reads as no limits",
			fs: fstest.MapFS{
				"cgroup.controllers": file("cpu memory\n"),
				"memory.max":         file("max\n"),
				"cpu.max":            file("max 100000\n"),
			},
			want: CgroupLimits{Version: 2},
		},
		{
			name: "v2 with a garbled cpu.max is an error",
			fs: fstest.MapFS{
				"cgroup.controllers": file(""),
				"cpu.max":            file("half\n"),
			},
			want:    CgroupLimits{Version: 2},
			wantErr: true,
		},
		{
			name: "no cgroup at all",
			fs:   fstest.MapFS{},
			want: CgroupLimits{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadCgroup(tt.fs)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ReadCgroup = %+v, %v; want %+v, error %t", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
