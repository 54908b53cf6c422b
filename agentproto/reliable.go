package agentproto

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
)

// NewMessageID makes a message ID: 16 random bytes in hex.
func NewMessageID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

// Outbox holds the messages one side has sent and the other has not yet
// acknowledged, in the order they were sent, to send again after a
// reconnect. It is safe for concurrent use.
type Outbox struct {
	mu    sync.Mutex
	order []string
	byID  map[string]Frame
}

// NewOutbox returns an empty outbox.
func NewOutbox() *Outbox { return &Outbox{byID: map[string]Frame{}} }

// Add keeps the message id of type typ until it is acknowledged, and
// returns the frame to send.
func (o *Outbox) Add(id, typ string, msg any) (Frame, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return Frame{}, fmt.Errorf("encode %s: %w", typ, err)
	}
	f := Frame{Type: typ, Message: body}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, dup := o.byID[id]; !dup {
		o.order = append(o.order, id)
	}
	o.byID[id] = f
	return f, nil
}

// Ack forgets the message id; it reports whether the outbox held it (an
// acknowledgement of a message acknowledged before holds nothing).
func (o *Outbox) Ack(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.byID[id]; !ok {
		return false
	}
	delete(o.byID, id)
	for i, v := range o.order {
		if v == id {
			o.order = append(o.order[:i], o.order[i+1:]...)
			break
		}
	}
	return true
}

// Pending lists the messages not yet acknowledged, oldest first.
func (o *Outbox) Pending() []Frame {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Frame, len(o.order))
	for i, id := range o.order {
		out[i] = o.byID[id]
	}
	return out
}

// Len is how many messages await an acknowledgement.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.order)
}

// Seen remembers the IDs of the last messages received, so that a message
// sent again after a reconnect, or twice, is acted on once. It forgets the
// oldest beyond its size: a sender resends only what is unacknowledged,
// far fewer. It is safe for concurrent use.
type Seen struct {
	mu   sync.Mutex
	ids  map[string]bool
	ring []string
	next int
}

// NewSeen remembers the last size message IDs.
func NewSeen(size int) *Seen {
	return &Seen{ids: make(map[string]bool, size), ring: make([]string, size)}
}

// Has reports whether id is among those remembered, without recording it.
func (s *Seen) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

// First records id and reports whether it is new: false for a message
// seen before, which the receiver acknowledges again and otherwise drops.
func (s *Seen) First(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids[id] {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next] = id
	s.next = (s.next + 1) % len(s.ring)
	s.ids[id] = true
	return true
}
