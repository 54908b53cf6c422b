package controller

import (
	"iter"
	"maps"
	"slices"

	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/scheduler"
)

// placeIndex is what the tasks not STOPPED hold of each container
// instance, task by task, as placement reads it (RunTask's and
// StartTask's snapshot), kept up to date as the tasks change: the store
// tells it of every task written or forgotten, inside the writing
// transaction and so in commit order (store.WatchTasks). A task holds its
// instance from the commit that records it, and frees it at the commit
// that records it STOPPED or forgets it. The index is read from the store
// once, at Start or at the first placement, in a transaction no write
// overlaps, and again only if a transaction it was told of failed to
// commit. A placement then costs the same with ten tasks of the cluster
// stored as with ten thousand stopped ones.
//
// Between the end of a transaction and a commit that then fails, the index
// shows what the transaction wrote, as the metrics' sums do: a placement
// in that instant may count a stop the store then does not hold. A failed
// commit is the store failing to write, and the next placement reads the
// store whole.
//
// It is kept as the metrics' taskIndex is (watchedIndex), and watches
// the store on its own: the sums there cannot give the tasks themselves
// (their groups and ports), which placement needs, and each stays small
// with one job.
type placeIndex struct {
	watchedIndex
	// held is, by cluster, then instance ID, then task ID, what each task
	// not STOPPED holds.
	held map[string]map[string]map[string]heldTask
	// on is the instance of each task held, by cluster NUL task ID, so
	// that a change finds where the task's old share is.
	on map[string]string
}

// heldTask is what one task holds of its instance.
type heldTask struct {
	group string
	needs scheduler.Resources
	// running: the task is RUNNING, not yet pending.
	running bool
}

// holding says whether a task holds its instance: an EC2 task, placed,
// that has not stopped.
func holding(t store.Task) bool { return t.Instance != "" && t.LastStatus != "STOPPED" }

// TasksChanged applies a transaction's changes, in commit order, once the
// index holds every stored task.
func (ix *placeIndex) TasksChanged(changes []store.TaskChange) {
	ix.whileBuilt(func() {
		for _, ch := range changes {
			ix.take(ch.Task.Cluster, ch.Task.ID)
			if !ch.Gone {
				ix.add(ch.Task)
			}
		}
	})
}

// ensure reads the stored tasks into the index unless it holds them all.
func (ix *placeIndex) ensure(st *store.Store) error {
	return ix.readWhole(st, func(recs iter.Seq[store.Task]) {
		ix.held = map[string]map[string]map[string]heldTask{}
		ix.on = map[string]string{}
		for rec := range recs {
			ix.add(rec)
		}
	})
}

// add holds what t holds, if it holds anything. Its ports are copied: the
// record's slices are its writer's.
func (ix *placeIndex) add(t store.Task) {
	if !holding(t) {
		return
	}
	instances := ix.held[t.Cluster]
	if instances == nil {
		instances = map[string]map[string]heldTask{}
		ix.held[t.Cluster] = instances
	}
	tasks := instances[t.Instance]
	if tasks == nil {
		tasks = map[string]heldTask{}
		instances[t.Instance] = tasks
	}
	tasks[t.ID] = heldTask{group: t.Group, needs: scheduler.Resources{CPU: int(t.Holds.CPU), MemoryMiB: int(t.Holds.MemoryMiB),
		TCPPorts: slices.Clone(t.Holds.TCPPorts), UDPPorts: slices.Clone(t.Holds.UDPPorts)}, running: t.LastStatus == "RUNNING"}
	ix.on[t.Cluster+"\x00"+t.ID] = t.Instance
}

// take frees what the task held, if it held anything.
func (ix *placeIndex) take(cluster, id string) {
	key := cluster + "\x00" + id
	instance, ok := ix.on[key]
	if !ok {
		return
	}
	delete(ix.on, key)
	tasks := ix.held[cluster][instance]
	delete(tasks, id)
	if len(tasks) == 0 {
		delete(ix.held[cluster], instance)
		if len(ix.held[cluster]) == 0 {
			delete(ix.held, cluster)
		}
	}
}

// tasksOf is, by instance ID, the tasks that hold the instances of
// cluster, each as the scheduler takes it (arn names a task by its ID),
// in ID order. It reads the store first if the index does not hold it
// whole, and again if a failed commit made it unsure meanwhile. The
// slices are the caller's; the ports in them are shared with the index,
// which never changes them in place.
func (ix *placeIndex) tasksOf(st *store.Store, cluster string, arn func(id string) string) (map[string][]scheduler.Task, error) {
	held, err := ix.cluster(st, cluster)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]scheduler.Task, len(held))
	for instance, tasks := range held {
		ids := slices.Sorted(maps.Keys(tasks))
		list := make([]scheduler.Task, len(ids))
		for i, id := range ids {
			list[i] = scheduler.Task{ARN: arn(id), Group: tasks[id].group, Needs: tasks[id].needs}
		}
		out[instance] = list
	}
	return out, nil
}

// onInstance is, in ID order, the IDs of the tasks that hold instance of
// cluster (those placed there and not STOPPED), and their load as the
// store adds it up (store.InstanceLoad: RUNNING ones run, the others
// wait, and the ports follow the tasks' ID order). It reads the store
// first as tasksOf does, and then costs what the instance holds, not
// what the cluster does: an agent's Hello so reads no other task.
func (ix *placeIndex) onInstance(st *store.Store, cluster, instance string) ([]string, store.InstanceLoad, error) {
	var tasks map[string]heldTask
	err := ix.whenBuilt(st, func() { tasks = maps.Clone(ix.held[cluster][instance]) })
	if err != nil {
		return nil, store.InstanceLoad{}, err
	}
	ids, load := loadOf(tasks)
	return ids, load, nil
}

// heldSum is what the tasks holding an instance add up to, as
// DescribeContainerInstances and the cluster query language see it.
type heldSum struct {
	load store.InstanceLoad
	// groups are the tasks' groups, each once, in order.
	groups []string
}

// loads is, by instance ID, what the tasks holding the instances of
// cluster add up to (onInstance's load, and their groups): what the
// instances of a cluster are shown with, without a task read from the
// store. An instance no task holds is not in it.
func (ix *placeIndex) loads(st *store.Store, cluster string) (map[string]heldSum, error) {
	held, err := ix.cluster(st, cluster)
	if err != nil {
		return nil, err
	}
	out := make(map[string]heldSum, len(held))
	for instance, tasks := range held {
		_, load := loadOf(tasks)
		var groups []string
		for _, t := range tasks {
			groups = append(groups, t.group)
		}
		slices.Sort(groups)
		out[instance] = heldSum{load: load, groups: slices.Compact(groups)}
	}
	return out, nil
}

// cluster is a copy of what the tasks of cluster hold, by instance, then
// task ID. It reads the store first if the index does not hold it whole,
// and again if a failed commit made it unsure meanwhile. The ports are
// shared with the index, which never changes them in place.
func (ix *placeIndex) cluster(st *store.Store, cluster string) (map[string]map[string]heldTask, error) {
	var out map[string]map[string]heldTask
	err := ix.whenBuilt(st, func() {
		out = make(map[string]map[string]heldTask, len(ix.held[cluster]))
		for instance, tasks := range ix.held[cluster] {
			out[instance] = maps.Clone(tasks)
		}
	})
	return out, err
}

// whenBuilt runs read under the lock once the index holds every stored
// task, reading the store first if it does not.
func (ix *placeIndex) whenBuilt(st *store.Store, read func()) error {
	for {
		if err := ix.ensure(st); err != nil {
			return err
		}
		ix.mu.Lock()
		built := ix.built
		if built {
			read()
		}
		ix.mu.Unlock()
		if built {
			return nil
		}
	}
}

// loadOf adds up what tasks hold as the store does (store.InstanceLoad),
// in the order of their IDs, which it returns.
func loadOf(tasks map[string]heldTask) ([]string, store.InstanceLoad) {
	ids := slices.Sorted(maps.Keys(tasks))
	var load store.InstanceLoad
	for _, id := range ids {
		t := tasks[id]
		if t.running {
			load.Running++
		} else {
			load.Pending++
		}
		load.Held.CPU += int64(t.needs.CPU)
		load.Held.MemoryMiB += int64(t.needs.MemoryMiB)
		load.Held.TCPPorts = append(load.Held.TCPPorts, t.needs.TCPPorts...)
		load.Held.UDPPorts = append(load.Held.UDPPorts, t.needs.UDPPorts...)
	}
	return ids, load
}
