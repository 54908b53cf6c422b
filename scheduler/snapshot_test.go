package scheduler

import (
	"slices"
	"testing"
)

func TestConsumptionAccountsAsECSDoes(t *testing.T) {
	tests := []struct {
		name       string
		cpu, mem   int
		mode       string
		containers []Container
		want       Resources
	}{
		{
			name: "task-level cpu and memory win over the containers'",
			cpu:  1024, mem: 2048, mode: "bridge",
			containers: []Container{{CPU: 128, Memory: 256}, {CPU: 128, Memory: 256}},
			want:       Resources{CPU: 1024, MemoryMiB: 2048},
		},
		{
			name: "without task-level values the containers add up, reservation before limit",
			mode: "bridge",
			containers: []Container{
				{CPU: 256, Memory: 512, MemoryReservation: 128},
				{CPU: 128, Memory: 300},
			},
			want: Resources{CPU: 384, MemoryMiB: 428},
		},
		{
			name: "bridge mode counts static host ports and not dynamic ones",
			mode: "bridge", mem: 512,
			containers: []Container{{PortMappings: []PortMapping{
				{ContainerPort: 80, HostPort: 8080},
				{ContainerPort: 443},
				{ContainerPort: 53, HostPort: 53, Protocol: "udp"},
			}}},
			want: Resources{MemoryMiB: 512, TCPPorts: []uint16{8080}, UDPPorts: []uint16{53}},
		},
		{
			name: "host mode holds the container port on the host",
			mode: "host", mem: 512,
			containers: []Container{{PortMappings: []PortMapping{{ContainerPort: 9000}}}},
			want:       Resources{MemoryMiB: 512, TCPPorts: []uint16{9000}},
		},
		{
			name: "awsvpc mode holds no host ports: the task has its own interface",
			mode: "awsvpc", cpu: 256, mem: 512,
			containers: []Container{{PortMappings: []PortMapping{{ContainerPort: 80, HostPort: 80}}}},
			want:       Resources{CPU: 256, MemoryMiB: 512, ENIs: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Consumption(tt.cpu, tt.mem, tt.mode, tt.containers)
			if got.CPU != tt.want.CPU || got.MemoryMiB != tt.want.MemoryMiB || got.ENIs != tt.want.ENIs ||
				!slices.Equal(got.TCPPorts, tt.want.TCPPorts) || !slices.Equal(got.UDPPorts, tt.want.UDPPorts) {
				t.Errorf("Consumption = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSnapshotRemainingSubtractsTasksAndGivesThemBack(t *testing.T) {
	s := snapshot(t, instance("one", "a", 2048, 4096, running("family:x", 512, 1024, 8080)))
	arn := arnPrefix + "one"
	check := func(step string, cpu, mem int, ports []uint16) {
		t.Helper()
		r, ok := s.Remaining(arn)
		if !ok || r.CPU != cpu || r.MemoryMiB != mem || !slices.Equal(r.TCPPorts, ports) {
			t.Errorf("%s: remaining = %+v, want cpu %d, memory %d, ports %v", step, r, cpu, mem, ports)
		}
	}
	check("registered with one task", 1536, 3072, []uint16{22, 2375, 2376, 8080, 51678, 51679})

	if err := s.AddTask(arn, Task{ARN: "t2", Group: "family:x", Needs: Resources{CPU: 1024, MemoryMiB: 1024, TCPPorts: []uint16{9090}}}); err != nil {
		t.Fatal(err)
	}
	check("after adding a task", 512, 2048, []uint16{22, 2375, 2376, 8080, 9090, 51678, 51679})

	if err := s.AddTask(arn, Task{ARN: "t2", Group: "family:x"}); err == nil {
		t.Error("adding the same task twice succeeded")
	}
	if err := s.AddTask(arnPrefix+"nowhere", Task{ARN: "t3"}); err == nil {
		t.Error("adding a task to an unknown instance succeeded")
	}

	if !s.RemoveTask("t2") {
		t.Fatal("RemoveTask(t2) = false")
	}
	check("after removing it", 1536, 3072, []uint16{22, 2375, 2376, 8080, 51678, 51679})
	if s.RemoveTask("t2") {
		t.Error("removing a task twice succeeded")
	}
}

func TestNewSnapshotRejectsInconsistentInput(t *testing.T) {
	tooMany := make([]uint16, MaxReservedPorts+1)
	for i := range tooMany {
		tooMany[i] = uint16(1000 + i)
	}
	tests := map[string][]Instance{
		"the same instance twice": {instance("one", "a", 1, 1), instance("one", "a", 1, 1)},
		"more than 100 reserved ports": {instance("one", "a", 1, 1, func(in *Instance) {
			in.Registered.TCPPorts = tooMany
		})},
		"the same task on two instances": {
			instance("one", "a", 1, 1, func(in *Instance) { in.Tasks = []Task{{ARN: "t"}} }),
			instance("two", "a", 1, 1, func(in *Instance) { in.Tasks = []Task{{ARN: "t"}} }),
		},
	}
	for name, instances := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewSnapshot(instances); err == nil {
				t.Error("NewSnapshot succeeded")
			}
		})
	}
}

func TestSnapshotKeepsItsOwnCopyOfTheTaskLists(t *testing.T) {
	in := instance("one", "a", 2048, 4096, running("family:x", 512, 1024))
	s := snapshot(t, in)
	in.Tasks[0].Needs.CPU = 2048
	if r, _ := s.Remaining(in.ARN); r.CPU != 1536 {
		t.Errorf("remaining CPU = %d after the caller changed its slice, want 1536", r.CPU)
	}
}
