package controller

import (
	"iter"
	"maps"
	"slices"
	"strings"

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
	type named struct {
		id string
		heldTask
	}
	var byInstance map[string][]named
	for byInstance == nil {
		if err := ix.ensure(st); err != nil {
			return nil, err
		}
		ix.mu.Lock()
		if ix.built {
			byInstance = make(map[string][]named, len(ix.held[cluster]))
			for instance, tasks := range ix.held[cluster] {
				list := make([]named, 0, len(tasks))
				for id, h := range tasks {
					list = append(list, named{id, h})
				}
				byInstance[instance] = list
			}
		}
		ix.mu.Unlock()
	}
	out := make(map[string][]scheduler.Task, len(byInstance))
	for instance, list := range byInstance {
		slices.SortFunc(list, func(a, b named) int { return strings.Compare(a.id, b.id) })
		tasks := make([]scheduler.Task, len(list))
		for i, t := range list {
			tasks[i] = scheduler.Task{ARN: arn(t.id), Group: t.group, Needs: t.needs}
		}
		out[instance] = tasks
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
	for {
		if err := ix.ensure(st); err != nil {
			return nil, store.InstanceLoad{}, err
		}
		ix.mu.Lock()
		built := ix.built
		if built {
			tasks = maps.Clone(ix.held[cluster][instance])
		}
		ix.mu.Unlock()
		if built {
			break
		}
	}
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
	return ids, load, nil
}
