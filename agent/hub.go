package agent

import "sync"

// hub fans state changes out to subscribers. Each subscriber has its own
// unbounded queue drained by its own goroutine, so a slow reader neither
// loses changes nor holds the agent up.
type hub struct {
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	out    chan StateChange
	box    mailbox[StateChange]
	cancel chan struct{}
	once   sync.Once
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(buffer int) (<-chan StateChange, func()) {
	s := &subscriber{out: make(chan StateChange, max(buffer, 0)), box: newMailbox[StateChange](), cancel: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.out)
		return s.out, func() {}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go s.forward()
	return s.out, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
		s.stop()
	}
}

func (s *subscriber) stop() { s.once.Do(func() { close(s.cancel) }) }

func (s *subscriber) forward() {
	defer close(s.out)
	for {
		select {
		case <-s.box.signal:
		case <-s.cancel:
			return
		}
		for _, c := range s.box.take() {
			select {
			case s.out <- c:
			case <-s.cancel:
				return
			}
		}
	}
}

func (h *hub) publish(c StateChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.box.put(c)
	}
}

func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.subs = map[*subscriber]struct{}{}
	h.mu.Unlock()
	for s := range subs {
		s.stop()
	}
}

// mailbox is an unbounded queue with a signal channel that has a value
// whenever the queue may hold something.
type mailbox[T any] struct {
	mu     *sync.Mutex
	items  *[]T
	signal chan struct{}
}

func newMailbox[T any]() mailbox[T] {
	return mailbox[T]{mu: &sync.Mutex{}, items: new([]T), signal: make(chan struct{}, 1)}
}

func (m mailbox[T]) put(v T) {
	m.mu.Lock()
	*m.items = append(*m.items, v)
	m.mu.Unlock()
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

func (m mailbox[T]) take() []T {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := *m.items
	*m.items = nil
	return items
}
