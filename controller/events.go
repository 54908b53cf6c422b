package controller

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/berthdev/berth/controller/api"
	"github.com/berthdev/berth/controller/store"
)

// EventHistory is how many of the latest events the server keeps for
// GET /berth/v1/events: a reader further behind than that misses the oldest.
const EventHistory = 1000

// eventLog keeps the latest events, as EventBridge would have delivered
// them, for readers that come and go. It is a ring of EventHistory slots:
// keeping an event costs the same however many are kept.
type eventLog struct {
	mu   sync.Mutex
	ring []api.Event // grows to EventHistory, then each event overwrites the oldest
	// next is the sequence number the next event gets; the events kept
	// are those from next-len(ring), event n in ring[n%EventHistory].
	next    uint64
	changed chan struct{}
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

// add keeps e, in place of the oldest once EventHistory are kept, and
// wakes readers.
func (l *eventLog) add(e api.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < EventHistory {
		l.ring = append(l.ring, e)
	} else {
		l.ring[l.next%EventHistory] = e
	}
	l.next++
	close(l.changed)
	l.changed = make(chan struct{})
}

// read returns the events from sequence number from (those still kept),
// the number after the last, and a channel closed at the next event.
func (l *eventLog) read(from uint64) ([]api.Event, uint64, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from = max(from, l.next-uint64(len(l.ring)))
	out := make([]api.Event, 0, l.next-min(from, l.next))
	for n := from; n < l.next; n++ {
		out = append(out, l.ring[n%EventHistory])
	}
	return out, l.next, l.changed
}

// wait returns a channel closed at the next event.
func (l *eventLog) wait() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// Events calls emit with each kept event of since or later (a zero since
// takes them all), oldest first; with follow it goes on with each new
// event until ctx ends or emit fails.
func (c *Controller) Events(ctx context.Context, since time.Time, follow bool, emit func(api.Event) error) error {
	var next uint64
	for {
		events, end, changed := c.events.read(next)
		next = end
		for _, e := range events {
			if e.Time.Before(since) {
				continue
			}
			if err := emit(e); err != nil {
				return err
			}
		}
		if !follow {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// event wraps the detail of a change at at in EventBridge's envelope.
func (c *Controller) event(detailType, resource string, at time.Time, detail any) {
	body, err := json.Marshal(detail)
	if err != nil {
		c.opts.Logf("event of %s: %v", resource, err)
		return
	}
	c.events.add(api.Event{Version: "0", ID: newUUID(), DetailType: detailType, Source: "aws.ecs",
		Account: c.namer.AccountID, Time: at, Region: c.namer.Region, Resources: []string{resource}, Detail: body})
}

// taskChanged sends the event of a task's change, as the store now has it:
// the task as DescribeTasks shows it, in the event's shape, less its tags.
func (c *Controller) taskChanged(rec store.Task) {
	t, err := taskOf(rec)
	if err != nil {
		c.opts.Logf("event of task %s: %v", rec.ID, err)
		return
	}
	at := c.now().UTC()
	c.event(api.DetailTypeTask, t.TaskArn, at, api.NewTaskStateChange(t, at))
}

// instanceChanged sends the event of a container instance's change.
func (c *Controller) instanceChanged(rec store.ContainerInstance) {
	inst := c.instance(rec, false)
	at := c.now().UTC()
	c.event(api.DetailTypeInstance, inst.ContainerInstanceArn, at, api.NewContainerInstanceStateChange(inst, c.namer.Cluster(rec.Cluster), at))
}
