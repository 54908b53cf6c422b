package controller_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berthdev/berth/controller"
	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/metrics"
)

// taskWorld is a store with two clusters of two container instances
// each, a clock the test moves, and a controller over them: tasks are
// written to the store as the controller's paths write them (created,
// changed one at a time, forgotten), and what /metrics shows is compared
// with a recount from the store.
type taskWorld struct {
	t        *testing.T
	st       *store.Store
	ctl      *controller.Controller
	now      atomic.Int64 // Unix nanoseconds
	clusters []string
}

func newTaskWorld(t *testing.T) *taskWorld {
	st, err := store.Open(t.TempDir() + "/state.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &taskWorld{t: t, st: st, clusters: []string{"class", "lab"}}
	w.now.Store(time.Date(2026, 11, 27, 9, 0, 0, 123_456_789, time.UTC).UnixNano())
	for _, cl := range w.clusters {
		if _, _, err := st.CreateCluster(store.Cluster{Name: cl}, w.clock()); err != nil {
			t.Fatal(err)
		}
		for i, typ := range []string{"t3.medium", "m5.large"} {
			if _, err := st.RegisterContainerInstance(store.ContainerInstance{Cluster: cl, ID: fmt.Sprintf("i%d", i),
				Registered: store.Resources{CPU: 2048, MemoryMiB: 4000}, Attributes: map[string]string{"ecs.instance-type": typ}}, w.clock()); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.ctl = controller.New(st, controller.Options{Now: w.clock, UsageInterval: -1})
	t.Cleanup(w.ctl.Close)
	return w
}

func (w *taskWorld) clock() time.Time { return time.Unix(0, w.now.Load()).UTC() }

// fargateSizes are the sizes, capacities and storage the random tasks
// take: each is priced apart.
var fargateSizes = []struct {
	cpu, memory, storage int
	capacity             string
}{{256, 512, 0, "FARGATE"}, {1024, 2048, 0, "FARGATE"}, {256, 512, 0, "FARGATE_SPOT"}, {512, 1024, 50, "FARGATE"}}

// taskRecord is a task as the controller records it: a Fargate one with
// its size in its runtime and its pull's start (none when zero) and
// storage in its body; an EC2 one with its instance, its group and what
// it holds (ports too), by its size.
func taskRecord(cluster, id, launchType, status string, size int, instance string, pulled time.Time, stopped *time.Time) store.Task {
	rec := store.Task{Cluster: cluster, ID: id, Family: "web", LaunchType: launchType, LastStatus: status, DesiredStatus: status, StoppedAt: stopped}
	body := api.Task{TaskArn: "arn:aws:ecs:us-east-1:000000000000:task/" + cluster + "/" + id, LastStatus: status, LaunchType: launchType,
		PullStartedAt: api.Time(pulled)}
	if launchType == "FARGATE" {
		s := fargateSizes[size]
		rec.Runtime, _ = json.Marshal(map[string]any{"capacity": s.capacity, "cpu": s.cpu, "memoryMiB": s.memory})
		if s.storage > 0 {
			body.EphemeralStorage = &api.EphemeralStorage{SizeInGiB: int32(s.storage)}
		}
	} else {
		rec.Instance = instance
		rec.Holds = store.Resources{CPU: int64(128 << size), MemoryMiB: int64(256 << size), TCPPorts: []uint16{uint16(8080 + size)}}
		if size == 2 {
			rec.Holds.UDPPorts = []uint16{53}
		}
		rec.Group = fmt.Sprintf("family:web%d", size)
		rec.Runtime, _ = json.Marshal(map[string]any{"capacity": instance})
	}
	rec.Body, _ = json.Marshal(body)
	return rec
}

// changer makes random changes to the tasks it owns (IDs under its
// prefix), as the controller's paths make them.
type changer struct {
	w      *taskWorld
	rnd    *rand.Rand
	prefix string
	next   int
	tasks  []store.Task // as last written, by the changer alone
}

var statuses = []string{"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}

// step makes one random change; the clock moves only when tick.
func (c *changer) step(tick bool) error {
	w := c.w
	switch op := c.rnd.IntN(11); {
	case op < 3 || len(c.tasks) == 0: // RunTask's commit: one to three tasks at once
		var batch []store.Task
		for range 1 + c.rnd.IntN(3) {
			c.next++
			cl := w.clusters[c.rnd.IntN(len(w.clusters))]
			id := fmt.Sprintf("%s%04d", c.prefix, c.next)
			rec := taskRecord(cl, id, "FARGATE", "PROVISIONING", c.rnd.IntN(len(fargateSizes)), "", time.Time{}, nil)
			if c.rnd.IntN(2) == 0 {
				rec = taskRecord(cl, id, "EC2", "PENDING", c.rnd.IntN(3), fmt.Sprintf("i%d", c.rnd.IntN(2)), time.Time{}, nil)
			}
			batch = append(batch, rec)
		}
		if err := w.st.CreateTasks(batch); err != nil {
			return err
		}
		c.tasks = append(c.tasks, batch...)
	case op < 7: // an agent's report, StopTask: a task moves on
		i := c.rnd.IntN(len(c.tasks))
		old := c.tasks[i]
		if old.LastStatus == "STOPPED" {
			return nil
		}
		next := statuses[min(indexOf(statuses, old.LastStatus)+1+c.rnd.IntN(3), len(statuses)-1)]
		var body api.Task
		if err := json.Unmarshal(old.Body, &body); err != nil {
			return err
		}
		pulled := body.PullStartedAt.Time
		if old.LaunchType == "FARGATE" && pulled.IsZero() && next != "STOPPED" {
			// the pull starts a moment ago, to the millisecond
			pulled = w.clock().Add(-time.Duration(c.rnd.IntN(5000)) * time.Millisecond)
		}
		var stopped *time.Time
		if next == "STOPPED" {
			at := w.clock()
			stopped = &at
		}
		size := sizeOf(old)
		rec, err := w.st.UpdateTask(old.Cluster, old.ID, func(rec *store.Task) error {
			*rec = taskRecord(old.Cluster, old.ID, old.LaunchType, next, size, old.Instance, pulled, stopped)
			return nil
		})
		if err != nil {
			return err
		}
		c.tasks[i] = rec
	case op < 8: // a change refused: nothing is written
		i := c.rnd.IntN(len(c.tasks))
		refused := errors.New("refused")
		if _, err := w.st.UpdateTask(c.tasks[i].Cluster, c.tasks[i].ID, func(rec *store.Task) error {
			rec.LastStatus = "RUNNING"
			return refused
		}); !errors.Is(err, refused) {
			return fmt.Errorf("a refused change: %v", err)
		}
	case op < 9: // TagResource: a task (stopped or not) is tagged, nothing else changes
		i := c.rnd.IntN(len(c.tasks))
		rec, err := w.st.UpdateTask(c.tasks[i].Cluster, c.tasks[i].ID, func(rec *store.Task) error {
			var body api.Task
			if err := json.Unmarshal(rec.Body, &body); err != nil {
				return err
			}
			body.Tags = append(body.Tags, api.Tag{Key: fmt.Sprintf("k%d", len(body.Tags)), Value: "v"})
			var err error
			rec.Body, err = json.Marshal(body)
			return err
		})
		if err != nil {
			return err
		}
		c.tasks[i] = rec
	default: // forgetting: a task (stopped or not) leaves the store
		i := c.rnd.IntN(len(c.tasks))
		if err := w.st.DeleteTasks(c.tasks[i].Cluster, c.tasks[i].ID); err != nil {
			return err
		}
		c.tasks = append(c.tasks[:i], c.tasks[i+1:]...)
	}
	if tick {
		w.now.Add(int64(c.rnd.IntN(90_000)) * int64(time.Millisecond))
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// sizeOf is the index in fargateSizes (Fargate) or the shift of the
// holds (EC2) of a task taskRecord made.
func sizeOf(rec store.Task) int {
	if rec.LaunchType != "FARGATE" {
		return int(math.Log2(float64(rec.Holds.CPU / 128)))
	}
	var rt struct {
		Capacity  string `json:"capacity"`
		CPU       int    `json:"cpu"`
		MemoryMiB int    `json:"memoryMiB"`
	}
	_ = json.Unmarshal(rec.Runtime, &rt)
	var body api.Task
	_ = json.Unmarshal(rec.Body, &body)
	for i, s := range fargateSizes {
		storage := 0
		if body.EphemeralStorage != nil {
			storage = int(body.EphemeralStorage.SizeInGiB)
		}
		if s.cpu == rt.CPU && s.memory == rt.MemoryMiB && s.capacity == rt.Capacity && s.storage == storage {
			return i
		}
	}
	return 0
}

// recount is what the metrics must show, worked out from the store alone
// by a full read: the tasks counted, the Fargate capacity summed from
// their runtimes, each instance's load as the store adds it up, and the
// cost as /berth/v1/billing prices it.
func (w *taskWorld) recount() metrics.Snapshot {
	w.t.Helper()
	snap := metrics.Snapshot{Cost: map[string]float64{"EC2": 0, "FARGATE": 0}}
	heads, err := w.st.TaskHeads("", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	counts := map[metrics.TaskCount]int{}
	for _, h := range heads {
		counts[metrics.TaskCount{Cluster: h.Cluster, LaunchType: h.LaunchType, Status: h.LastStatus}]++
		if h.LaunchType == "FARGATE" && h.LastStatus != "STOPPED" {
			var rt struct {
				CPU       int `json:"cpu"`
				MemoryMiB int `json:"memoryMiB"`
			}
			if json.Unmarshal(h.Runtime, &rt) == nil {
				snap.Fargate.VCPUs += float64(rt.CPU) / 1024
				snap.Fargate.MiB += rt.MemoryMiB
			}
		}
	}
	for k, n := range counts {
		k.Count = n
		snap.Tasks = append(snap.Tasks, k)
	}
	for _, cl := range w.clusters {
		instances, err := w.st.ContainerInstances(cl)
		if err != nil {
			w.t.Fatal(err)
		}
		sum := metrics.Cluster{Name: cl}
		for _, in := range instances {
			snap.Instances = append(snap.Instances, metrics.Instance{Cluster: cl, ID: in.ID,
				RegisteredCPU: int(in.Registered.CPU), RemainingCPU: int(in.Registered.CPU - in.Load.Held.CPU),
				RegisteredMiB: int(in.Registered.MemoryMiB), RemainingMiB: int(in.Registered.MemoryMiB - in.Load.Held.MemoryMiB)})
			sum.RegisteredCPU += int(in.Registered.CPU)
			sum.RegisteredMiB += int(in.Registered.MemoryMiB)
			sum.ReservedCPU += int(in.Load.Held.CPU)
			sum.ReservedMiB += int(in.Load.Held.MemoryMiB)
		}
		snap.Clusters = append(snap.Clusters, sum)
		billing, err := w.ctl.Billing(cl)
		if err != nil {
			w.t.Fatal(err)
		}
		bill := billing.Priced(cost.Default())
		snap.Cost["FARGATE"] += bill.Fargate.Dollars
		snap.Cost["EC2"] += bill.EC2.Dollars
	}
	return snap
}

// sameSnapshot reports how got differs from want, "" when it does not.
func sameSnapshot(got, want metrics.Snapshot) string {
	sorted := func(s metrics.Snapshot) metrics.Snapshot {
		sort.Slice(s.Tasks, func(i, j int) bool {
			a, b := s.Tasks[i], s.Tasks[j]
			return a.Cluster+a.LaunchType+a.Status < b.Cluster+b.LaunchType+b.Status
		})
		sort.Slice(s.Instances, func(i, j int) bool {
			return s.Instances[i].Cluster+s.Instances[i].ID < s.Instances[j].Cluster+s.Instances[j].ID
		})
		sort.Slice(s.Clusters, func(i, j int) bool { return s.Clusters[i].Name < s.Clusters[j].Name })
		return s
	}
	got, want = sorted(got), sorted(want)
	if a, b := fmt.Sprint(got.Tasks), fmt.Sprint(want.Tasks); a != b {
		return fmt.Sprintf("tasks %s, recounted %s", a, b)
	}
	if a, b := fmt.Sprint(got.Instances), fmt.Sprint(want.Instances); a != b {
		return fmt.Sprintf("instances %s, recounted %s", a, b)
	}
	if a, b := fmt.Sprint(got.Clusters), fmt.Sprint(want.Clusters); a != b {
		return fmt.Sprintf("clusters %s, recounted %s", a, b)
	}
	if got.Fargate.VCPUs != want.Fargate.VCPUs || got.Fargate.MiB != want.Fargate.MiB {
		return fmt.Sprintf("Fargate in use %+v, recounted %+v", got.Fargate, want.Fargate)
	}
	for _, lt := range []string{"EC2", "FARGATE"} {
		if math.Abs(got.Cost[lt]-want.Cost[lt]) > 1e-9*max(1, want.Cost[lt]) {
			return fmt.Sprintf("%s cost $%.12f, recounted $%.12f", lt, got.Cost[lt], want.Cost[lt])
		}
	}
	return ""
}

// Whatever sequence of changes the tasks go through (created in batches,
// moved on through their statuses, stopped, refused a change, tagged
// before or after they stopped, forgotten stopped or not),
// with the clock moving between them and scrapes at random points, the
// sums the metrics keep are what a full recount from the store gives: the
// task counts, the instances' reservations, the Fargate capacity in use
// and the cost so far.
func TestTheMetricsSumsEqualARecountFromTheStore(t *testing.T) {
	forEachSeed(t, 11, func(t *testing.T, w *taskWorld, c *changer) {
		state := w.ctl.MetricsState()
		for step := range 400 {
			if err := c.step(true); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if c.rnd.IntN(10) == 0 || step == 399 {
				if diff := sameSnapshot(state.Snapshot(), w.recount()); diff != "" {
					t.Fatalf("after step %d: %s", step, diff)
				}
			}
		}
	})
}

// forEachSeed runs fn, for each of eight seeds, on a world of its own with
// a changer drawing from the seed (and stream): half the worlds' controllers
// have read the store first, as Start does, half read it at their first use.
func forEachSeed(t *testing.T, stream uint64, fn func(t *testing.T, w *taskWorld, c *changer)) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			w := newTaskWorld(t)
			c := &changer{w: w, rnd: rand.New(rand.NewPCG(seed, stream)), prefix: "t"}
			if seed%2 == 0 {
				if err := w.ctl.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			fn(t, w, c)
		})
	}
}

// Changes made at once from several goroutines, while /metrics is
// scraped (the first scrape reading the store whole among them), leave the
// sums equal to a recount (run it with -race).
func TestTheMetricsSumsFollowConcurrentChanges(t *testing.T) {
	w := newTaskWorld(t)
	state := w.ctl.MetricsState()
	// The first scrape reads the store whole while the changes go on.
	w.changeAtOnce(27, func() { state.Snapshot() })
	w.now.Add(int64(10 * time.Minute))
	if diff := sameSnapshot(state.Snapshot(), w.recount()); diff != "" {
		t.Fatal(diff)
	}
}

// changeAtOnce makes 150 random changes from each of four goroutines (the
// seed picks them) while read is called over and over from another, and
// returns once they are all done.
func (w *taskWorld) changeAtOnce(seed uint64, read func()) {
	w.t.Helper()
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-done:
				return
			default:
				read()
			}
		}
	}()
	var changers sync.WaitGroup
	errs := make(chan error, 4)
	for g := range uint64(4) {
		changers.Add(1)
		go func() {
			defer changers.Done()
			c := &changer{w: w, rnd: rand.New(rand.NewPCG(g, seed)), prefix: fmt.Sprintf("g%d-", g)}
			for range 150 {
				if err := c.step(false); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	changers.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		w.t.Fatal(err)
	}
}

// The series /metrics exposes are as many with thousands of tasks stored
// as with a few dozen in the same clusters, statuses and launch types: no
// label grows with the tasks. The exposition of a real controller passes
// client_golang's linter either way.
func TestTheSeriesDoNotGrowWithTheStoredTasks(t *testing.T) {
	series := func(n int) int {
		w := newTaskWorld(t)
		var batch []store.Task
		for i := range n {
			cl := w.clusters[i%2]
			status := statuses[(i/2)%len(statuses)]
			var stopped *time.Time
			if status == "STOPPED" {
				at := w.clock()
				stopped = &at
			}
			rec := taskRecord(cl, fmt.Sprintf("f%05d", i), "FARGATE", status, i%len(fargateSizes), "", w.clock().Add(-time.Hour), stopped)
			if (i/16)%2 == 1 {
				rec = taskRecord(cl, fmt.Sprintf("e%05d", i), "EC2", status, i%3, fmt.Sprintf("i%d", i%2), time.Time{}, stopped)
			}
			batch = append(batch, rec)
		}
		if err := w.st.CreateTasks(batch); err != nil {
			t.Fatal(err)
		}
		m := metrics.New(w.ctl.MetricsState(), controller.MetricLabels())
		problems, err := testutil.GatherAndLint(m.Registry)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%d tasks stored: %s: %s", n, p.Metric, p.Text)
		}
		return testutil.CollectAndCount(m.Registry)
	}
	few, many := series(64), series(4096)
	if few != many {
		t.Errorf("%d series with 64 tasks stored, %d with 4,096", few, many)
	}
}

// The metrics index holds a share one by one only of the tasks not
// stopped: a task that stops is folded into the sums, and its share is
// taken out of them when it is forgotten, whether the index read it whole
// or followed it. A stopped task written back to a status before STOPPED,
// which berth never writes, has the tasks read again rather than summed
// wrong.
func TestTheMetricsIndexHoldsOnlyTheTasksNotStopped(t *testing.T) {
	for _, tc := range []struct {
		name string
		// readFirst: the index reads the store before the tasks stop
		// (else at its first scrape, after).
		readFirst bool
		revive    bool
	}{
		{"followed", true, false},
		{"read whole", false, false},
		{"a stopped task going back", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTaskWorld(t)
			state := w.ctl.MetricsState()
			if tc.readFirst {
				state.Snapshot()
			}
			pulled := w.clock().Add(-time.Minute)
			var batch []store.Task
			for i := range 6 {
				launch := []string{"FARGATE", "EC2"}[i%2]
				batch = append(batch, taskRecord(w.clusters[i%2], fmt.Sprintf("t%d", i), launch, "RUNNING", i%3, "i0", pulled, nil))
			}
			if err := w.st.CreateTasks(batch); err != nil {
				t.Fatal(err)
			}
			stopped := w.clock()
			for _, rec := range batch[:4] {
				if _, err := w.st.UpdateTask(rec.Cluster, rec.ID, func(r *store.Task) error {
					*r = taskRecord(rec.Cluster, rec.ID, rec.LaunchType, "STOPPED", sizeOf(rec), rec.Instance, pulled, &stopped)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			w.now.Add(int64(2 * time.Minute))
			if diff := sameSnapshot(state.Snapshot(), w.recount()); diff != "" {
				t.Fatal(diff)
			}
			if held, _ := w.ctl.IndexedTasks(); held != 2 {
				t.Errorf("the index holds %d tasks one by one, want the 2 not stopped", held)
			}
			if tc.revive {
				if _, err := w.st.UpdateTask(batch[0].Cluster, batch[0].ID, func(r *store.Task) error {
					r.LastStatus, r.StoppedAt = "RUNNING", nil
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if _, built := w.ctl.IndexedTasks(); built {
					t.Error("the index kept its sums after a stopped task went back")
				}
			}
			if err := w.st.DeleteTasks(batch[1].Cluster, batch[1].ID); err != nil {
				t.Fatal(err)
			}
			if err := w.st.DeleteTasks(batch[2].Cluster, batch[2].ID, batch[4].ID); err != nil { // stopped, and not
				t.Fatal(err)
			}
			if diff := sameSnapshot(state.Snapshot(), w.recount()); diff != "" {
				t.Fatal(diff)
			}
		})
	}
}
