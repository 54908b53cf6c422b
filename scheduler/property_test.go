package scheduler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// randomCluster makes n instances of assorted sizes over zones, some with
// extra reserved ports and some already running tasks.
func randomCluster(rng *rand.Rand, n, zones int) []Instance {
	sizes := [][2]int{{1024, 2048}, {2048, 4096}, {4096, 8192}, {8192, 16384}}
	instances := make([]Instance, n)
	for i := range instances {
		size := sizes[rng.IntN(len(sizes))]
		in := instance(fmt.Sprintf("i%03d", i), fmt.Sprintf("zone-%d", rng.IntN(zones)), size[0], size[1])
		if rng.IntN(4) == 0 {
			in.Registered.TCPPorts = append(slices.Clone(DefaultReservedPorts), 8080)
		}
		for range rng.IntN(3) {
			running(fmt.Sprintf("family:f%d", rng.IntN(3)), 128*rng.IntN(4), 256*rng.IntN(4))(&in)
		}
		instances[i] = in
	}
	return instances
}

var strategyChoices = [][]Strategy{
	{{Type: Binpack, Field: "cpu"}},
	{{Type: Binpack, Field: "memory"}},
	{{Type: Spread, Field: "instanceId"}},
	{{Type: Spread, Field: "attribute:ecs.availability-zone"}, {Type: Binpack, Field: "memory"}},
	{{Type: Random}},
}

func randomRequest(t *testing.T, rng *rand.Rand) Request {
	var ports []uint16
	if rng.IntN(3) == 0 {
		ports = []uint16{[]uint16{80, 443, 8080}[rng.IntN(3)]}
	}
	var constraints []Constraint
	if rng.IntN(4) == 0 {
		constraints = []Constraint{{Type: DistinctInstance}}
	}
	return Request{
		Needs:  Resources{CPU: 128 * (1 + rng.IntN(8)), MemoryMiB: 256 * (1 + rng.IntN(8)), TCPPorts: ports},
		Group:  fmt.Sprintf("family:f%d", rng.IntN(3)),
		Count:  1 + rng.IntN(MaxCount),
		Policy: policy(t, constraints, strategyChoices[rng.IntN(len(strategyChoices))], Standalone),
		Seed:   rng.Uint64(),
	}
}

// ledger recomputes what each instance holds from scratch, independently of
// the snapshot's bookkeeping.
type ledger map[string]*struct {
	cpu, mem int
	ports    map[uint16]int
}

func newLedger(instances []Instance) ledger {
	l := ledger{}
	for _, in := range instances {
		e := &struct {
			cpu, mem int
			ports    map[uint16]int
		}{ports: map[uint16]int{}}
		for _, p := range in.Registered.TCPPorts {
			e.ports[p]++
		}
		for _, t := range in.Tasks {
			e.cpu += t.Needs.CPU
			e.mem += t.Needs.MemoryMiB
			for _, p := range t.Needs.TCPPorts {
				e.ports[p]++
			}
		}
		l[in.ARN] = e
	}
	return l
}

func TestPropertyPlacementNeverOvercommitsAnInstance(t *testing.T) {
	for trial := range 30 {
		rng := rand.New(rand.NewPCG(uint64(trial), 1))
		instances := randomCluster(rng, 5+rng.IntN(20), 3)
		registered := map[string]Resources{}
		for _, in := range instances {
			registered[in.ARN] = in.Registered
		}
		held := newLedger(instances)
		s := snapshot(t, instances...)
		for n := range 200 {
			req := randomRequest(t, rng)
			d, err := Place(s, req)
			if err != nil {
				t.Fatal(err)
			}
			for k, arn := range d.Placements {
				task := Task{ARN: fmt.Sprintf("t%d-%d-%d", trial, n, k), Group: req.Group, Needs: req.Needs}
				if err := s.AddTask(arn, task); err != nil {
					t.Fatal(err)
				}
				e := held[arn]
				e.cpu += req.Needs.CPU
				e.mem += req.Needs.MemoryMiB
				for _, p := range req.Needs.TCPPorts {
					e.ports[p]++
				}
				reg := registered[arn]
				if e.cpu > reg.CPU || e.mem > reg.MemoryMiB {
					t.Fatalf("trial %d request %d: %s holds cpu %d/%d, memory %d/%d", trial, n, arn, e.cpu, reg.CPU, e.mem, reg.MemoryMiB)
				}
				for p, c := range e.ports {
					if c > 1 {
						t.Fatalf("trial %d request %d: port %d on %s is held %d times", trial, n, p, arn, c)
					}
				}
			}
			// Retire some tasks so the cluster keeps changing.
			if rng.IntN(3) == 0 && len(d.Placements) > 0 {
				arn := d.Placements[0]
				if s.RemoveTask(fmt.Sprintf("t%d-%d-0", trial, n)) {
					e := held[arn]
					e.cpu -= req.Needs.CPU
					e.mem -= req.Needs.MemoryMiB
					for _, p := range req.Needs.TCPPorts {
						e.ports[p]--
					}
				}
			}
		}
	}
}

func TestPropertySpreadKeepsZonesWithinOneTaskOfEachOther(t *testing.T) {
	for trial := range 50 {
		rng := rand.New(rand.NewPCG(uint64(trial), 2))
		zones := 2 + rng.IntN(4)
		var instances []Instance
		for z := range zones {
			for j := range 1 + rng.IntN(4) {
				instances = append(instances, instance(fmt.Sprintf("z%d-%d", z, j), fmt.Sprintf("zone-%d", z), 1<<20, 1<<20))
			}
		}
		s := snapshot(t, instances...)
		p := policy(t, nil, nil, ServiceTasks)
		perZone := make([]int, zones)
		for n := range 30 {
			d := place(t, s, Request{Needs: Resources{CPU: 256, MemoryMiB: 512}, Group: "service:web", Count: 1 + rng.IntN(MaxCount), Policy: p, Seed: rng.Uint64()})
			for k, arn := range d.Placements {
				var z int
				fmt.Sscanf(ids([]string{arn})[0], "z%d-", &z)
				perZone[z]++
				if err := s.AddTask(arn, Task{ARN: fmt.Sprintf("t%d-%d", n, k), Group: "service:web", Needs: Resources{CPU: 256, MemoryMiB: 512}}); err != nil {
					t.Fatal(err)
				}
			}
			if slices.Max(perZone)-slices.Min(perZone) > 1 {
				t.Fatalf("trial %d after request %d: tasks per zone %v", trial, n, perZone)
			}
		}
	}
}

func TestPropertyTheSameSeedGivesTheSamePlacement(t *testing.T) {
	for trial := range 100 {
		rng := rand.New(rand.NewPCG(uint64(trial), 3))
		instances := randomCluster(rng, 10+rng.IntN(40), 4)
		req := randomRequest(t, rng)
		first := place(t, snapshot(t, instances...), req)
		second := place(t, snapshot(t, instances...), req)
		if !slices.Equal(first.Placements, second.Placements) || !slices.Equal(first.Failures, second.Failures) {
			t.Fatalf("trial %d: %v then %v", trial, first, second)
		}
	}
}

// indexedStrategyChoices are the policies the snapshot's orders answer, and
// one they do not, for comparison.
var indexedStrategyChoices = [][]Strategy{
	{{Type: Binpack, Field: "cpu"}},
	{{Type: Binpack, Field: "memory"}},
	{{Type: Spread, Field: "instanceId"}},
	{{Type: Spread, Field: "attribute:ecs.availability-zone"}},
	{{Type: Spread, Field: "attribute:ecs.availability-zone"}, {Type: Binpack, Field: "memory"}},
	{{Type: Random}},
}

func randomIndexedRequest(t *testing.T, rng *rand.Rand) Request {
	req := randomRequest(t, rng)
	var constraints []Constraint
	switch rng.IntN(4) {
	case 0:
		constraints = []Constraint{{Type: DistinctInstance}}
	case 1:
		constraints = []Constraint{{Type: MemberOf, Expression: "runningTasksCount < 3"}}
	}
	req.Policy = policy(t, constraints, indexedStrategyChoices[rng.IntN(len(indexedStrategyChoices))], Standalone)
	return req
}

func TestPropertyAnUpdatedSnapshotPlacesAsAFreshlyBuiltOne(t *testing.T) {
	for trial := range 40 {
		rng := rand.New(rand.NewPCG(uint64(trial), 4))
		instances := randomCluster(rng, 5+rng.IntN(30), 1+rng.IntN(4))
		for i := range instances {
			if rng.IntN(8) == 0 {
				instances[i].Status = StatusDraining
			}
		}
		s := snapshot(t, instances...)
		// Where every task runs, to build the fresh snapshot from.
		home := map[string]int{}
		tasks := map[string]Task{}
		for i, in := range instances {
			for _, task := range in.Tasks {
				home[task.ARN], tasks[task.ARN] = i, task
			}
		}
		for step := range 60 {
			req := randomIndexedRequest(t, rng)
			d := place(t, s, req)
			for k, arn := range d.Placements {
				task := Task{ARN: fmt.Sprintf("t%d-%d", step, k), Group: req.Group, Needs: req.Needs}
				if err := s.AddTask(arn, task); err != nil {
					t.Fatal(err)
				}
				home[task.ARN], tasks[task.ARN] = slices.IndexFunc(instances, func(in Instance) bool { return in.ARN == arn }), task
			}
			// A task lands on a draining instance now and then, as one
			// started before the drain would.
			if i := rng.IntN(len(instances)); instances[i].Status != StatusActive {
				task := Task{ARN: fmt.Sprintf("d%d", step), Group: req.Group, Needs: req.Needs}
				if err := s.AddTask(instances[i].ARN, task); err != nil {
					t.Fatal(err)
				}
				home[task.ARN], tasks[task.ARN] = i, task
			}
			for arn := range tasks {
				if rng.IntN(4) == 0 {
					if !s.RemoveTask(arn) {
						t.Fatalf("task %s was not in the snapshot", arn)
					}
					delete(tasks, arn)
					delete(home, arn)
				}
			}

			state := make([]Instance, len(instances))
			for i, in := range instances {
				in.Tasks = nil
				state[i] = in
			}
			arns := slices.Sorted(maps.Keys(tasks))
			for _, arn := range arns {
				state[home[arn]].Tasks = append(state[home[arn]].Tasks, tasks[arn])
			}
			fresh := snapshot(t, state...)
			for range 5 {
				req := randomIndexedRequest(t, rng)
				got, want := place(t, s, req), place(t, fresh, req)
				if !slices.Equal(got.Placements, want.Placements) || !slices.Equal(got.Failures, want.Failures) {
					t.Fatalf("trial %d step %d, %+v:\nupdated snapshot: %v\nfresh snapshot:   %v", trial, step, req, got, want)
				}
			}
		}
	}
}

// The orders choose among instances the strategy finds equal in their own
// way (and random among all of them), but never one the strategy ranks
// lower than the best that fits:
// each task of a request goes to an instance that passes every filter and
// whose score, counting the request's earlier tasks, is the least of all
// the instances that pass them, as a pass over every instance finds.
func TestPropertyTheIndexChoosesAnInstanceAsGoodAsRankingEveryOne(t *testing.T) {
	for trial := range 300 {
		rng := rand.New(rand.NewPCG(uint64(trial), 5))
		instances := randomCluster(rng, 2+rng.IntN(40), 1+rng.IntN(4))
		s := snapshot(t, instances...)
		req := randomIndexedRequest(t, rng)
		d := place(t, s, req)
		scanned, err := placeTasks(s, req, false)
		if err != nil {
			t.Fatal(err)
		}
		// Later tasks may go elsewhere once a tie went another way, but the
		// first task finds a home, or fails for the same reasons, either way.
		if (len(d.Placements) == 0) != (len(scanned.Placements) == 0) ||
			len(d.Placements) == 0 && !slices.Equal(d.Failures, scanned.Failures) {
			t.Fatalf("trial %d: indexed %v, ranked %v", trial, d, scanned)
		}
		r := rounds.Get().(*round)
		r.reset(s, req, req.Policy)
		for k, arn := range d.Placements {
			r.k = uint64(k)
			chosen := s.byARN[arn]
			if !r.fits(chosen) {
				t.Fatalf("trial %d task %d: %s does not pass the filters", trial, k, arn)
			}
			for _, i := range s.active {
				if r.indexed == indexRandom {
					break // every instance that passes is as good
				}
				if r.fits(int(i)) && r.rankers[0].Rank(int(i)) < r.rankers[0].Rank(chosen) {
					t.Fatalf("trial %d task %d (%v): chose %s scoring %d, %s scores %d", trial, k, req.Policy.Strategies(),
						arn, r.rankers[0].Rank(chosen), s.instances[i].ARN, r.rankers[0].Rank(int(i)))
				}
			}
			r.place(chosen)
		}
		r.release()
	}
}

// Placements may run at once on one snapshot; the first spread over a
// group or attribute counts its tasks lazily, under the snapshot's lock,
// and every placement sees the same counts.
func TestConcurrentPlacementsDecideAsSequentialOnes(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	instances := randomCluster(rng, 40, 3)
	var reqs []Request
	for range 64 {
		reqs = append(reqs, randomIndexedRequest(t, rng))
	}
	want := make([]Decision, len(reqs))
	for j, req := range reqs {
		want[j] = place(t, snapshot(t, instances...), req)
	}
	s := snapshot(t, instances...)
	got := make([]Decision, len(reqs))
	var wg sync.WaitGroup
	for j, req := range reqs {
		wg.Go(func() {
			got[j], _ = Place(s, req)
		})
	}
	wg.Wait()
	for j := range reqs {
		if !slices.Equal(got[j].Placements, want[j].Placements) {
			t.Errorf("request %d: concurrently %v, alone %v", j, got[j].Placements, want[j].Placements)
		}
	}
}
