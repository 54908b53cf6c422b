package scheduler

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const arnPrefix = "arn:aws:ecs:us-east-1:123456789012:container-instance/default/"

// instance builds an ACTIVE, connected instance in zone az.
func instance(id, az string, cpu, mem int, opts ...func(*Instance)) Instance {
	in := Instance{
		ARN:            arnPrefix + id,
		EC2InstanceID:  "i-" + id,
		Status:         StatusActive,
		AgentConnected: true,
		AgentVersion:   "1.80.0",
		Attributes: map[string]string{
			AttrAvailabilityZone: az,
			AttrInstanceType:     "m5.large",
			AttrOSType:           "linux",
			AttrCPUArchitecture:  "x86_64",
		},
		Registered: Resources{CPU: cpu, MemoryMiB: mem, TCPPorts: DefaultReservedPorts},
	}
	for _, o := range opts {
		o(&in)
	}
	return in
}

func running(group string, cpu, mem int, ports ...uint16) func(*Instance) {
	return func(in *Instance) {
		in.Tasks = append(in.Tasks, Task{
			ARN:   in.ARN + "/task" + string(rune('a'+len(in.Tasks))),
			Group: group,
			Needs: Resources{CPU: cpu, MemoryMiB: mem, TCPPorts: ports},
		})
	}
}

func withAttr(name, value string) func(*Instance) {
	return func(in *Instance) { in.Attributes[name] = value }
}

func withStatus(s Status) func(*Instance) { return func(in *Instance) { in.Status = s } }

func disconnected(in *Instance) { in.AgentConnected = false }

func snapshot(t testing.TB, instances ...Instance) *Snapshot {
	t.Helper()
	s, err := NewSnapshot(instances)
	if err != nil {
		t.Fatalf("NewSnapshot: %v", err)
	}
	return s
}

func policy(t testing.TB, constraints []Constraint, strategies []Strategy, kind Kind) *Policy {
	t.Helper()
	p, err := Compile(nil, constraints, strategies, kind)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func ids(arns []string) []string {
	out := make([]string, len(arns))
	for i, a := range arns {
		out[i] = strings.TrimPrefix(a, arnPrefix)
	}
	return out
}

func place(t testing.TB, s *Snapshot, req Request) Decision {
	t.Helper()
	if req.Group == "" {
		req.Group = "family:web"
	}
	if req.Count == 0 {
		req.Count = 1
	}
	d, err := Place(s, req)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	return d
}

func TestStrategiesChooseTheInstanceECSWould(t *testing.T) {
	tests := []struct {
		name       string
		instances  []Instance
		strategies []Strategy
		kind       Kind
		needs      Resources
		count      int
		want       []string
		// anyOrder accepts the placements in any order: instances that tie
		// on every strategy are chosen at random.
		anyOrder bool
	}{
		{
			name: "binpack on memory chooses the fullest instance that fits",
			instances: []Instance{
				instance("roomy", "a", 4096, 8192),
				instance("fullest-fit", "a", 4096, 8192, running("family:x", 0, 7600)),
				instance("too-full", "a", 4096, 8192, running("family:x", 0, 7900)),
			},
			strategies: []Strategy{{Type: Binpack, Field: "memory"}},
			needs:      Resources{CPU: 256, MemoryMiB: 512},
			want:       []string{"fullest-fit"},
		},
		{
			name: "binpack on cpu chooses the instance with the least CPU left",
			instances: []Instance{
				instance("idle", "a", 4096, 8192),
				instance("busy", "a", 4096, 8192, running("family:x", 3584, 0)),
			},
			strategies: []Strategy{{Type: Binpack, Field: "cpu"}},
			needs:      Resources{CPU: 512, MemoryMiB: 512},
			count:      2,
			want:       []string{"busy", "idle"},
		},
		{
			name: "binpack keeps filling one instance across a request",
			instances: []Instance{
				instance("one", "a", 2048, 8192),
				instance("two", "a", 2048, 8192, running("family:x", 256, 0)),
			},
			strategies: []Strategy{{Type: Binpack, Field: "cpu"}},
			needs:      Resources{CPU: 512, MemoryMiB: 128},
			count:      4,
			want:       []string{"two", "two", "two", "one"},
		},
		{
			name: "spread on instanceId puts one task on each instance first",
			instances: []Instance{
				instance("one", "a", 4096, 8192, running("family:web", 256, 256)),
				instance("two", "a", 4096, 8192),
				instance("three", "a", 4096, 8192),
			},
			strategies: []Strategy{{Type: Spread, Field: "instanceId"}},
			needs:      Resources{CPU: 256, MemoryMiB: 256},
			count:      2,
			want:       []string{"three", "two"},
			anyOrder:   true,
		},
		{
			name: "spread counts only the task's own group",
			instances: []Instance{
				instance("one", "a", 4096, 8192, running("family:other", 256, 256), running("family:other", 256, 256)),
				instance("two", "a", 4096, 8192, running("family:web", 256, 256)),
			},
			strategies: []Strategy{{Type: Spread, Field: "host"}},
			needs:      Resources{CPU: 256, MemoryMiB: 256},
			want:       []string{"one"},
		},
		{
			name: "spread across zones then binpack on memory within the zone",
			instances: []Instance{
				instance("a-roomy", "us-east-1a", 4096, 8192, running("family:web", 256, 256)),
				instance("b-roomy", "us-east-1b", 4096, 8192),
				instance("b-full", "us-east-1b", 4096, 8192, running("family:x", 0, 7000)),
			},
			strategies: []Strategy{
				{Type: Spread, Field: "attribute:ecs.availability-zone"},
				{Type: Binpack, Field: "memory"},
			},
			needs: Resources{CPU: 256, MemoryMiB: 512},
			want:  []string{"b-full"},
		},
		{
			name: "a service spreads over availability zones by default",
			instances: []Instance{
				instance("a1", "us-east-1a", 4096, 8192, running("family:web", 256, 256)),
				instance("a2", "us-east-1a", 4096, 8192),
				instance("b1", "us-east-1b", 4096, 8192),
			},
			kind:  ServiceTasks,
			needs: Resources{CPU: 256, MemoryMiB: 256},
			want:  []string{"b1"},
		},
		{
			name: "spread on a custom attribute evens out its values",
			instances: []Instance{
				instance("rack1", "a", 4096, 8192, withAttr("rack", "r1"), running("family:web", 1, 1)),
				instance("rack2", "a", 4096, 8192, withAttr("rack", "r2"), running("family:web", 1, 1)),
				instance("rack3", "a", 4096, 8192, withAttr("rack", "r3")),
			},
			strategies: []Strategy{{Type: Spread, Field: "attribute:rack"}},
			needs:      Resources{CPU: 1, MemoryMiB: 1},
			want:       []string{"rack3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshot(t, tt.instances...)
			d := place(t, s, Request{
				Needs:  tt.needs,
				Count:  max(tt.count, 1),
				Policy: policy(t, nil, tt.strategies, tt.kind),
			})
			got := ids(d.Placements)
			if tt.anyOrder {
				slices.Sort(got)
				tt.want = slices.Sorted(slices.Values(tt.want))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("placed on %v, want %v (failures %v)", got, tt.want, d.Failures)
			}
		})
	}
}

func TestSpreadAcrossThreeZonesPlacesTwoTasksInEach(t *testing.T) {
	var instances []Instance
	for _, az := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		for _, n := range []string{"1", "2"} {
			instances = append(instances, instance(az+"-"+n, az, 4096, 8192))
		}
	}
	s := snapshot(t, instances...)
	d := place(t, s, Request{
		Needs:  Resources{CPU: 256, MemoryMiB: 512},
		Count:  6,
		Group:  "service:web",
		Policy: policy(t, nil, []Strategy{{Type: Spread, Field: "attribute:ecs.availability-zone"}}, ServiceTasks),
	})
	perZone := map[string]int{}
	for _, id := range ids(d.Placements) {
		perZone[id[:len("us-east-1a")]]++
	}
	want := map[string]int{"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
	if len(d.Placements) != 6 || !mapsEqual(perZone, want) {
		t.Errorf("tasks per zone = %v, want %v", perZone, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestDistinctInstanceWithMoreTasksThanInstancesPlacesOneEach(t *testing.T) {
	s := snapshot(t,
		instance("one", "a", 4096, 8192),
		instance("two", "a", 4096, 8192),
		instance("three", "a", 4096, 8192),
	)
	d := place(t, s, Request{
		Needs:  Resources{CPU: 256, MemoryMiB: 256},
		Count:  5,
		Policy: policy(t, []Constraint{{Type: DistinctInstance}}, nil, Standalone),
	})
	got := ids(d.Placements)
	slices.Sort(got)
	if !slices.Equal(got, []string{"one", "three", "two"}) {
		t.Fatalf("placed on %v, want each instance once", got)
	}
	if len(d.Failures) != 3 {
		t.Fatalf("failures = %v, want one per instance", d.Failures)
	}
	for _, f := range d.Failures {
		if f.Reason != ReasonAttribute {
			t.Errorf("failure %v, want reason ATTRIBUTE", f)
		}
	}
}

func TestMemberOfCombiningInMatchesAndNotSelectsOnlyMatchingInstances(t *testing.T) {
	s := snapshot(t,
		instance("t2-in-a", "us-east-1a", 4096, 8192, withAttr(AttrInstanceType, "t2.micro")),
		instance("t2-in-c", "us-east-1c", 4096, 8192, withAttr(AttrInstanceType, "t2.micro")),
		instance("m5-in-b", "us-east-1b", 4096, 8192),
		instance("t2-in-b-db", "us-east-1b", 4096, 8192, withAttr(AttrInstanceType, "t2.small"), running("service:db", 1, 1)),
		instance("t2-in-b", "us-east-1b", 4096, 8192, withAttr(AttrInstanceType, "t2.large")),
	)
	p := policy(t, []Constraint{{Type: MemberOf,
		Expression: "attribute:ecs.instance-type =~ t2.* && attribute:ecs.availability-zone in [us-east-1a, us-east-1b] && !(task:group == service:db)"}},
		[]Strategy{{Type: Spread, Field: "instanceId"}}, Standalone)
	d := place(t, s, Request{Needs: Resources{CPU: 1, MemoryMiB: 1}, Count: 10, Policy: p})
	got := map[string]int{}
	for _, id := range ids(d.Placements) {
		got[id]++
	}
	if want := map[string]int{"t2-in-a": 5, "t2-in-b": 5}; !mapsEqual(got, want) {
		t.Errorf("placed %v, want %v", got, want)
	}
}

func TestMemberOfOnTasksCountsTheTasksOfTheSameRequest(t *testing.T) {
	s := snapshot(t,
		instance("empty1", "a", 4096, 8192),
		instance("empty2", "a", 4096, 8192),
		instance("busy", "a", 4096, 8192, running("family:x", 1, 1)),
	)
	p := policy(t, []Constraint{{Type: MemberOf, Expression: "runningTasksCount == 0"}}, nil, Standalone)
	d := place(t, s, Request{Needs: Resources{CPU: 1, MemoryMiB: 1}, Count: 3, Policy: p})
	got := ids(d.Placements)
	slices.Sort(got)
	if !slices.Equal(got, []string{"empty1", "empty2"}) {
		t.Errorf("placed on %v, want the two empty instances once each", got)
	}
	if c, ok := d.Closest(); !ok || c.Reason != ReasonAttribute {
		t.Errorf("closest failure = %v, want ATTRIBUTE", c)
	}
}

func TestPlacingSeveralTasksCountsTheEarlierOnesOfTheRequest(t *testing.T) {
	s := snapshot(t, instance("only", "a", 1024, 8192))
	d := place(t, s, Request{
		Needs:  Resources{CPU: 512, MemoryMiB: 128},
		Count:  3,
		Policy: policy(t, nil, []Strategy{{Type: Binpack, Field: "cpu"}}, Standalone),
	})
	if len(d.Placements) != 2 {
		t.Fatalf("placed %d tasks, want 2", len(d.Placements))
	}
	if c, _ := d.Closest(); c.Reason != ReasonCPU {
		t.Errorf("closest failure = %v, want RESOURCE:CPU", c)
	}
	if r, _ := s.Remaining(arnPrefix + "only"); r.CPU != 1024 {
		t.Errorf("Place changed the snapshot: remaining CPU %d, want 1024", r.CPU)
	}
}

func TestFailuresNameTheReasonAndTheClosestInstanceInECSWords(t *testing.T) {
	tests := []struct {
		name      string
		instances []Instance
		req       Request
		reason    Reason
		closest   string
		detail    string
	}{
		{
			name: "not enough CPU anywhere",
			instances: []Instance{
				instance("small", "a", 512, 8192),
				instance("bigger", "a", 1024, 8192),
			},
			req:     Request{Needs: Resources{CPU: 2048, MemoryMiB: 128}},
			reason:  ReasonCPU,
			closest: "bigger",
			detail:  "The closest matching (container-instance bigger) has insufficient CPU units available.",
		},
		{
			name: "not enough memory on the instance with CPU to spare",
			instances: []Instance{
				instance("no-cpu", "a", 128, 8192),
				instance("no-mem", "a", 4096, 256),
			},
			req:     Request{Needs: Resources{CPU: 256, MemoryMiB: 512}},
			reason:  ReasonMemory,
			closest: "no-mem",
			detail:  "The closest matching (container-instance no-mem) has insufficient memory available.",
		},
		{
			name:      "a port the agent reserves",
			instances: []Instance{instance("one", "a", 4096, 8192)},
			req:       Request{Needs: Resources{CPU: 256, MemoryMiB: 256, TCPPorts: []uint16{22}}},
			reason:    ReasonPorts,
			closest:   "one",
			detail:    "The closest matching (container-instance one) is already using a port required by your task.",
		},
		{
			name:      "a port another task holds",
			instances: []Instance{instance("one", "a", 4096, 8192, running("family:x", 1, 1, 8080))},
			req:       Request{Needs: Resources{CPU: 256, MemoryMiB: 256, TCPPorts: []uint16{8080}}},
			reason:    ReasonPorts,
			closest:   "one",
			detail:    "The closest matching (container-instance one) is already using a port required by your task.",
		},
		{
			name:      "a port the same request took on the only instance",
			instances: []Instance{instance("one", "a", 4096, 8192)},
			req:       Request{Needs: Resources{CPU: 256, MemoryMiB: 256, UDPPorts: []uint16{53}}, Count: 2},
			reason:    ReasonPorts,
			closest:   "one",
		},
		{
			name: "no interface left for an awsvpc task",
			instances: []Instance{
				instance("full", "a", 4096, 8192, func(in *Instance) {
					in.Registered.ENIs = 1
					in.Tasks = []Task{{ARN: "t", Group: "family:x", Needs: Resources{CPU: 256, MemoryMiB: 512, ENIs: 1}}}
				}),
			},
			req:     Request{Needs: Resources{CPU: 256, MemoryMiB: 256, ENIs: 1}},
			reason:  ReasonENI,
			closest: "full",
		},
		{
			name: "a required attribute no instance has",
			instances: []Instance{
				instance("linux", "a", 4096, 8192),
			},
			req:     Request{Needs: Resources{CPU: 256, MemoryMiB: 256}, RequiredAttributes: []RequiredAttribute{{Name: AttrOSType, Value: "windows"}}},
			reason:  ReasonAttribute,
			closest: "linux",
			detail:  "The closest matching (container-instance linux) is missing an attribute required by your task.",
		},
		{
			name:      "an agent that is not connected",
			instances: []Instance{instance("lost", "a", 4096, 8192, disconnected)},
			req:       Request{Needs: Resources{CPU: 256, MemoryMiB: 256}},
			reason:    ReasonAgent,
			closest:   "lost",
			detail:    `The closest matching (container-instance lost) encountered error "AGENT".`,
		},
		{
			name: "an instance that fails a later filter is closer than one short of CPU",
			instances: []Instance{
				instance("no-cpu", "a", 128, 8192),
				instance("wrong-os", "a", 4096, 8192),
			},
			req:     Request{Needs: Resources{CPU: 256, MemoryMiB: 256}, RequiredAttributes: []RequiredAttribute{{Name: "ecs.capability.gpu"}}},
			reason:  ReasonAttribute,
			closest: "wrong-os",
		},
		{
			name:      "a cluster without instances",
			instances: nil,
			req:       Request{Needs: Resources{CPU: 256, MemoryMiB: 256}},
			reason:    ReasonMissing,
			detail:    "No Container Instances were found in your cluster.",
		},
		{
			name: "a cluster whose only instance is draining",
			instances: []Instance{
				instance("draining", "a", 4096, 8192, withStatus(StatusDraining)),
			},
			req:    Request{Needs: Resources{CPU: 256, MemoryMiB: 256}},
			reason: ReasonMissing,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := snapshot(t, tt.instances...)
			d := place(t, s, tt.req)
			if tt.req.Count <= 1 && len(d.Placements) != 0 {
				t.Fatalf("placed on %v, want no placement", d.Placements)
			}
			c, ok := d.Closest()
			if !ok {
				t.Fatal("no failure reported")
			}
			if c.Reason != tt.reason {
				t.Errorf("reason = %s, want %s", c.Reason, tt.reason)
			}
			if tt.closest != "" && c.Arn != arnPrefix+tt.closest {
				t.Errorf("closest = %s, want %s", c.Arn, tt.closest)
			}
			if tt.detail != "" && c.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", c.Detail, tt.detail)
			}
		})
	}
}

func TestServiceEventReadsLikeECS(t *testing.T) {
	s := snapshot(t, instance("abc123", "a", 4096, 256))
	d := place(t, s, Request{Needs: Resources{CPU: 256, MemoryMiB: 512}})
	want := "(service web) was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance abc123) has insufficient memory available."
	if got := d.ServiceEvent("web"); got != want {
		t.Errorf("ServiceEvent =\n%q\nwant\n%q", got, want)
	}
}

func TestDrainingAndInactiveInstancesGetNoNewTasks(t *testing.T) {
	s := snapshot(t,
		instance("draining", "a", 65536, 65536, withStatus(StatusDraining)),
		instance("inactive", "a", 65536, 65536, withStatus(StatusInactive)),
		instance("active", "a", 1024, 1024),
	)
	d := place(t, s, Request{
		Needs:  Resources{CPU: 256, MemoryMiB: 256},
		Count:  10,
		Policy: policy(t, nil, []Strategy{{Type: Spread, Field: "instanceId"}}, Standalone),
	})
	for _, id := range ids(d.Placements) {
		if id != "active" {
			t.Errorf("a task went to %s", id)
		}
	}
	if len(d.Placements) != 4 {
		t.Errorf("placed %d tasks, want 4 on the active instance", len(d.Placements))
	}
	for _, f := range d.Failures {
		if strings.Contains(f.Arn, "draining") || strings.Contains(f.Arn, "inactive") {
			t.Errorf("failure lists %s, which was never a candidate", f.Arn)
		}
	}
}

func TestRandomPlacementDependsOnlyOnTheSeed(t *testing.T) {
	var instances []Instance
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		instances = append(instances, instance(id, "z", 65536, 65536))
	}
	s := snapshot(t, instances...)
	p := policy(t, nil, []Strategy{{Type: Random}}, Standalone)
	chosen := map[string]bool{}
	for seed := range uint64(32) {
		req := Request{Needs: Resources{CPU: 1, MemoryMiB: 1}, Count: 10, Policy: p, Seed: seed}
		first, second := place(t, s, req), place(t, s, req)
		if !slices.Equal(first.Placements, second.Placements) {
			t.Fatalf("seed %d gave %v, then %v", seed, first.Placements, second.Placements)
		}
		chosen[first.Placements[0]] = true
	}
	if len(chosen) < len(instances)/2 {
		t.Errorf("32 seeds chose only %d distinct first instances of %d", len(chosen), len(instances))
	}
}

func TestPlaceRejectsMalformedRequests(t *testing.T) {
	s := snapshot(t, instance("one", "a", 1024, 1024))
	tests := []struct {
		name  string
		req   Request
		field string
	}{
		{"no tasks", Request{Group: "family:x", Count: 0}, "count"},
		{"more than ten tasks", Request{Group: "family:x", Count: 11}, "count"},
		{"negative CPU", Request{Group: "family:x", Count: 1, Needs: Resources{CPU: -1}}, "cpu"},
		{"negative memory", Request{Group: "family:x", Count: 1, Needs: Resources{MemoryMiB: -1}}, "memory"},
		{"no group", Request{Count: 1}, "group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Place(s, tt.req)
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field || !errors.Is(err, ErrInvalidParameter) {
				t.Errorf("Place error = %v, want a ValidationError on %s", err, tt.field)
			}
		})
	}
}

// Instances a strategy finds equal are chosen at random from the seed, so
// that over many requests each of them gets tasks, also when some of them
// fail a filter.
func TestTiesAreBrokenEvenlyAcrossSeeds(t *testing.T) {
	tests := []struct {
		name       string
		strategies []Strategy
	}{
		{"binpack on cpu", []Strategy{{Type: Binpack, Field: "cpu"}}},
		{"binpack on memory", []Strategy{{Type: Binpack, Field: "memory"}}},
		{"spread on instanceId", []Strategy{{Type: Spread, Field: "instanceId"}}},
		{"spread across zones", []Strategy{{Type: Spread, Field: "attribute:ecs.availability-zone"}}},
		{"random", []Strategy{{Type: Random}}},
		{"spread, then binpack", []Strategy{{Type: Spread, Field: "attribute:ecs.availability-zone"}, {Type: Binpack, Field: "memory"}}},
	}
	var instances []Instance
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		var opts []func(*Instance)
		if id < "e" {
			opts = append(opts, running("family:other", 0, 0, 8080))
		}
		instances = append(instances, instance(id, "z", 4096, 8192, opts...))
	}
	s := snapshot(t, instances...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy(t, nil, tt.strategies, Standalone)
			for _, port := range []uint16{0, 8080} {
				var ports []uint16
				if port != 0 {
					ports = []uint16{port} // taken on a–d: only e–h pass
				}
				chosen := map[string]int{}
				for seed := range uint64(64) {
					d := place(t, s, Request{Needs: Resources{CPU: 1, MemoryMiB: 1, TCPPorts: ports}, Policy: p, Seed: seed})
					chosen[ids(d.Placements)[0]]++
				}
				want := 8
				if port != 0 {
					want = 4
				}
				if len(chosen) != want {
					t.Errorf("port %d: 64 seeds chose %v, want each of the %d instances that pass", port, chosen, want)
				}
			}
		})
	}
}
