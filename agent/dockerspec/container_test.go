package dockerspec

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/berthdev/berth/taskdef"
)

func ptr[T any](v T) *T { return &v }

func TestTranslateTranslatesContainerDefinitions(t *testing.T) {
	tests := []struct {
		name  string
		plan  Plan
		check func(t *testing.T, cfg *container.Config, host *container.HostConfig)
	}{
		{
			name: "process fields go to the container config",
			plan: Plan{Def: &taskdef.ContainerDefinition{
				Name: "app", Image: "nginx", EntryPoint: []string{"/bin/sh", "-c"}, Command: []string{"run"},
				WorkingDirectory: "/srv", User: "1000:1000", Hostname: "web", StopTimeout: ptr(7),
			}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				want := container.Config{Image: "nginx", Entrypoint: []string{"/bin/sh", "-c"}, Cmd: []string{"run"}, WorkingDir: "/srv", User: "1000:1000", Hostname: "web", StopTimeout: ptr(7)}
				got := container.Config{Image: cfg.Image, Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, WorkingDir: cfg.WorkingDir, User: cfg.User, Hostname: cfg.Hostname, StopTimeout: cfg.StopTimeout}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got %+v, want %+v", got, want)
				}
			},
		},
		{
			name: "environment merges task, definition and override, later winning",
			plan: Plan{
				Def:         &taskdef.ContainerDefinition{Name: "app", Environment: []taskdef.KeyValuePair{{Name: "A", Value: "def"}, {Name: "B", Value: "def"}}},
				Env:         []taskdef.KeyValuePair{{Name: "META", Value: "task"}, {Name: "A", Value: "task"}},
				EnvOverride: []taskdef.KeyValuePair{{Name: "B", Value: "override"}},
				Command:     []string{"other"},
			},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if want := []string{"META=task", "A=def", "B=override"}; !reflect.DeepEqual(cfg.Env, want) {
					t.Errorf("env %q, want %q", cfg.Env, want)
				}
				if !reflect.DeepEqual([]string(cfg.Cmd), []string{"other"}) {
					t.Errorf("cmd %q, want the override's", cfg.Cmd)
				}
			},
		},
		{
			name: "memory is the hard limit, memoryReservation the soft one, cpu the shares",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app", Memory: ptr(256), MemoryReservation: ptr(128), CPU: 512}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if host.Memory != 256<<20 || host.MemoryReservation != 128<<20 || host.CPUShares != 512 {
					t.Errorf("memory %d reservation %d shares %d", host.Memory, host.MemoryReservation, host.CPUShares)
				}
			},
		},
		{
			name: "cpu below the kernel's minimum becomes 2 shares",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app"}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if host.CPUShares != 2 {
					t.Errorf("shares %d, want 2", host.CPUShares)
				}
			},
		},
		{
			name: "the task cgroup is the parent",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app"}, CgroupParent: "/ecs/abc"},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if host.CgroupParent != "/ecs/abc" {
					t.Errorf("cgroup parent %q", host.CgroupParent)
				}
			},
		},
		{
			name: "host options: privileged, read-only root, ulimits, dns, extra hosts, sysctls",
			plan: Plan{Def: &taskdef.ContainerDefinition{
				Name: "app", Privileged: ptr(true), ReadonlyRootFilesystem: ptr(true),
				Ulimits:    []taskdef.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}},
				DNSServers: []string{"10.0.0.2"}, DNSSearchDomains: []string{"corp"},
				ExtraHosts:     []taskdef.HostEntry{{Hostname: "db", IPAddress: "10.0.0.9"}},
				SystemControls: []taskdef.SystemControl{{Namespace: "net.core.somaxconn", Value: "1024"}},
			}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if !host.Privileged || !host.ReadonlyRootfs {
					t.Error("privileged and readonlyRootFilesystem must be set")
				}
				if len(host.Ulimits) != 1 || *host.Ulimits[0] != (container.Ulimit{Name: "nofile", Soft: 1024, Hard: 4096}) {
					t.Errorf("ulimits %+v", host.Ulimits)
				}
				if !reflect.DeepEqual(host.DNS, []string{"10.0.0.2"}) || !reflect.DeepEqual(host.DNSSearch, []string{"corp"}) {
					t.Errorf("dns %q search %q", host.DNS, host.DNSSearch)
				}
				if !reflect.DeepEqual(host.ExtraHosts, []string{"db:10.0.0.9"}) {
					t.Errorf("extra hosts %q", host.ExtraHosts)
				}
				if host.Sysctls["net.core.somaxconn"] != "1024" {
					t.Errorf("sysctls %v", host.Sysctls)
				}
			},
		},
		{
			name: "linuxParameters: capabilities, init, tmpfs, shared memory, swap",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app", Memory: ptr(100), LinuxParameters: &taskdef.LinuxParameters{
				Capabilities:       &taskdef.KernelCapabilities{Add: []string{"SYS_PTRACE"}, Drop: []string{"NET_RAW"}},
				InitProcessEnabled: ptr(true),
				Tmpfs:              []taskdef.Tmpfs{{ContainerPath: "/run", Size: 64, MountOptions: []string{"noexec"}}},
				SharedMemorySize:   ptr(128),
				MaxSwap:            ptr(50),
				Swappiness:         ptr(10),
			}}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if !reflect.DeepEqual([]string(host.CapAdd), []string{"SYS_PTRACE"}) || !reflect.DeepEqual([]string(host.CapDrop), []string{"NET_RAW"}) {
					t.Errorf("caps +%v -%v", host.CapAdd, host.CapDrop)
				}
				if host.Init == nil || !*host.Init {
					t.Error("init must be on")
				}
				if host.Tmpfs["/run"] != "size=64m,noexec" {
					t.Errorf("tmpfs %v", host.Tmpfs)
				}
				if host.ShmSize != 128<<20 || host.MemorySwap != 150<<20 || *host.MemorySwappiness != 10 {
					t.Errorf("shm %d swap %d swappiness %d", host.ShmSize, host.MemorySwap, *host.MemorySwappiness)
				}
			},
		},
		{
			name: "health check durations are seconds",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app", HealthCheck: &taskdef.HealthCheck{
				Command: []string{"CMD-SHELL", "curl -f localhost"}, Interval: ptr(10), Timeout: ptr(3), Retries: ptr(4), StartPeriod: ptr(20),
			}}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				want := &container.HealthConfig{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 10 * time.Second, Timeout: 3 * time.Second, Retries: 4, StartPeriod: 20 * time.Second}
				if !reflect.DeepEqual(cfg.Healthcheck, want) {
					t.Errorf("health %+v, want %+v", cfg.Healthcheck, want)
				}
			},
		},
		{
			name: "a log driver Docker cannot read back becomes json-file",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app", LogConfiguration: &taskdef.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"}}}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if host.LogConfig.Type != "json-file" || len(host.LogConfig.Config) != 0 {
					t.Errorf("log config %+v", host.LogConfig)
				}
			},
		},
		{
			name: "a local log driver keeps its options",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app", LogConfiguration: &taskdef.LogConfiguration{LogDriver: "local", Options: map[string]string{"max-size": "10m"}}}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if host.LogConfig.Type != "local" || host.LogConfig.Config["max-size"] != "10m" {
					t.Errorf("log config %+v", host.LogConfig)
				}
			},
		},
		{
			name: "bridge ports are published on the host address",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app"}, NetworkMode: "bridge", HostIP: "127.0.0.2",
				Ports: []PortBinding{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}, {ContainerPort: 53, HostPort: 49153, Protocol: "udp"}}},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				want := nat.PortMap{
					"80/tcp": {{HostIP: "127.0.0.2", HostPort: "8080"}},
					"53/udp": {{HostIP: "127.0.0.2", HostPort: "49153"}},
				}
				if !reflect.DeepEqual(host.PortBindings, want) || len(cfg.ExposedPorts) != 2 || host.NetworkMode != "bridge" {
					t.Errorf("mode %s bindings %v exposed %v", host.NetworkMode, host.PortBindings, cfg.ExposedPorts)
				}
			},
		},
		{
			name: "awsvpc joins the pause container's network",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app"}, NetworkMode: "awsvpc", Pause: "abc123"},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if host.NetworkMode != "container:abc123" || len(host.PortBindings) != 0 {
					t.Errorf("mode %s bindings %v", host.NetworkMode, host.PortBindings)
				}
			},
		},
		{
			name: "pid and ipc mode task join the pause container",
			plan: Plan{Def: &taskdef.ContainerDefinition{Name: "app"}, NetworkMode: "bridge", PidMode: "task", IpcMode: "task", Pause: "p"},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if host.PidMode != "container:p" || host.IpcMode != "container:p" {
					t.Errorf("pid %s ipc %s", host.PidMode, host.IpcMode)
				}
			},
		},
		{
			name: "mount points bind their volumes, read-only and scratch options included",
			plan: Plan{
				Def: &taskdef.ContainerDefinition{Name: "app",
					MountPoints: []taskdef.MountPoint{{SourceVolume: "host", ContainerPath: "/h", ReadOnly: ptr(true)}, {SourceVolume: "scratch", ContainerPath: "/s"}},
					VolumesFrom: []taskdef.VolumeFrom{{SourceContainer: "other", ReadOnly: ptr(true)}}},
				Volumes:     map[string]MountSource{"host": {Source: "/srv/data"}, "scratch": {Source: "ecs-t-scratch", NoCopy: true}},
				DockerNames: map[string]string{"other": "ecs-fam-1-other-aa"},
			},
			check: func(t *testing.T, cfg *container.Config, host *container.HostConfig) {
				if want := []string{"/srv/data:/h:ro", "ecs-t-scratch:/s:nocopy"}; !reflect.DeepEqual(host.Binds, want) {
					t.Errorf("binds %q, want %q", host.Binds, want)
				}
				if want := []string{"ecs-fam-1-other-aa:ro"}; !reflect.DeepEqual(host.VolumesFrom, want) {
					t.Errorf("volumesFrom %q, want %q", host.VolumesFrom, want)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, host, _, _, err := Translate(&tt.plan)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			tt.check(t, cfg, host)
		})
	}
}

func TestTranslateRefusesWhatDockerCannotDo(t *testing.T) {
	tests := []struct {
		name string
		plan Plan
		want string
	}{
		{"a hostname under awsvpc", Plan{Def: &taskdef.ContainerDefinition{Name: "app", Hostname: "h"}, NetworkMode: "awsvpc", Pause: "p"}, "hostname is not supported with networkMode awsvpc"},
		{"awsvpc without a pause container", Plan{Def: &taskdef.ContainerDefinition{Name: "app"}, NetworkMode: "awsvpc"}, "pause container"},
		{"a mount of an unknown volume", Plan{Def: &taskdef.ContainerDefinition{Name: "app", MountPoints: []taskdef.MountPoint{{SourceVolume: "nope", ContainerPath: "/x"}}}}, `mountPoints[0].sourceVolume "nope"`},
		{"volumesFrom an unknown container", Plan{Def: &taskdef.ContainerDefinition{Name: "app", VolumesFrom: []taskdef.VolumeFrom{{SourceContainer: "ghost"}}}}, `volumesFrom[0].sourceContainer "ghost"`},
		{"maxSwap without memory", Plan{Def: &taskdef.ContainerDefinition{Name: "app", LinuxParameters: &taskdef.LinuxParameters{MaxSwap: ptr(10)}}}, "maxSwap"},
		{"an unknown network mode", Plan{Def: &taskdef.ContainerDefinition{Name: "app"}, NetworkMode: "overlay"}, `networkMode "overlay"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, _, err := Translate(&tt.plan)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestPortMappingsExpandsRangesAndAsksForDynamicPorts(t *testing.T) {
	d := &taskdef.ContainerDefinition{Name: "app", PortMappings: []taskdef.PortMapping{
		{ContainerPort: ptr(80), HostPort: ptr(8080), Protocol: "tcp"},
		{ContainerPort: ptr(443)},
		{ContainerPortRange: "9000-9002", Protocol: "udp"},
	}}
	got, err := PortMappings(d)
	if err != nil {
		t.Fatal(err)
	}
	want := []PortBinding{
		{80, 8080, "tcp"}, {443, 0, "tcp"},
		{9000, 0, "udp"}, {9001, 0, "udp"}, {9002, 0, "udp"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := PortMappings(&taskdef.ContainerDefinition{Name: "x", PortMappings: []taskdef.PortMapping{{ContainerPortRange: "9-2"}}}); err == nil {
		t.Error("a reversed range must be refused")
	}
}
