package controller

import "sync"

// reportQueue gathers the agents' reports into the store's transactions,
// as a database gathers its commits: a report that arrives while a batch
// is being written waits for that write to end, and goes into the next
// transaction with every other report that arrived meanwhile. One write
// (and one sync to disk) so serves all of them instead of each its own,
// which a task's way to RUNNING, a handful of reports, would otherwise
// pay one after the other.
//
// The reports are applied in the order they joined the queue, a batch
// after the one before it: a task's reports are recorded in the order its
// agent made them, and never one before an earlier one.
type reportQueue struct {
	mu      sync.Mutex // guards waiting
	waiting []*report
	// writing is held while a batch is written: whoever holds it next
	// writes everything that waits.
	writing sync.Mutex
}

// await queues reports and returns once write has written them: in a
// batch another caller wrote meanwhile, or in one this caller writes.
func (q *reportQueue) await(reports []*report, write func([]*report)) {
	if len(reports) == 0 {
		return
	}
	q.mu.Lock()
	q.waiting = append(q.waiting, reports...)
	q.mu.Unlock()
	q.writing.Lock()
	defer q.writing.Unlock()
	// A batch takes every report waiting, so these were written together
	// or are all still waiting.
	if reports[0].written {
		return
	}
	q.mu.Lock()
	batch := q.waiting
	q.waiting = nil
	q.mu.Unlock()
	write(batch)
}
