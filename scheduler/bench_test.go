package scheduler

import (
	"fmt"
	"strings"
	"testing"
)

// benchCluster builds n instances over three zones and two instance types,
// with tasks running tasks spread round-robin over them in 100 groups.
func benchCluster(b *testing.B, n, tasks int) *Snapshot {
	b.Helper()
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	types := []string{"m5.xlarge", "c5.xlarge"}
	instances := make([]Instance, n)
	for i := range instances {
		instances[i] = instance(fmt.Sprintf("%08d", i), zones[i%len(zones)], 1<<20, 1<<22,
			withAttr(AttrInstanceType, types[i%len(types)]))
	}
	for t := range tasks {
		in := &instances[t%n]
		in.Tasks = append(in.Tasks, Task{
			ARN:   fmt.Sprintf("task-%d", t),
			Group: fmt.Sprintf("service:s%d", t%100),
			// Uneven sizes so that binpack has a real choice to make.
			Needs: Resources{CPU: 128 * (1 + t%7), MemoryMiB: 256 * (1 + t%5)},
		})
	}
	return snapshot(b, instances...)
}

var benchStrategies = []struct {
	name       string
	strategies []Strategy
}{
	{"binpack-cpu", []Strategy{{Type: Binpack, Field: "cpu"}}},
	{"binpack-memory", []Strategy{{Type: Binpack, Field: "memory"}}},
	{"spread-zone", []Strategy{{Type: Spread, Field: "attribute:ecs.availability-zone"}}},
	{"spread-instance", []Strategy{{Type: Spread, Field: "instanceId"}}},
	{"random", []Strategy{{Type: Random}}},
}

var benchConstraints = []struct {
	name        string
	constraints []Constraint
}{
	{"none", nil},
	{"memberOf", []Constraint{{Type: MemberOf,
		Expression: "attribute:ecs.instance-type =~ m5.* && attribute:ecs.availability-zone in [us-east-1a, us-east-1b] && !(attribute:stack exists)"}}},
	{"memberOf-task-group", []Constraint{{Type: MemberOf, Expression: "!(task:group == service:s7)"}}},
	// Read from the tasks, and passed by the 1% of instances that run the
	// group (benchCluster puts one group on each instance).
	{"memberOf-task-group-few", []Constraint{{Type: MemberOf, Expression: "task:group == service:s7"}}},
	// One instance of the cluster passes: the worst case for the orders,
	// which must walk past every instance the constraint rejects.
	{"memberOf-one-instance", []Constraint{{Type: MemberOf, Expression: "ec2InstanceId == 'i-00000042'"}}},
}

// BenchmarkPlace sweeps cluster sizes (100, 1,000 and 5,000 instances, the
// last ECS's per-cluster limit) with ten running tasks per instance (up to
// 50,000), every strategy, with and without a memberOf constraint, and
// for binpack, spread over zones and random, memberOf read from the tasks
// and constraints that reject most instances. One
// operation places one task; placements/s is reported alongside ns/op.
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		s := benchCluster(b, n, 10*n)
		for _, st := range benchStrategies {
			for _, c := range benchConstraints {
				if strings.HasPrefix(c.name, "memberOf-") && st.name != "binpack-cpu" && st.name != "spread-zone" && st.name != "random" {
					continue
				}
				p := policy(b, c.constraints, st.strategies, Standalone)
				b.Run(fmt.Sprintf("instances=%d/tasks=%d/%s/constraint=%s", n, 10*n, st.name, c.name), func(b *testing.B) {
					benchPlace(b, s, p, 1)
				})
			}
		}
	}
}

// BenchmarkPlaceCount10 places ten tasks per request, each accounting for
// the ones before it.
func BenchmarkPlaceCount10(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		s := benchCluster(b, n, 10*n)
		p := policy(b, nil, []Strategy{{Type: Binpack, Field: "cpu"}}, Standalone)
		b.Run(fmt.Sprintf("instances=%d/binpack-cpu", n), func(b *testing.B) { benchPlace(b, s, p, 10) })
	}
}

// BenchmarkPlaceDenseCluster runs 50,000 tasks on 1,000 instances.
func BenchmarkPlaceDenseCluster(b *testing.B) {
	s := benchCluster(b, 1000, 50000)
	for _, st := range benchStrategies {
		p := policy(b, nil, st.strategies, Standalone)
		b.Run(fmt.Sprintf("instances=1000/tasks=50000/%s", st.name), func(b *testing.B) { benchPlace(b, s, p, 1) })
	}
}

func benchPlace(b *testing.B, s *Snapshot, p *Policy, count int) {
	req := Request{Needs: Resources{CPU: 256, MemoryMiB: 512}, Group: "service:s7", Count: count, Policy: p}
	b.ReportAllocs()
	var seed uint64
	for b.Loop() {
		seed++
		req.Seed = seed
		d, err := Place(s, req)
		if err != nil || len(d.Placements) != count {
			b.Fatalf("Place = %v, %v", d, err)
		}
	}
	b.ReportMetric(float64(b.N*count)/b.Elapsed().Seconds(), "placements/s")
}

// BenchmarkNewSnapshot is the cost of indexing a cluster, paid once per
// snapshot rather than per placement.
func BenchmarkNewSnapshot(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("instances=%d/tasks=%d", n, 10*n), func(b *testing.B) {
			for b.Loop() {
				benchCluster(b, n, 10*n)
			}
		})
	}
}

// BenchmarkSnapshotAddRemoveTask is the cost of keeping the snapshot's
// orders up to date: one operation adds a task to an instance and removes
// it again.
func BenchmarkSnapshotAddRemoveTask(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		s := benchCluster(b, n, 10*n)
		b.Run(fmt.Sprintf("instances=%d/tasks=%d", n, 10*n), func(b *testing.B) {
			task := Task{ARN: "task-new", Group: "service:s7", Needs: Resources{CPU: 256, MemoryMiB: 512}}
			var j int
			for b.Loop() {
				j++
				if err := s.AddTask(s.instances[j%n].ARN, task); err != nil {
					b.Fatal(err)
				}
				s.RemoveTask(task.ARN)
			}
		})
	}
}
