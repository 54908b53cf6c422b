// Package clock is the time the agent reads and waits on: the real one by
// default, a manual one (Manual) in tests, so that startTimeout,
// stopTimeout and cleanup waits are exercised by moving the clock instead
// of sleeping.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once d has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is a time.Timer of a Clock. As time.Timer's since Go 1.23, its
// Stop and Reset leave no stale value in C.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the system clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Manual is a clock that moves only when told to (Advance, Set). Its
// timers fire, in the order of their deadlines, as it passes them.
type Manual struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*manualTimer]struct{}
	// changed is closed and replaced whenever a timer is set.
	changed chan struct{}
}

// NewManual returns a manual clock showing start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start, timers: map[*manualTimer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock d forward and fires the timers it passes.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	now := m.now
	var due []*manualTimer
	for t := range m.timers {
		if !t.at.After(now) {
			due = append(due, t)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		delete(m.timers, t)
	}
	m.mu.Unlock()
	for _, t := range due {
		t.fire(now)
	}
}

// Timers returns how many timers are waiting: a test waits for the code
// under test to set its timer before it advances the clock past it.
func (m *Manual) Timers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

// TimerSet returns a channel closed the next time a timer is set or reset.
func (m *Manual) TimerSet() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed
}

// NewTimer returns a timer that fires once the clock has moved d on.
func (m *Manual) NewTimer(d time.Duration) Timer {
	t := &manualTimer{m: m, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

type manualTimer struct {
	m  *Manual
	c  chan time.Time
	at time.Time
	// fn, when set, runs instead of a send on c (AfterFunc).
	fn func()
}

// AfterFunc runs f in its own goroutine once the clock has moved d on.
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	t := &manualTimer{m: m, c: make(chan time.Time, 1), fn: f}
	t.Reset(d)
	return t
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) fire(now time.Time) {
	if t.fn != nil {
		go t.fn()
		return
	}
	select {
	case t.c <- now:
	default:
	}
}

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	_, active := t.m.timers[t]
	delete(t.m.timers, t)
	t.m.mu.Unlock()
	t.drain()
	return active
}

func (t *manualTimer) Reset(d time.Duration) bool {
	t.m.mu.Lock()
	_, active := t.m.timers[t]
	t.at = t.m.now.Add(d)
	fireNow := d <= 0
	if fireNow {
		delete(t.m.timers, t)
	} else {
		t.m.timers[t] = struct{}{}
		close(t.m.changed)
		t.m.changed = make(chan struct{})
	}
	now := t.m.now
	t.m.mu.Unlock()
	t.drain()
	if fireNow {
		t.fire(now)
	}
	return active
}

func (t *manualTimer) drain() {
	select {
	case <-t.c:
	default:
	}
}
