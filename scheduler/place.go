package scheduler

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Request asks for Count tasks of one task definition to be placed.
type Request struct {
	// Needs is what one task consumes (see Consumption).
	Needs Resources
	// Group is the task group: "service:NAME", "family:FAMILY" or the
	// group given to RunTask. Spread and distinctInstance work over it.
	Group string
	// Count is how many tasks to place, 1–10.
	Count int
	// Policy holds the constraints and strategies (see Compile); nil means
	// no constraints and the standalone default strategy.
	Policy *Policy
	// RequiredAttributes are attributes the instance must have, such as
	// those a task definition requires or its runtime platform implies
	// (ecs.os-type, ecs.cpu-architecture). An empty Value only requires the
	// attribute to exist.
	RequiredAttributes []RequiredAttribute
	// Seed drives random placement and tie-breaking; the same snapshot,
	// request and seed give the same placement.
	Seed uint64
}

// RequiredAttribute is an attribute a task needs on its instance.
type RequiredAttribute struct {
	Name  string
	Value string
}

// Reason is a failure reason in ECS's words.
type Reason string

// The failure reasons ECS returns from RunTask and StartTask.
const (
	ReasonCPU       Reason = "RESOURCE:CPU"
	ReasonMemory    Reason = "RESOURCE:MEMORY"
	ReasonPorts     Reason = "RESOURCE:PORTS"
	ReasonENI       Reason = "RESOURCE:ENI"
	ReasonAttribute Reason = "ATTRIBUTE"
	ReasonMissing   Reason = "MISSING"
	ReasonAgent     Reason = "AGENT"
)

// Reasons are all the failure reasons above: each Verdict's, and MISSING
// when a cluster has no instance to try. What must know them before any
// placement fails reads them here: the metrics make a series of failures
// of each at zero.
var Reasons = []Reason{ReasonCPU, ReasonMemory, ReasonPorts, ReasonENI, ReasonAttribute, ReasonMissing, ReasonAgent}

// Failure is one entry of a RunTask response's failures: the instance that
// was tried (Arn), why it could not take the task, and that in a sentence.
type Failure struct {
	Arn    string
	Reason Reason
	Detail string
}

// Decision is the outcome of a placement.
type Decision struct {
	// Placements are the instance ARNs chosen, one per placed task, in
	// order. Fewer than Count means the rest could not be placed.
	Placements []string
	// Failures explain why the rest could not be placed: the closest
	// matching instance first, then every other ACTIVE instance with what
	// it lacks. With no ACTIVE instance, a single MISSING failure.
	Failures []Failure
}

// Closest is the closest matching instance of a failed placement.
func (d Decision) Closest() (Failure, bool) {
	if len(d.Failures) == 0 {
		return Failure{}, false
	}
	return d.Failures[0], true
}

// ServiceEvent is the service event ECS writes when a task of the service
// cannot be placed, or "" when every task was placed.
func (d Decision) ServiceEvent(service string) string {
	f, ok := d.Closest()
	if !ok {
		return ""
	}
	if f.Reason == ReasonMissing {
		return fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. Reason: %s", service, f.Detail)
	}
	return fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. %s", service, f.Detail)
}

// noInstances is ECS's message for a cluster without usable instances.
const noInstances = "No Container Instances were found in your cluster."

// lacking is what ECS says an instance lacks, completing "The closest
// matching (container-instance ID) …".
func lacking(v Verdict) string {
	switch v {
	case AgentDisconnected:
		return `encountered error "AGENT".`
	case InsufficientCPU:
		return "has insufficient CPU units available."
	case InsufficientMemory:
		return "has insufficient memory available."
	case InsufficientENIs:
		return "has no elastic network interface available for an awsvpc task."
	case PortInUse:
		return "is already using a port required by your task."
	case MissingAttribute:
		return "is missing an attribute required by your task."
	case NotDistinct:
		return "already runs a task of the group, and a distinctInstance constraint allows one."
	case NotMember:
		return "does not match the memberOf constraint expression of your task."
	}
	return "met all of its requirements."
}

// Place chooses instances for req.Count tasks. It is pure: the snapshot is
// not changed, and each task placed counts against the instances for the
// ones after it in the same request. The returned error is a
// *ValidationError for a malformed request; an unplaceable task is not an
// error but a Decision with Failures.
func Place(s *Snapshot, req Request) (Decision, error) {
	return placeTasks(s, req, true)
}

// placeTasks is Place, with the snapshot's orders used where the policy allows
// (useIndex) or every instance ranked, the reference the orders are tested
// against.
func placeTasks(s *Snapshot, req Request, useIndex bool) (Decision, error) {
	if err := validateRequest(req); err != nil {
		return Decision{}, err
	}
	policy := req.Policy
	if policy == nil {
		policy = &Policy{strategies: DefaultStrategies(Standalone)}
	}
	if len(s.active) == 0 {
		return Decision{Failures: []Failure{{Reason: ReasonMissing, Detail: noInstances}}}, nil
	}

	r := rounds.Get().(*round)
	defer r.release()
	r.reset(s, req, policy)
	if !useIndex {
		r.indexed = noIndex
	}

	var d Decision
	for k := range req.Count {
		r.k = uint64(k)
		i := r.selectIndexed()
		if i < 0 {
			d.Failures = r.explain()
			break
		}
		r.place(i)
		d.Placements = append(d.Placements, s.instances[i].ARN)
	}
	return d, nil
}

func validateRequest(req Request) error {
	switch {
	case req.Count < MinCount || req.Count > MaxCount:
		return &ValidationError{Field: "count", Rule: fmt.Sprintf("must be between %d and %d; got %d", MinCount, MaxCount, req.Count)}
	case req.Needs.CPU < 0:
		return &ValidationError{Field: "cpu", Rule: fmt.Sprintf("must not be negative; got %d", req.Needs.CPU)}
	case req.Needs.ENIs < 0:
		return &ValidationError{Field: "enis", Rule: fmt.Sprintf("must not be negative; got %d", req.Needs.ENIs)}
	case req.Needs.MemoryMiB < 0:
		return &ValidationError{Field: "memory", Rule: fmt.Sprintf("must not be negative; got %d", req.Needs.MemoryMiB)}
	case strings.TrimSpace(req.Group) == "":
		return &ValidationError{Field: "group", Rule: "is required (service:NAME or family:FAMILY)"}
	}
	return nil
}

// round is the working state of one Place call, pooled so that a placement
// allocates next to nothing. It reads the snapshot and keeps only what the
// request itself changes: the few instances its tasks went to.
type round struct {
	s     *Snapshot
	needs Resources
	group string
	seed  uint64
	k     uint64 // number of the task being placed within the request

	connected  []bool          // the snapshot's, read only
	groupTasks map[int32]int32 // the snapshot's tasks of the group per instance, read only
	placedOn   []placedOn      // instances this request's tasks went to, at most Count
	view       instanceView

	resources resourceFilter
	filters   []Filter // the filters after resources
	members   [][]bool // the memberOf filters answered by the snapshot's cache
	rankers   []Ranker
	observers []placedObserver
	spreads   [MaxStrategies]spreadAttribute
	best      [MaxStrategies + 1]int64
	// indexed is the strategy answered from the snapshot's orders instead
	// of a pass over the instances, or noIndex.
	indexed indexedStrategy
	values  []int32 // spread on an attribute: value ids by tasks of the group
}

// placedOn counts the tasks of the request placed on instance i.
type placedOn struct {
	i, n int32
}

var rounds = sync.Pool{New: func() any { return new(round) }}

// release returns the round to the pool without keeping the snapshot alive.
func (r *round) release() {
	r.s, r.view, r.connected, r.groupTasks = nil, instanceView{}, nil, nil
	for j := range r.spreads {
		r.spreads[j].col = nil
	}
	clear(r.filters)
	clear(r.members)
	clear(r.rankers)
	clear(r.observers)
	rounds.Put(r)
}

// placed is how many tasks of the request went to instance i. A request
// places at most ten, so a short list beats any per-instance array.
func (r *round) placed(i int) int {
	for _, p := range r.placedOn {
		if int(p.i) == i {
			return int(p.n)
		}
	}
	return 0
}

func (r *round) cpuLeft(i int) int {
	if len(r.placedOn) == 0 {
		return r.s.cpuLeft[i]
	}
	return r.s.cpuLeft[i] - r.placed(i)*r.needs.CPU
}

func (r *round) memLeft(i int) int {
	if len(r.placedOn) == 0 {
		return r.s.memLeft[i]
	}
	return r.s.memLeft[i] - r.placed(i)*r.needs.MemoryMiB
}

// groupCount is the tasks of the group on instance i, placed ones included.
func (r *round) groupCount(i int) int {
	return int(r.groupTasks[int32(i)]) + r.placed(i)
}

func (r *round) reset(s *Snapshot, req Request, p *Policy) {
	r.s, r.needs, r.group, r.seed = s, req.Needs, req.Group, req.Seed
	r.connected = s.connected
	r.groupTasks = s.groups[req.Group]
	r.placedOn = r.placedOn[:0]
	clear(r.members)
	r.members = r.members[:0]
	r.view = instanceView{s: s, group: req.Group, r: r}

	// The filters, in the order ECS documents: the instance must be
	// reachable and have the CPU and memory (resources, always first and
	// called directly in the hot loop), the network interface and the
	// ports the task needs; then the task's required attributes and the
	// constraints apply, the cheapest first.
	r.resources = resourceFilter{r}
	r.filters = r.filters[:0]
	if req.Needs.ENIs > 0 {
		r.filters = append(r.filters, eniFilter{r})
	}
	if len(req.Needs.TCPPorts)+len(req.Needs.UDPPorts) > 0 {
		r.filters = append(r.filters, portsFilter{r})
	}
	if len(req.RequiredAttributes) > 0 {
		r.filters = append(r.filters, attributesFilter{r, req.RequiredAttributes})
	}
	if p.distinct {
		r.filters = append(r.filters, distinctInstanceFilter{r})
	}
	// memberOf expressions that only read the instance's registration are
	// answered from the snapshot's cache and go before those that must be
	// evaluated per instance and per task.
	for _, e := range p.memberOf {
		if !e.DependsOnTasks() {
			m := s.members(e)
			r.filters = append(r.filters, memberOfFilter{m})
			r.members = append(r.members, m)
		}
	}
	for _, e := range p.memberOf {
		if e.DependsOnTasks() {
			r.filters = append(r.filters, memberOfTasksFilter{r, e})
		}
	}

	// The rankers: the strategies in the order given, then a random
	// tie-breaker so that equal instances are chosen evenly and
	// reproducibly.
	r.rankers, r.observers = r.rankers[:0], r.observers[:0]
	for j, st := range p.strategies {
		switch {
		case st.Type == Binpack && st.Field == "cpu":
			r.rankers = append(r.rankers, binpackCPU{r})
		case st.Type == Binpack:
			r.rankers = append(r.rankers, binpackMemory{r})
		case st.Type == Spread && st.Field == "instanceId":
			r.rankers = append(r.rankers, spreadInstance{r})
		case st.Type == Spread:
			sa := &r.spreads[j]
			sa.reset(r, s.column(strings.TrimPrefix(st.Field, "attribute:")))
			r.rankers = append(r.rankers, sa)
			r.observers = append(r.observers, sa)
		default:
			r.rankers = append(r.rankers, randomRanker{r})
		}
	}
	r.rankers = append(r.rankers, randomRanker{r})
	r.indexed = r.chooseIndex(p)
}

// selectInstance runs the filters and rankers over the ACTIVE instances and
// returns the best, or -1 when none fits. Rankers are evaluated lazily: a
// later strategy is consulted only to break a tie of the earlier ones.
func (r *round) selectInstance() int {
	best := -1
	filters, rankers := r.filters, r.rankers
next:
	for _, i32 := range r.s.active {
		i := int(i32)
		if r.resources.Check(i) != Fits {
			continue
		}
		for _, f := range filters {
			if f.Check(i) != Fits {
				continue next
			}
		}
		if best < 0 {
			for j, rk := range rankers {
				r.best[j] = rk.Rank(i)
			}
			best = i
			continue
		}
		for j, rk := range rankers {
			score := rk.Rank(i)
			if score > r.best[j] {
				break
			}
			if score < r.best[j] {
				r.best[j] = score
				for l := j + 1; l < len(rankers); l++ {
					r.best[l] = rankers[l].Rank(i)
				}
				best = i
				break
			}
		}
	}
	return best
}

// place records a task of the request on instance i.
func (r *round) place(i int) {
	j := slices.IndexFunc(r.placedOn, func(p placedOn) bool { return int(p.i) == i })
	if j < 0 {
		r.placedOn = append(r.placedOn, placedOn{i: int32(i)})
		j = len(r.placedOn) - 1
	}
	r.placedOn[j].n++
	for _, o := range r.observers {
		o.placed(i)
	}
}

// explain builds the failures of a task no instance could take: each ACTIVE
// instance with the first filter that rejected it, the closest first.
// Closest is the instance that passed the most filters; among those short
// of CPU or memory, the one with the most of it left.
func (r *round) explain() []Failure {
	type rejection struct {
		i int
		v Verdict
	}
	rejections := make([]rejection, 0, len(r.s.active))
	closest := -1
	for _, i32 := range r.s.active {
		i := int(i32)
		v := r.resources.Check(i)
		for _, f := range r.filters {
			if v != Fits {
				break
			}
			v = f.Check(i)
		}
		rejections = append(rejections, rejection{i, v})
		if closest < 0 || r.closer(i, v, rejections[closest].i, rejections[closest].v) {
			closest = len(rejections) - 1
		}
	}
	failures := make([]Failure, 0, len(rejections))
	c := rejections[closest]
	failures = append(failures, Failure{
		Arn:    r.s.instances[c.i].ARN,
		Reason: c.v.Reason(),
		Detail: fmt.Sprintf("The closest matching (container-instance %s) %s", r.s.instances[c.i].ID(), lacking(c.v)),
	})
	for j, rej := range rejections {
		if j == closest {
			continue
		}
		failures = append(failures, Failure{
			Arn:    r.s.instances[rej.i].ARN,
			Reason: rej.v.Reason(),
			Detail: fmt.Sprintf("(container-instance %s) %s", r.s.instances[rej.i].ID(), lacking(rej.v)),
		})
	}
	return failures
}

func (r *round) closer(i int, v Verdict, j int, w Verdict) bool {
	if v != w {
		return v > w
	}
	switch v {
	case InsufficientCPU:
		return r.cpuLeft(i) > r.cpuLeft(j)
	case InsufficientMemory:
		return r.memLeft(i) > r.memLeft(j)
	}
	return false
}
