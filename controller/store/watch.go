package store

import (
	"errors"
	"fmt"
	"iter"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// TaskChange is one task written or forgotten by a transaction: Task is
// the task as written, whole; when Gone, the task was forgotten and Task
// is what the store held of it until then, whole, so that a watcher that
// keeps only sums of some tasks (those that no longer change) can take the
// task's share out of them. Created is a task the transaction stored anew.
type TaskChange struct {
	Task    Task
	Gone    bool
	Created bool
}

// TaskWatcher keeps something derived from the tasks (counts, sums) up to
// date as they change, instead of reading them all again.
type TaskWatcher interface {
	// TasksChanged is told what a transaction wrote, at its end, inside
	// it: the changes arrive in the order the transactions commit. It must
	// not read the store (the writing transaction holds it) nor block.
	TasksChanged(changes []TaskChange)
	// TasksUnsure is told that a transaction whose changes it was told of
	// failed to commit: what it was told may not be stored, and it must
	// read the tasks again.
	TasksUnsure()
}

// taskWatchers are the watchers of a store's tasks.
type taskWatchers struct {
	mu       sync.Mutex
	watchers []TaskWatcher
}

// WatchTasks has w told of every change to the tasks from now on, until
// the returned function is called.
func (s *Store) WatchTasks(w TaskWatcher) (stop func()) {
	s.watch.mu.Lock()
	s.watch.watchers = append(s.watch.watchers, w)
	s.watch.mu.Unlock()
	return func() {
		s.watch.mu.Lock()
		defer s.watch.mu.Unlock()
		for i, o := range s.watch.watchers {
			if o == w {
				s.watch.watchers = append(s.watch.watchers[:i:i], s.watch.watchers[i+1:]...)
				return
			}
		}
	}
}

// updateTasks is db.Update for a transaction that writes tasks: write adds
// what it wrote to changes, and the watchers are told of them at the end of
// the transaction, inside it, so in commit order; if it then fails to
// commit, they are told that too.
func (s *Store) updateTasks(write func(tx *bolt.Tx, changes *[]TaskChange) error) error {
	var told []TaskWatcher
	err := s.db.Update(func(tx *bolt.Tx) error {
		var changes []TaskChange
		if err := write(tx, &changes); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		s.watch.mu.Lock()
		told = append(told, s.watch.watchers...)
		s.watch.mu.Unlock()
		for _, w := range told {
			w.TasksChanged(changes)
		}
		return nil
	})
	if err != nil {
		for _, w := range told {
			w.TasksUnsure()
		}
	}
	return err
}

// errReadAlone ends ReadTasksAlone's transaction without a commit.
var errReadAlone = errors.New("read alone")

// ReadTasksAlone calls fn with every stored task, whole, by cluster then
// ID, inside a transaction no write overlaps: a TaskWatcher that takes its
// state from them in fn, and is told of the changes from then on, misses
// none and is told of none it has read already. fn must not use the store.
// The tasks are read from the file one at a time as fn ranges over them, so
// that a pass over ten thousand holds one in memory, not all of them; a
// task that cannot be read ends the range, and ReadTasksAlone returns why.
func (s *Store) ReadTasksAlone(fn func(tasks iter.Seq[Task])) error {
	var readErr error
	err := s.db.Update(func(tx *bolt.Tx) error {
		fn(func(yield func(Task) bool) {
			c := tx.Bucket(bucketTasks).Cursor()
			var buf []byte
			for k, v := c.First(); k != nil; k, v = c.Next() {
				h, err := decodeHead(&buf, k, v)
				if err == nil {
					var t Task
					if t, err = withBody(tx, k, h); err == nil {
						if !yield(t) {
							return
						}
						continue
					}
				}
				readErr = err
				return
			}
		})
		if readErr != nil {
			return readErr
		}
		return errReadAlone // nothing to commit
	})
	if errors.Is(err, errReadAlone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the tasks: %w", err)
	}
	return nil
}
