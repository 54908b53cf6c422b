package controller

import (
	"iter"
	"sync"

	"github.com/berthdev/berth/controller/store"
)

// watchedIndex is what every index of the stored tasks that the store's
// task watch keeps up to date (store.WatchTasks) has besides what it
// holds: its lock, and whether it holds every stored task. It holds them
// once it has read them whole, in a transaction no write overlaps, and has
// since been told of each change in commit order; a transaction it was
// told of that failed to commit makes it read them again at its next use.
type watchedIndex struct {
	mu sync.Mutex
	// built is true while the index holds every stored task.
	built bool
}

// TasksUnsure: a transaction it was told of did not commit; the tasks are
// read again at the next use.
func (w *watchedIndex) TasksUnsure() {
	w.mu.Lock()
	w.built = false
	w.mu.Unlock()
}

// whileBuilt runs change under the lock if the index holds every stored
// task.
// Until it is read whole the index keeps nothing: the read (readWhole)
// comes after the transaction that changed the tasks has committed, and
// sees what it wrote.
func (w *watchedIndex) whileBuilt(change func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.built {
		change()
	}
}

// readWhole fills the index with every stored task, by fill, unless it
// holds them all. The read is one transaction no write overlaps
// (store.ReadTasksAlone), so that no change is missed or applied twice.
// fill takes the tasks in one at a time as they are read, under the lock:
// those who wait for the index wait for the read, as they would for the
// index to be built, and the read never holds every task in memory at
// once. A read cut short by a task that cannot be read leaves the index
// unbuilt.
func (w *watchedIndex) readWhole(st *store.Store, fill func(tasks iter.Seq[store.Task])) error {
	w.mu.Lock()
	built := w.built
	w.mu.Unlock()
	if built {
		return nil
	}
	var filled bool
	err := st.ReadTasksAlone(func(tasks iter.Seq[store.Task]) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.built {
			return
		}
		fill(tasks)
		w.built, filled = true, true
	})
	if err != nil && filled {
		w.mu.Lock()
		w.built = false
		w.mu.Unlock()
	}
	return err
}
