package agent

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// The range ECS takes dynamic host ports from.
const (
	dynamicPortFirst = 49153
	dynamicPortLast  = 65535
)

// portAllocator hands out dynamic host ports. The agent chooses them itself,
// rather than letting Docker, so that they come from ECS's range and are
// known before the container exists. Each allocator starts at a random
// place in the range, so that agents sharing an engine (two berth runs,
// say) seldom offer one port to two tasks in the moment before either has
// bound it, which the check that a port is free cannot see.
type portAllocator struct {
	mu   sync.Mutex
	held map[portKey]string // port → task ARN holding it
	next int
	// free reports whether a port can be bound on the host address.
	free func(ip string, port int, proto string) bool
}

type portKey struct {
	port  int
	proto string
}

func newPortAllocator() *portAllocator {
	start := dynamicPortFirst + rand.IntN(dynamicPortLast-dynamicPortFirst+1)
	return &portAllocator{held: map[portKey]string{}, next: start, free: portFree}
}

// allocate returns a dynamic port for the task, free on ip.
func (p *portAllocator) allocate(arn, ip, proto string) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 0; i <= dynamicPortLast-dynamicPortFirst; i++ {
		port := p.next
		p.next++
		if p.next > dynamicPortLast {
			p.next = dynamicPortFirst
		}
		k := portKey{port, proto}
		if _, taken := p.held[k]; taken || !p.free(ip, port, proto) {
			continue
		}
		p.held[k] = arn
		return port, nil
	}
	return 0, fmt.Errorf("no free %s port left in %d-%d on %s", proto, dynamicPortFirst, dynamicPortLast, ip)
}

// hold records a port a task already holds (a recovered task's).
func (p *portAllocator) hold(arn string, port int, proto string) {
	if port < dynamicPortFirst {
		return
	}
	p.mu.Lock()
	p.held[portKey{port, proto}] = arn
	p.mu.Unlock()
}

// release frees every port the task holds.
func (p *portAllocator) release(arn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, holder := range p.held {
		if holder == arn {
			delete(p.held, k)
		}
	}
}

// portFree binds the port for a moment to see whether anyone else has it.
func portFree(ip string, port int, proto string) bool {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}
