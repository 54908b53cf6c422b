package scheduler

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/berthdev/berth/scheduler/query"
)

// Snapshot is the cluster as placement sees it, indexed so that a placement
// costs nothing over the tasks and, for the binpack and spread strategies,
// a search rather than a pass over the instances: remaining CPU and memory,
// taken ports and per-group task counts are kept per instance, the ACTIVE
// instances are kept ordered by remaining CPU, by remaining memory and, per
// task group, by the group's tasks on them, and per attribute value the
// group's tasks are counted. All of it is updated as tasks are added and
// removed.
//
// Place only reads a Snapshot, and any number of Place calls may run at once.
// AddTask and RemoveTask change it and must not run concurrently with Place
// or with each other; the caller serialises them (a controller typically
// holds one Snapshot per cluster under its lock).
type Snapshot struct {
	instances []Instance
	byARN     map[string]int
	// active lists the ACTIVE instances, the only candidates for new tasks.
	active []int32

	connected []bool
	cpuLeft   []int
	memLeft   []int
	eniLeft   []int // only meaningful where Registered.ENIs > 0
	running   []int32
	ports     []map[portKey]int32 // taken ports, reference counted
	groupsOn  []map[string]int32  // per instance: group → tasks
	// groups is the inverse: group → instance → tasks. Placement reads one
	// group's entry per request.
	groups map[string]map[int32]int32
	tasks  map[string]taskHome

	// byCPU and byMemory order the ACTIVE instances by what they have left
	// (binpack); groupRanks orders, per group, the ACTIVE instances running
	// tasks of the group by how many (spread on instanceId). They are built
	// once the instances' tasks are known (indexed) and kept up to date by
	// AddTask and RemoveTask.
	indexed    bool
	byCPU      rankIndex
	byMemory   rankIndex
	groupRanks map[string]*rankIndex

	mu       sync.Mutex
	columns  map[string]*attributeColumn
	memberOf map[string][]bool
}

type portKey uint32

func tcpPort(p uint16) portKey { return portKey(p) }
func udpPort(p uint16) portKey { return portKey(p) | 1<<16 }

type taskHome struct {
	instance int
	task     Task
}

// attributeColumn numbers the distinct values of one attribute: ids[i] is
// the value of instance i, or len(values) when the instance lacks it.
// members lists, per value id, the ACTIVE instances with that value in
// ascending order; groupTasks counts, per group and value id, the group's
// tasks (on any instance), built on the first spread over the group and
// kept up to date by AddTask and RemoveTask.
type attributeColumn struct {
	ids        []int32
	values     []string
	members    [][]int32
	groupTasks map[string][]int32
}

// NewSnapshot indexes instances and the tasks they run. It rejects
// duplicate instance or task ARNs and more reserved ports than ECS allows.
func NewSnapshot(instances []Instance) (*Snapshot, error) {
	n := len(instances)
	s := &Snapshot{
		instances: make([]Instance, n),
		byARN:     make(map[string]int, n),
		connected: make([]bool, n),
		cpuLeft:   make([]int, n),
		memLeft:   make([]int, n),
		eniLeft:   make([]int, n),
		running:   make([]int32, n),
		ports:     make([]map[portKey]int32, n),
		groupsOn:  make([]map[string]int32, n),
		groups:    make(map[string]map[int32]int32),
		tasks:     make(map[string]taskHome),
		columns:   make(map[string]*attributeColumn),
		memberOf:  make(map[string][]bool),
	}
	copy(s.instances, instances)
	for i := range s.instances {
		in := &s.instances[i]
		if _, dup := s.byARN[in.ARN]; dup {
			return nil, fmt.Errorf("container instance %s is listed twice", in.ARN)
		}
		if len(in.Registered.TCPPorts) > MaxReservedPorts || len(in.Registered.UDPPorts) > MaxReservedPorts {
			return nil, fmt.Errorf("container instance %s: at most %d reserved ports per protocol", in.ARN, MaxReservedPorts)
		}
		s.byARN[in.ARN] = i
		if in.Status == StatusActive {
			s.active = append(s.active, int32(i))
		}
		s.connected[i] = in.AgentConnected
		s.cpuLeft[i] = in.Registered.CPU
		s.memLeft[i] = in.Registered.MemoryMiB
		s.eniLeft[i] = in.Registered.ENIs
		s.ports[i] = make(map[portKey]int32, len(in.Registered.TCPPorts)+len(in.Registered.UDPPorts))
		s.groupsOn[i] = make(map[string]int32)
		takePorts(s.ports[i], in.Registered, 1)
		tasks := in.Tasks
		in.Tasks = nil // the index below is the truth from now on
		for _, t := range tasks {
			if err := s.add(i, t); err != nil {
				return nil, err
			}
		}
	}
	s.buildIndexes()
	return s, nil
}

// buildIndexes orders the ACTIVE instances once all tasks are counted;
// from then on add and remove keep the order.
func (s *Snapshot) buildIndexes() {
	s.byCPU = buildRankIndex(s.active, func(i int) int64 { return int64(s.cpuLeft[i]) })
	s.byMemory = buildRankIndex(s.active, func(i int) int64 { return int64(s.memLeft[i]) })
	s.groupRanks = make(map[string]*rankIndex, len(s.groups))
	for g, on := range s.groups {
		x := &rankIndex{}
		for i, n := range on {
			if s.isActive(int(i)) {
				x.entries = append(x.entries, rankEntry{int64(n), i})
			}
		}
		slices.SortFunc(x.entries, func(a, b rankEntry) int {
			if a.before(b) {
				return -1
			}
			return 1
		})
		s.groupRanks[g] = x
	}
	s.indexed = true
}

func (s *Snapshot) isActive(i int) bool { return s.instances[i].Status == StatusActive }

// reindex moves instance i in the orders after a task of group came or went
// (delta ±1), given what it had left before.
func (s *Snapshot) reindex(i int, cpuBefore, memBefore int, group string, delta int32) {
	if !s.indexed {
		return
	}
	for _, c := range s.columns {
		if counts := c.groupTasks[group]; counts != nil {
			counts[c.ids[i]] += delta
		}
	}
	if !s.isActive(i) {
		return
	}
	s.byCPU.move(int64(cpuBefore), int64(s.cpuLeft[i]), int32(i))
	s.byMemory.move(int64(memBefore), int64(s.memLeft[i]), int32(i))
	now := int64(s.groupsOn[i][group])
	x := s.groupRanks[group]
	switch {
	case x == nil && now > 0:
		s.groupRanks[group] = &rankIndex{entries: []rankEntry{{now, int32(i)}}}
	case x == nil:
	case now == 0:
		x.remove(now-int64(delta), int32(i))
		if len(x.entries) == 0 {
			delete(s.groupRanks, group)
		}
	case now == int64(delta):
		x.insert(now, int32(i))
	default:
		x.move(now-int64(delta), now, int32(i))
	}
}

func takePorts(m map[portKey]int32, r Resources, delta int32) {
	for _, p := range r.TCPPorts {
		bump(m, tcpPort(p), delta)
	}
	for _, p := range r.UDPPorts {
		bump(m, udpPort(p), delta)
	}
}

func bump[K comparable](m map[K]int32, k K, delta int32) {
	if v := m[k] + delta; v > 0 {
		m[k] = v
	} else {
		delete(m, k)
	}
}

// AddTask records that task runs on the instance, taking its resources.
func (s *Snapshot) AddTask(instanceARN string, task Task) error {
	i, ok := s.byARN[instanceARN]
	if !ok {
		return fmt.Errorf("add task %s: container instance %s is not in the snapshot", task.ARN, instanceARN)
	}
	return s.add(i, task)
}

func (s *Snapshot) add(i int, t Task) error {
	if _, dup := s.tasks[t.ARN]; dup {
		return fmt.Errorf("task %s is already on container instance %s", t.ARN, s.instances[s.tasks[t.ARN].instance].ARN)
	}
	s.tasks[t.ARN] = taskHome{instance: i, task: t}
	cpuBefore, memBefore := s.cpuLeft[i], s.memLeft[i]
	s.cpuLeft[i] -= t.Needs.CPU
	s.memLeft[i] -= t.Needs.MemoryMiB
	s.eniLeft[i] -= t.Needs.ENIs
	s.running[i]++
	takePorts(s.ports[i], t.Needs, 1)
	bump(s.groupsOn[i], t.Group, 1)
	g := s.groups[t.Group]
	if g == nil {
		g = make(map[int32]int32)
		s.groups[t.Group] = g
	}
	g[int32(i)]++
	s.reindex(i, cpuBefore, memBefore, t.Group, 1)
	return nil
}

// RemoveTask gives back what a stopped task held. It reports whether the
// task was in the snapshot.
func (s *Snapshot) RemoveTask(taskARN string) bool {
	h, ok := s.tasks[taskARN]
	if !ok {
		return false
	}
	delete(s.tasks, taskARN)
	i, t := h.instance, h.task
	cpuBefore, memBefore := s.cpuLeft[i], s.memLeft[i]
	s.cpuLeft[i] += t.Needs.CPU
	s.memLeft[i] += t.Needs.MemoryMiB
	s.eniLeft[i] += t.Needs.ENIs
	s.running[i]--
	takePorts(s.ports[i], t.Needs, -1)
	bump(s.groupsOn[i], t.Group, -1)
	if g := s.groups[t.Group]; g != nil {
		bump(g, int32(i), -1)
		if len(g) == 0 {
			delete(s.groups, t.Group)
		}
	}
	s.reindex(i, cpuBefore, memBefore, t.Group, -1)
	return true
}

// Remaining is what instanceARN has left for new tasks: CPU, memory and the
// ports that are taken (reserved or held by tasks), as ECS reports an
// instance's remainingResources.
func (s *Snapshot) Remaining(instanceARN string) (Resources, bool) {
	i, ok := s.byARN[instanceARN]
	if !ok {
		return Resources{}, false
	}
	r := Resources{CPU: s.cpuLeft[i], MemoryMiB: s.memLeft[i]}
	if s.instances[i].Registered.ENIs > 0 {
		r.ENIs = s.eniLeft[i]
	}
	for k := range s.ports[i] {
		if k>>16 == 0 {
			r.TCPPorts = append(r.TCPPorts, uint16(k))
		} else {
			r.UDPPorts = append(r.UDPPorts, uint16(k))
		}
	}
	slices.Sort(r.TCPPorts)
	slices.Sort(r.UDPPorts)
	return r, true
}

// Len is the number of instances in the snapshot, whatever their status.
func (s *Snapshot) Len() int { return len(s.instances) }

// column returns the value numbering of attribute name, building it on
// first use.
func (s *Snapshot) column(name string) *attributeColumn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.columns[name]; ok {
		return c
	}
	c := &attributeColumn{ids: make([]int32, len(s.instances))}
	seen := make(map[string]int32)
	for i := range s.instances {
		v, ok := s.instances[i].Attributes[name]
		if !ok {
			c.ids[i] = -1
			continue
		}
		id, ok := seen[v]
		if !ok {
			id = int32(len(c.values))
			seen[v] = id
			c.values = append(c.values, v)
		}
		c.ids[i] = id
	}
	for i, id := range c.ids {
		if id < 0 {
			c.ids[i] = int32(len(c.values))
		}
	}
	c.members = make([][]int32, len(c.values)+1)
	for _, i := range s.active {
		id := c.ids[i]
		c.members[id] = append(c.members[id], i)
	}
	c.groupTasks = make(map[string][]int32)
	s.columns[name] = c
	return c
}

// groupTasksPerValue returns how many tasks of group run per value of the
// column, counting them on first use; the caller must not change it.
func (s *Snapshot) groupTasksPerValue(c *attributeColumn, group string) []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if counts, ok := c.groupTasks[group]; ok {
		return counts
	}
	counts := make([]int32, len(c.values)+1)
	for i, n := range s.groups[group] {
		counts[c.ids[i]] += n
	}
	c.groupTasks[group] = counts
	return counts
}

// members returns, for an expression that does not look at tasks, which
// instances satisfy it. Instances' registrations do not change within a
// snapshot, so the answer is computed once per expression.
func (s *Snapshot) members(e *query.Expr) []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.memberOf[e.String()]; ok {
		return m
	}
	m := make([]bool, len(s.instances))
	v := &instanceView{s: s}
	for i := range s.instances {
		v.i = i
		m[i] = e.Match(v)
	}
	s.memberOf[e.String()] = m
	return m
}

// instanceView shows instance i to the query language, counting the tasks
// the current request has already placed on it.
type instanceView struct {
	s     *Snapshot
	i     int
	group string
	r     *round // nil outside a placement
}

var _ query.Target = (*instanceView)(nil)

func (v *instanceView) in() *Instance         { return &v.s.instances[v.i] }
func (v *instanceView) AgentConnected() bool  { return v.in().AgentConnected }
func (v *instanceView) AgentVersion() string  { return v.in().AgentVersion }
func (v *instanceView) EC2InstanceID() string { return v.in().EC2InstanceID }
func (v *instanceView) RegisteredAt() time.Time {
	return v.in().RegisteredAt
}
func (v *instanceView) Attribute(name string) (string, bool) {
	val, ok := v.in().Attributes[name]
	return val, ok
}
func (v *instanceView) placedHere() int {
	if v.r == nil {
		return 0
	}
	return v.r.placed(v.i)
}
func (v *instanceView) RunningTasksCount() int {
	return int(v.s.running[v.i]) + v.placedHere()
}
func (v *instanceView) HasTaskGroup(group string) bool {
	return v.placedHere() > 0 && group == v.group || v.s.groupsOn[v.i][group] > 0
}
func (v *instanceView) AnyTaskGroup(match func(string) bool) bool {
	if v.placedHere() > 0 && match(v.group) {
		return true
	}
	for g := range v.s.groupsOn[v.i] {
		if match(g) {
			return true
		}
	}
	return false
}
