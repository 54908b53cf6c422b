package controller

import (
	"github.com/berthdev/berth/controller/store"
	"github.com/berthdev/berth/scheduler"
)

// OnStatusRecorded has fn told of each change of a task's lastStatus the
// controller records, with the record as it then is.
func (c *Controller) OnStatusRecorded(fn func(store.Task)) { c.statusRecorded.Store(&fn) }

// HeldTasks is, by instance ID, the tasks placement finds holding the
// instances of cluster, as the controller keeps them.
func (c *Controller) HeldTasks(cluster string) (map[string][]scheduler.Task, error) {
	return c.held.tasksOf(c.store, cluster, func(id string) string { return c.namer.Task(cluster, id) })
}

// HeldWatcher is the watcher of the tasks that keeps what they hold, to be
// told what a store would of a transaction that then fails to commit.
func (c *Controller) HeldWatcher() store.TaskWatcher { return &c.held }

// IndexedTasks is how many tasks the metrics index holds a share of, one
// by one, and whether it holds every stored task's in its sums.
func (c *Controller) IndexedTasks() (held int, built bool) {
	c.index.mu.Lock()
	defer c.index.mu.Unlock()
	return len(c.index.tasks), c.index.built
}

// InstanceLoad is the load of instance id of cluster as a registration
// through the controller finds it, from the placement index.
func (c *Controller) InstanceLoad(cluster, id string) (store.InstanceLoad, error) {
	_, load, err := c.held.onInstance(c.store, cluster, id)
	return load, err
}

// InstanceTasks are the tasks of an instance an agent's Welcome reads.
func (c *Controller) InstanceTasks(cluster, id string) ([]store.Task, error) {
	return c.instanceTasks(cluster, id)
}
