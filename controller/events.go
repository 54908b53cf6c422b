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
// them, for readers that come and go.
type eventLog struct {
	mu      sync.Mutex
	events  []api.Event // the latest, oldest first
	first   uint64      // the sequence number of events[0]
	changed chan struct{}
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

// add keeps e, dropping the oldest beyond EventHistory, and wakes readers.
func (l *eventLog) add(e api.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	if len(l.events) > EventHistory {
		drop := len(l.events) - EventHistory
		l.events = append(l.events[:0:0], l.events[drop:]...)
		l.first += uint64(drop)
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// read returns the events from sequence number from (those still kept),
// the number after the last, and a channel closed at the next event.
func (l *eventLog) read(from uint64) ([]api.Event, uint64, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from = max(from, l.first)
	end := l.first + uint64(len(l.events))
	out := append([]api.Event(nil), l.events[from-l.first:]...)
	return out, end, l.changed
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
