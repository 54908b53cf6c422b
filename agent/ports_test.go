package agent

import (
	"strings"
	"testing"
)

func TestPortAllocator(t *testing.T) {
	busy := map[int]bool{dynamicPortLast: true}
	p := &portAllocator{held: map[portKey]string{}, next: dynamicPortLast - 1,
		free: func(_ string, port int, _ string) bool { return !busy[port] }}

	steps := []struct {
		name       string
		arn, proto string
		want       int
	}{
		{"the next port of the range", "a", "tcp", dynamicPortLast - 1},
		{"a port bound by someone else is skipped, and the range wraps", "a", "tcp", dynamicPortFirst},
		{"udp ports are counted apart from tcp ones", "b", "udp", dynamicPortFirst + 1},
		{"the search goes on from the last port handed out", "b", "tcp", dynamicPortFirst + 2},
	}
	for _, s := range steps {
		got, err := p.allocate(s.arn, "127.0.0.1", s.proto)
		if err != nil || got != s.want {
			t.Fatalf("%s: got %d, %v; want %d", s.name, got, err, s.want)
		}
	}

	p.release("a")
	p.next = dynamicPortLast - 1
	if got, _ := p.allocate("c", "127.0.0.1", "tcp"); got != dynamicPortLast-1 {
		t.Errorf("a released port is handed out again: got %d, want %d", got, dynamicPortLast-1)
	}
	p.hold("d", dynamicPortFirst+3, "tcp")
	p.hold("d", 8080, "tcp") // static: not the allocator's
	p.next = dynamicPortFirst + 2
	if got, _ := p.allocate("c", "127.0.0.1", "tcp"); got != dynamicPortFirst+4 {
		t.Errorf("ports held by a recovered task are skipped: got %d, want %d", got, dynamicPortFirst+4)
	}
	if _, held := p.held[portKey{8080, "tcp"}]; held {
		t.Error("a static port was recorded as a dynamic one")
	}

	full := &portAllocator{held: map[portKey]string{}, next: dynamicPortFirst, free: func(string, int, string) bool { return false }}
	if _, err := full.allocate("a", "127.0.0.2", "tcp"); err == nil || !strings.Contains(err.Error(), "no free tcp port left in 49153-65535 on 127.0.0.2") {
		t.Errorf("a full range: %v", err)
	}
}

func TestNewPortAllocatorsStartInsideTheRange(t *testing.T) {
	for range 1000 {
		if p := newPortAllocator(); p.next < dynamicPortFirst || p.next > dynamicPortLast {
			t.Fatalf("starts at %d, outside %d-%d", p.next, dynamicPortFirst, dynamicPortLast)
		}
	}
}
