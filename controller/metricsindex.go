package controller

import (
	"encoding/json"
	"iter"
	"slices"
	"sort"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/cost"
	"github.com/berthdev/berth/taskdef"
)

// taskIndex is what the metrics and the usage sampler need of the stored
// tasks, summed, and kept up to date as the tasks change: the store tells
// it of every task written or forgotten, in commit order (store.WatchTasks),
// whichever of the controller's paths wrote it (RunTask's commit, the
// agents' reports, StopTask, the forgetting of stopped tasks ...). It is
// read from the store once, at Start or at the first scrape, in a
// transaction no write overlaps, and again only if a transaction it was
// told of failed to commit. A scrape then
// costs the same with ten tasks stored as with ten thousand.
//
// It holds, for each task not yet stopped, what it adds to the sums, so
// that a change takes out the task's old share and adds its new one. A
// stopped task's share no longer changes (STOPPED is the last status, its
// billed time is fixed), so it is summed and not kept: most stored tasks
// are stopped ones kept for the hour ECS shows them, and the index costs
// memory for the tasks that run, not for those the store keeps. When a
// stopped task is forgotten, its share is worked out again from the task
// as it was stored (store.TaskChange) and taken out. The sums are:
//   - the tasks by cluster, launch type and lastStatus;
//   - the RUNNING tasks of each cluster (the usage sampler's);
//   - what the tasks not STOPPED hold of each container instance (its
//     reservation);
//   - the Fargate capacity the tasks not STOPPED hold;
//   - what the Fargate tasks are billed for, by size: the seconds of those
//     that stopped, and the starts of those running, summed so that their
//     billed time at any instant is worked out without a walk over them
//     (fargateBill).
type taskIndex struct {
	watchedIndex

	tasks   map[string]*indexedTask // the tasks not stopped (held), by cluster NUL ID
	counts  map[taskCountKey]int
	running map[string]map[string]bool // cluster → IDs of its RUNNING tasks
	held    map[instanceKey]*instanceHeld
	// fargateCPU (units) and fargateMiB are what the Fargate tasks not
	// STOPPED hold.
	fargateCPU, fargateMiB int
	bills                  map[fargateSize]*fargateBill
}

type taskCountKey struct{ cluster, launchType, status string }

type instanceKey struct{ cluster, instance string }

// instanceHeld is what the tasks not STOPPED on an instance hold.
type instanceHeld struct {
	tasks    int
	cpu, mib int64
}

// fargateSize is what a Fargate task is priced by.
type fargateSize struct {
	cpu, memoryMiB, storageGB int
	spot                      bool
}

// indexedTask is one task's share of the sums.
type indexedTask struct {
	key                             string
	cluster, id, launchType, status string
	instance                        string
	holdsCPU, holdsMiB              int64
	fargate                         bool // its runtime gave its size
	size                            fargateSize
	pullStart                       time.Time // zero: not billed (yet)
	pullKnown                       bool      // pullStart will not change
	stoppedAt                       *time.Time
	aged                            bool // billed by the ceiling sum (fargateBill)
	startSecond                     int64
	startMillis                     int
}

// fargateBill is the billed time of the Fargate tasks of one size. AWS
// bills each task per second, rounded up, for at least a minute. The
// stopped tasks' seconds are fixed, so summed. A running task is young in
// its first minute, billed a minute; after it, its billed seconds at now =
// N+g (whole seconds N, fraction g) from its start s = S+f (f in
// milliseconds, as starts are kept) are ceil(N+g-S-f) = N-S+[f < g]. Over
// the aged tasks that is n·N - ΣS + #{f < g}: kept as n, ΣS and how many
// starts fall on each millisecond of a second, it costs the same for any
// number of tasks.
type fargateBill struct {
	stoppedSeconds int64
	young          map[string]time.Time // running, in their first minute
	aged           int64
	sumStartSecond int64
	startsAtMilli  [1000]int32
}

func (ix *taskIndex) reset() {
	ix.tasks = map[string]*indexedTask{}
	ix.counts = map[taskCountKey]int{}
	ix.running = map[string]map[string]bool{}
	ix.held = map[instanceKey]*instanceHeld{}
	ix.fargateCPU, ix.fargateMiB = 0, 0
	ix.bills = map[fargateSize]*fargateBill{}
}

// TasksChanged applies a transaction's changes, in commit order, once the
// sums hold every stored task.
func (ix *taskIndex) TasksChanged(changes []store.TaskChange) {
	ix.whileBuilt(func() {
		for _, ch := range changes {
			key := ch.Task.Cluster + "\x00" + ch.Task.ID
			prev := ix.tasks[key]
			switch {
			case prev != nil: // a task not stopped before the change
				ix.take(prev)
				delete(ix.tasks, key)
				if !ch.Gone {
					ix.add(shareOf(key, ch.Task, prev))
				}
			case ch.Created:
				ix.add(shareOf(key, ch.Task, nil))
			case !settled(ch.Task):
				// A stored task neither held nor stopped: a stopped one
				// went back, or a forgotten record did not decode. Its
				// share before is not known; the tasks are read again.
				ix.built = false
				return
			case ch.Gone: // a stopped task forgotten
				ix.take(new(shareOf(key, ch.Task, nil)))
			default:
				// A stopped task written again (its tags): its share is
				// as it was.
			}
		}
	})
}

// settled says whether a task's share of the sums is fixed for good: it
// has stopped, and when.
func settled(rec store.Task) bool { return rec.LastStatus == "STOPPED" && rec.StoppedAt != nil }

// ensure reads the stored tasks into the sums unless they hold them all.
func (ix *taskIndex) ensure(st *store.Store) error {
	return ix.readWhole(st, func(recs iter.Seq[store.Task]) {
		ix.reset()
		for rec := range recs {
			ix.add(shareOf(rec.Cluster+"\x00"+rec.ID, rec, nil))
		}
	})
}

// shareOf is what rec adds to the sums. A Fargate task's pull start is
// read from its body until it is known (it never changes after), or taken
// from prev, the task's share before.
func shareOf(key string, rec store.Task, prev *indexedTask) indexedTask {
	e := indexedTask{key: key, cluster: rec.Cluster, id: rec.ID, launchType: rec.LaunchType, status: rec.LastStatus,
		instance: rec.Instance, holdsCPU: rec.Holds.CPU, holdsMiB: rec.Holds.MemoryMiB, stoppedAt: rec.StoppedAt}
	if rec.LaunchType != taskdef.LaunchFargate {
		return e
	}
	var rt taskRuntime
	if json.Unmarshal(rec.Runtime, &rt) != nil {
		return e
	}
	e.fargate = true
	e.size = fargateSize{cpu: rt.CPU, memoryMiB: rt.MemoryMiB, spot: rt.Capacity == "FARGATE_SPOT"}
	if prev != nil && prev.pullKnown {
		e.pullStart, e.pullKnown, e.size.storageGB = prev.pullStart, true, prev.size.storageGB
		return e
	}
	var body struct {
		PullStartedAt    api.Timestamp         `json:"pullStartedAt"`
		EphemeralStorage *api.EphemeralStorage `json:"ephemeralStorage"`
	}
	if json.Unmarshal(rec.Body, &body) != nil {
		return e
	}
	if !body.PullStartedAt.IsZero() {
		e.pullStart, e.pullKnown = body.PullStartedAt.Time.UTC(), true
		if body.EphemeralStorage != nil {
			e.size.storageGB = int(body.EphemeralStorage.SizeInGiB)
		}
	}
	return e
}

// add adds e's share to the sums; e is held unless its task has stopped.
func (ix *taskIndex) add(e indexedTask) {
	t := &e
	if !t.settled() {
		ix.tasks[e.key] = t
	}
	ix.counts[taskCountKey{t.cluster, t.launchType, t.status}]++
	if t.status == "RUNNING" {
		if ix.running[t.cluster] == nil {
			ix.running[t.cluster] = map[string]bool{}
		}
		ix.running[t.cluster][t.id] = true
	}
	if t.instance != "" && t.status != "STOPPED" {
		k := instanceKey{t.cluster, t.instance}
		h := ix.held[k]
		if h == nil {
			h = &instanceHeld{}
			ix.held[k] = h
		}
		h.tasks++
		h.cpu += t.holdsCPU
		h.mib += t.holdsMiB
	}
	if !t.fargate {
		return
	}
	if t.status != "STOPPED" {
		ix.fargateCPU += t.size.cpu
		ix.fargateMiB += t.size.memoryMiB
	}
	if t.pullStart.IsZero() {
		return
	}
	b := ix.bills[t.size]
	if b == nil {
		b = &fargateBill{young: map[string]time.Time{}}
		ix.bills[t.size] = b
	}
	if t.stoppedAt != nil {
		b.stoppedSeconds += int64(cost.Billed(t.pullStart, *t.stoppedAt) / time.Second)
		return
	}
	t.aged = false
	b.young[t.key] = t.pullStart
}

// settled is settled of the task e is the share of.
func (e *indexedTask) settled() bool { return e.status == "STOPPED" && e.stoppedAt != nil }

// take takes a task's share out of the sums.
func (ix *taskIndex) take(t *indexedTask) {
	k := taskCountKey{t.cluster, t.launchType, t.status}
	if ix.counts[k]--; ix.counts[k] == 0 {
		delete(ix.counts, k)
	}
	if t.status == "RUNNING" {
		delete(ix.running[t.cluster], t.id)
		if len(ix.running[t.cluster]) == 0 {
			delete(ix.running, t.cluster)
		}
	}
	if t.instance != "" && t.status != "STOPPED" {
		k := instanceKey{t.cluster, t.instance}
		h := ix.held[k]
		h.tasks--
		h.cpu -= t.holdsCPU
		h.mib -= t.holdsMiB
		if h.tasks == 0 {
			delete(ix.held, k)
		}
	}
	if !t.fargate {
		return
	}
	if t.status != "STOPPED" {
		ix.fargateCPU -= t.size.cpu
		ix.fargateMiB -= t.size.memoryMiB
	}
	if t.pullStart.IsZero() {
		return
	}
	b := ix.bills[t.size]
	switch {
	case t.stoppedAt != nil:
		b.stoppedSeconds -= int64(cost.Billed(t.pullStart, *t.stoppedAt) / time.Second)
	case t.aged:
		b.aged--
		b.sumStartSecond -= t.startSecond
		b.startsAtMilli[t.startMillis]--
	default:
		delete(b.young, t.key)
	}
}

// billedHours is the time the Fargate tasks of one size are billed for
// at now, in hours. Running tasks out of their first minute move to the
// aged sums as they are met here.
func (ix *taskIndex) billedHours(b *fargateBill, now time.Time) float64 {
	for key, start := range b.young {
		if now.Sub(start) <= time.Minute {
			continue
		}
		t := ix.tasks[key]
		ms := start.UnixMilli()
		t.aged, t.startSecond, t.startMillis = true, floorDiv(ms, 1000), int(ms-floorDiv(ms, 1000)*1000)
		b.aged++
		b.sumStartSecond += t.startSecond
		b.startsAtMilli[t.startMillis]++
		delete(b.young, key)
	}
	seconds := b.stoppedSeconds + int64(len(b.young))*60
	if b.aged > 0 {
		nowSecond := floorDiv(now.UnixNano(), int64(time.Second))
		fraction := now.UnixNano() - nowSecond*int64(time.Second)
		var before int64 // aged starts whose millisecond of the second falls before now's fraction
		for ms := 0; ms < 1000 && int64(ms)*int64(time.Millisecond) < fraction; ms++ {
			before += int64(b.startsAtMilli[ms])
		}
		seconds += b.aged*nowSecond - b.sumStartSecond + before
	}
	return float64(seconds) / 3600
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// indexedSums is the index summed for a scrape.
type indexedSums struct {
	counts                 map[taskCountKey]int
	held                   map[instanceKey]instanceHeld
	fargateCPU, fargateMiB int
	fargateDollars         float64
}

// sums reads the index for a scrape, pricing the Fargate tasks' billed
// time by prices at now.
func (ix *taskIndex) sums(prices cost.Prices, now time.Time) indexedSums {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	out := indexedSums{counts: make(map[taskCountKey]int, len(ix.counts)), held: make(map[instanceKey]instanceHeld, len(ix.held)),
		fargateCPU: ix.fargateCPU, fargateMiB: ix.fargateMiB}
	for k, n := range ix.counts {
		out.counts[k] = n
	}
	for k, h := range ix.held {
		out.held[k] = *h
	}
	for size, b := range ix.bills {
		perHour := prices.Fargate(cost.FargateTask{CPU: size.cpu, MemoryMiB: size.memoryMiB, StorageGB: size.storageGB, Spot: size.spot,
			Start: now, End: now.Add(time.Hour)})
		out.fargateDollars += perHour * ix.billedHours(b, now)
	}
	return out
}

// runningIDs are the IDs of the RUNNING tasks of cluster ("" for every
// cluster), by cluster, in ID order, at most limit of them (-1: all).
func (ix *taskIndex) runningIDs(cluster string, limit int) (clusters []string, ids map[string][]string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ids = map[string][]string{}
	for cl := range ix.running {
		if cluster == "" || cl == cluster {
			clusters = append(clusters, cl)
		}
	}
	sort.Strings(clusters)
	n := 0
	for _, cl := range clusters {
		for id := range ix.running[cl] {
			ids[cl] = append(ids[cl], id)
		}
		slices.Sort(ids[cl])
		if limit >= 0 && n+len(ids[cl]) > limit {
			ids[cl] = ids[cl][:limit-n]
		}
		n += len(ids[cl])
	}
	return clusters, ids
}
