package clock_test

import (
	"testing"
	"time"

	"github.com/berthdev/berth/agent/clock"
)

func TestAManualClockFiresTheTimersItPasses(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clock.NewManual(start)
	soon, later, stopped := c.NewTimer(time.Second), c.NewTimer(time.Minute), c.NewTimer(time.Second)
	if !stopped.Stop() {
		t.Error("Stop of a waiting timer reported it had fired")
	}
	c.Advance(time.Second)
	select {
	case at := <-soon.C():
		if !at.Equal(start.Add(time.Second)) {
			t.Errorf("fired at %v", at)
		}
	default:
		t.Error("a timer the clock passed did not fire")
	}
	select {
	case <-later.C():
		t.Error("a timer the clock has not reached fired")
	case <-stopped.C():
		t.Error("a stopped timer fired")
	default:
	}
	if got := c.Timers(); got != 1 {
		t.Errorf("%d timers waiting, want 1", got)
	}
	later.Reset(time.Second)
	c.Advance(time.Second)
	if _, ok := <-later.C(); !ok || c.Timers() != 0 {
		t.Error("a reset timer did not fire at its new time")
	}
}
