package enginetest

import (
	"context"
	"maps"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// subscriber is one Events call: the events that passed its filters and
// are not yet delivered, without limit, as the engine's own stream never
// drops one for a slow reader.
type subscriber struct {
	filter filters.Args
	queue  []events.Message
	signal chan struct{}
}

// Events follows the engine's events from options.Since (the past ones
// first) until ctx ends. The filters type, event and label are honoured.
func (e *Engine) Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error) {
	msgs := make(chan events.Message)
	errs := make(chan error, 1)
	if err := e.enter(ctx, "Events", ""); err != nil {
		errs <- err
		return msgs, errs
	}
	s := &subscriber{filter: options.Filters, signal: make(chan struct{}, 1)}
	e.mu.Lock()
	if since, ok := parseSince(options.Since); ok {
		for _, m := range e.log {
			if m.TimeNano >= since.UnixNano() && s.wants(m) {
				s.queue = append(s.queue, m)
			}
		}
		if len(s.queue) > 0 {
			s.signal <- struct{}{}
		}
	}
	e.subs[s] = struct{}{}
	e.mu.Unlock()
	go e.deliver(ctx, s, msgs, errs)
	return msgs, errs
}

func (e *Engine) deliver(ctx context.Context, s *subscriber, msgs chan<- events.Message, errs chan<- error) {
	defer func() {
		e.mu.Lock()
		delete(e.subs, s)
		e.mu.Unlock()
	}()
	for {
		e.mu.Lock()
		batch := s.queue
		s.queue = nil
		e.mu.Unlock()
		for _, m := range batch {
			select {
			case msgs <- m:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
		}
		select {
		case <-s.signal:
		case <-ctx.Done():
			errs <- ctx.Err()
			return
		}
	}
}

func (s *subscriber) wants(m events.Message) bool {
	f := s.filter
	if f.Len() == 0 {
		return true
	}
	if f.Contains("type") && !f.ExactMatch("type", string(m.Type)) {
		return false
	}
	if f.Contains("event") && !f.ExactMatch("event", string(m.Action)) {
		return false
	}
	return f.MatchKVList("label", m.Actor.Attributes)
}

// emitLocked records an event about a container and hands it to the
// subscribers; e.mu is held. Its attributes are the container's labels,
// its name and image, and extra, as Docker's.
func (e *Engine) emitLocked(c *fakeContainer, action events.Action, extra map[string]string) {
	if e.dropping {
		return
	}
	attrs := map[string]string{}
	maps.Copy(attrs, c.config.Labels)
	attrs["name"] = c.name
	attrs["image"] = c.config.Image
	maps.Copy(attrs, extra)
	now := e.clock.Now()
	m := events.Message{
		Type:     events.ContainerEventType,
		Action:   action,
		Actor:    events.Actor{ID: c.id, Attributes: attrs},
		Scope:    "local",
		Time:     now.Unix(),
		TimeNano: now.UnixNano(),
	}
	e.log = append(e.log, m)
	for s := range e.subs {
		if s.wants(m) {
			s.queue = append(s.queue, m)
			select {
			case s.signal <- struct{}{}:
			default:
			}
		}
	}
}

// DropEvents has the engine lose every event from now on (none is sent,
// none is kept for a later Events), until DropEvents(false): what a
// subscriber sees of a stream that dropped them.
func (e *Engine) DropEvents(drop bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dropping = drop
}

// EventLog returns every event the engine has sent so far, oldest first.
func (e *Engine) EventLog() []events.Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]events.Message(nil), e.log...)
}
