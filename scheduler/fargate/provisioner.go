// Package fargate provisions capacity for tasks of the Fargate launch type.
// Nobody manages instances under Fargate: each task gets capacity of exactly
// its size, with its own network interface and address, in one of the
// availability zones of the subnets it may use:
//
//	Provision(task) ─► size valid? ─► not already provisioned?
//	    ─► within the account's vCPU limit?
//	    ─► zone: fewest tasks of the task's group, then fewest tasks
//	    ─► subnet: most free addresses in that zone ─► next free address
//	Release(task)   ─► address and vCPUs back
//
// A Provisioner is safe for concurrent use.
package fargate

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Config configures a Provisioner.
type Config struct {
	// Subnets are the subnets tasks may be given addresses in; a request
	// may narrow them down. At least one is required.
	Subnets []Subnet
	// VCPULimit is the account's quota of Fargate vCPUs in use at once
	// ("Fargate On-Demand vCPU resource count"); 0 means no limit.
	VCPULimit int
	// ValidSize, when set, checks a task's cpu units and MiB against the
	// Fargate size table. The table lives with task definition validation,
	// so without it the Provisioner trusts its caller to have checked.
	ValidSize func(cpu, memoryMiB int) bool
}

// Request asks for the capacity of one task.
type Request struct {
	TaskARN string
	// Group is the task's group ("service:NAME", "family:FAMILY"); tasks of
	// one group are spread over availability zones.
	Group     string
	CPU       int // CPU units, 1024 per vCPU
	MemoryMiB int
	// Subnets are the subnet IDs of the task's awsvpcConfiguration; empty
	// means all the configured subnets.
	Subnets []string
}

// Capacity is what a task was given.
type Capacity struct {
	TaskARN          string
	Group            string
	CPU              int
	MemoryMiB        int
	AvailabilityZone string
	SubnetID         string
	// ENI is the ID of the task's network interface, PrivateIPv4 its
	// address.
	ENI         string
	PrivateIPv4 netip.Addr
}

// Usage is what is provisioned now.
type Usage struct {
	Tasks int
	// CPU is in CPU units; VCPUs = CPU / 1024.
	CPU       int
	VCPUs     float64
	VCPULimit int
}

// Errors callers tell apart with errors.Is.
var (
	ErrInvalidRequest     = errors.New("invalid Fargate capacity request")
	ErrAlreadyProvisioned = errors.New("task already has Fargate capacity")
	ErrVCPULimit          = errors.New("fargate vCPU limit reached")
	ErrNoFreeAddresses    = errors.New("no free addresses in the task's subnets")
)

// Failure reasons in ECS's words.
const (
	ReasonVCPULimit = "You've reached the limit on the number of vCPUs you can run concurrently"
	ReasonENI       = "RESOURCE:ENI"
)

// Reasons are all the failure reasons above, which a CapacityError
// carries: the metrics make a series of Fargate placement failures of each
// at zero.
var Reasons = []string{ReasonVCPULimit, ReasonENI}

// CapacityError is a request that could not be given capacity. Reason is
// what ECS reports in RunTask's failures; Detail says why in full.
type CapacityError struct {
	Reason string
	Detail string
	Err    error // ErrVCPULimit or ErrNoFreeAddresses
}

func (e *CapacityError) Error() string { return e.Reason + ": " + e.Detail }
func (e *CapacityError) Unwrap() error { return e.Err }

// Provisioner gives Fargate tasks capacity and takes it back.
type Provisioner struct {
	limit     int // CPU units; 0 means none
	validSize func(cpu, memoryMiB int) bool

	mu        sync.Mutex
	pools     []*pool
	byID      map[string]*pool
	tasks     map[string]Capacity
	cpuInUse  int
	perGroup  map[string]map[string]int // group → zone → tasks
	perZone   map[string]int
	enis      uint64
	zoneOrder []string
}

// New checks cfg and returns a Provisioner with nothing provisioned.
func New(cfg Config) (*Provisioner, error) {
	if len(cfg.Subnets) == 0 {
		return nil, fmt.Errorf("fargate: at least one subnet is required")
	}
	if cfg.VCPULimit < 0 {
		return nil, fmt.Errorf("fargate: VCPULimit must not be negative; got %d", cfg.VCPULimit)
	}
	p := &Provisioner{
		limit:     cfg.VCPULimit * 1024,
		validSize: cfg.ValidSize,
		byID:      make(map[string]*pool),
		tasks:     make(map[string]Capacity),
		perGroup:  make(map[string]map[string]int),
		perZone:   make(map[string]int),
	}
	for _, s := range cfg.Subnets {
		if s.ID == "" || s.AvailabilityZone == "" {
			return nil, fmt.Errorf("fargate: subnet %q needs an ID and an availability zone", s.ID)
		}
		if _, dup := p.byID[s.ID]; dup {
			return nil, fmt.Errorf("fargate: subnet %s is listed twice", s.ID)
		}
		sp, err := newPool(s)
		if err != nil {
			return nil, fmt.Errorf("fargate: %w", err)
		}
		for _, other := range p.pools {
			if other.CIDR.Overlaps(sp.CIDR) {
				return nil, fmt.Errorf("fargate: subnet %s (%s) overlaps subnet %s (%s)", s.ID, sp.CIDR, other.ID, other.CIDR)
			}
		}
		p.pools = append(p.pools, sp)
		p.byID[s.ID] = sp
		if !slices.Contains(p.zoneOrder, s.AvailabilityZone) {
			p.zoneOrder = append(p.zoneOrder, s.AvailabilityZone)
		}
	}
	return p, nil
}

// Provision gives the task capacity of exactly its size and an address.
// Errors wrap ErrInvalidRequest or ErrAlreadyProvisioned, or are a
// *CapacityError for a limit reached or subnets full.
func (p *Provisioner) Provision(req Request) (Capacity, error) {
	if err := p.check(req); err != nil {
		return Capacity{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()

	candidates, err := p.candidates(req.Subnets)
	if err != nil {
		return Capacity{}, err
	}
	if _, dup := p.tasks[req.TaskARN]; dup {
		return Capacity{}, fmt.Errorf("provision %s: %w", req.TaskARN, ErrAlreadyProvisioned)
	}
	if p.limit > 0 && p.cpuInUse+req.CPU > p.limit {
		return Capacity{}, &CapacityError{
			Reason: ReasonVCPULimit,
			Detail: fmt.Sprintf("the task needs %s vCPU, %s of the limit of %d vCPUs are in use",
				vcpus(req.CPU), vcpus(p.cpuInUse), p.limit/1024),
			Err: ErrVCPULimit,
		}
	}
	sp := p.choose(req.Group, candidates)
	if sp == nil {
		ids := make([]string, len(candidates))
		for i, c := range candidates {
			ids[i] = "'" + c.ID + "'"
		}
		return Capacity{}, &CapacityError{
			Reason: ReasonENI,
			Detail: fmt.Sprintf("There are not enough free addresses in subnet %s to satisfy the requested number of instances.", strings.Join(ids, ", ")),
			Err:    ErrNoFreeAddresses,
		}
	}
	addr, _ := sp.take()
	p.enis++
	c := Capacity{
		TaskARN:          req.TaskARN,
		Group:            req.Group,
		CPU:              req.CPU,
		MemoryMiB:        req.MemoryMiB,
		AvailabilityZone: sp.AvailabilityZone,
		SubnetID:         sp.ID,
		ENI:              fmt.Sprintf("eni-%017x", p.enis),
		PrivateIPv4:      addr,
	}
	p.tasks[req.TaskARN] = c
	p.cpuInUse += req.CPU
	sp.tasks++
	p.perZone[sp.AvailabilityZone]++
	g := p.perGroup[req.Group]
	if g == nil {
		g = make(map[string]int)
		p.perGroup[req.Group] = g
	}
	g[sp.AvailabilityZone]++
	return c, nil
}

func (p *Provisioner) check(req Request) error {
	switch {
	case req.TaskARN == "":
		return fmt.Errorf("%w: the task ARN is required", ErrInvalidRequest)
	case req.CPU <= 0 || req.MemoryMiB <= 0:
		return fmt.Errorf("%w: task %s: cpu and memory must be positive; got %d CPU, %d memory", ErrInvalidRequest, req.TaskARN, req.CPU, req.MemoryMiB)
	case p.validSize != nil && !p.validSize(req.CPU, req.MemoryMiB):
		// ECS's own message, which ends with a full stop.
		msg := fmt.Sprintf("No Fargate configuration exists for given values: %d CPU, %d memory.", req.CPU, req.MemoryMiB)
		return fmt.Errorf("%w: %s", ErrInvalidRequest, msg)
	}
	return nil
}

// candidates resolves the request's subnet IDs.
func (p *Provisioner) candidates(ids []string) ([]*pool, error) {
	if len(ids) == 0 {
		return p.pools, nil
	}
	out := make([]*pool, 0, len(ids))
	for _, id := range ids {
		sp, ok := p.byID[id]
		if !ok {
			return nil, fmt.Errorf("%w: subnet %s is not one berth provides Fargate capacity in", ErrInvalidRequest, id)
		}
		if !slices.Contains(out, sp) {
			out = append(out, sp)
		}
	}
	return out, nil
}

// choose picks the subnet for a task of group: in the zone with the fewest
// tasks of the group, then the fewest tasks at all, then the first
// configured; there, the subnet with the most free addresses. Zones whose
// subnets are full are skipped. It returns nil when every subnet is full.
func (p *Provisioner) choose(group string, candidates []*pool) *pool {
	var best *pool
	bestZone := -1
	for _, sp := range candidates {
		if sp.free == 0 {
			continue
		}
		if best == nil {
			best, bestZone = sp, slices.Index(p.zoneOrder, sp.AvailabilityZone)
			continue
		}
		if sp.AvailabilityZone == best.AvailabilityZone {
			if sp.free > best.free {
				best = sp
			}
			continue
		}
		a, b := sp.AvailabilityZone, best.AvailabilityZone
		inGroup := p.perGroup[group]
		zone := slices.Index(p.zoneOrder, a)
		switch {
		case inGroup[a] != inGroup[b]:
			if inGroup[a] < inGroup[b] {
				best, bestZone = sp, zone
			}
		case p.perZone[a] != p.perZone[b]:
			if p.perZone[a] < p.perZone[b] {
				best, bestZone = sp, zone
			}
		case zone < bestZone:
			best, bestZone = sp, zone
		}
	}
	return best
}

// Restore gives a task back the capacity it had, as a restarted server
// finds its running tasks: the same subnet, address and ENI. It is refused
// when that address is not free, and it counts against the vCPU limit
// without being held to it: the task runs already.
func (p *Provisioner) Restore(c Capacity) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.tasks[c.TaskARN]; dup {
		return fmt.Errorf("restore %s: %w", c.TaskARN, ErrAlreadyProvisioned)
	}
	sp, ok := p.byID[c.SubnetID]
	if !ok {
		return fmt.Errorf("%w: restore %s: subnet %s is not one berth provides Fargate capacity in", ErrInvalidRequest, c.TaskARN, c.SubnetID)
	}
	if !sp.hold(c.PrivateIPv4) {
		return fmt.Errorf("%w: restore %s: address %s is not free in subnet %s", ErrInvalidRequest, c.TaskARN, c.PrivateIPv4, c.SubnetID)
	}
	c.AvailabilityZone = sp.AvailabilityZone
	p.tasks[c.TaskARN] = c
	p.cpuInUse += c.CPU
	sp.tasks++
	p.perZone[sp.AvailabilityZone]++
	g := p.perGroup[c.Group]
	if g == nil {
		g = make(map[string]int)
		p.perGroup[c.Group] = g
	}
	g[sp.AvailabilityZone]++
	if n, err := strconv.ParseUint(strings.TrimPrefix(c.ENI, "eni-"), 16, 64); err == nil && n > p.enis {
		p.enis = n // new ENI IDs go on after the restored ones
	}
	return nil
}

// Release takes back a task's capacity when it stops. It reports what the
// task had, and false when it had nothing.
func (p *Provisioner) Release(taskARN string) (Capacity, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.tasks[taskARN]
	if !ok {
		return Capacity{}, false
	}
	delete(p.tasks, taskARN)
	sp := p.byID[c.SubnetID]
	sp.give(c.PrivateIPv4)
	sp.tasks--
	p.cpuInUse -= c.CPU
	p.perZone[c.AvailabilityZone]--
	if g := p.perGroup[c.Group]; g != nil {
		if g[c.AvailabilityZone]--; g[c.AvailabilityZone] == 0 {
			delete(g, c.AvailabilityZone)
		}
		if len(g) == 0 {
			delete(p.perGroup, c.Group)
		}
	}
	return c, true
}

// Lookup returns the capacity a task holds.
func (p *Provisioner) Lookup(taskARN string) (Capacity, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.tasks[taskARN]
	return c, ok
}

// Usage reports what is provisioned now.
func (p *Provisioner) Usage() Usage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Usage{Tasks: len(p.tasks), CPU: p.cpuInUse, VCPUs: float64(p.cpuInUse) / 1024, VCPULimit: p.limit / 1024}
}

func vcpus(units int) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", float64(units)/1024), "0"), ".")
}
