package scheduler

import "github.com/berthdev/berth/scheduler/query"

// Filter decides whether instance i can take one more task of the request,
// counting the tasks the request has already placed. Resource checks and
// constraints are both filters; they are hard: an instance one of them
// rejects gets no task.
type Filter interface {
	Check(i int) Verdict
}

// Verdict is a filter's answer. Fits admits the instance; every other value
// names what the instance lacks. The order is the order the filters run in,
// so a larger verdict means the instance came closer to fitting; the
// closest matching instance of a failure is the one with the largest.
type Verdict uint8

// Verdicts, in filter order.
const (
	Fits Verdict = iota
	AgentDisconnected
	InsufficientCPU
	InsufficientMemory
	InsufficientENIs
	PortInUse
	MissingAttribute
	NotDistinct
	NotMember
)

// Reason is the ECS failure reason for the verdict.
func (v Verdict) Reason() Reason {
	switch v {
	case AgentDisconnected:
		return ReasonAgent
	case InsufficientCPU:
		return ReasonCPU
	case InsufficientMemory:
		return ReasonMemory
	case InsufficientENIs:
		return ReasonENI
	case PortInUse:
		return ReasonPorts
	case MissingAttribute, NotDistinct, NotMember:
		return ReasonAttribute
	}
	return ""
}

// Compile-time checks that each filter is one.
var (
	_ Filter = resourceFilter{}
	_ Filter = eniFilter{}
	_ Filter = portsFilter{}
	_ Filter = attributesFilter{}
	_ Filter = distinctInstanceFilter{}
	_ Filter = memberOfFilter{}
	_ Filter = memberOfTasksFilter{}
)

// resourceFilter checks, in ECS's order, that the instance's agent is
// connected (nothing could start the task otherwise) and that it has the
// CPU and memory the task needs. Every placement runs it on every
// instance, so it is called directly, not through Filter, and kept small
// enough for the compiler to inline.
type resourceFilter struct{ r *round }

func (f resourceFilter) Check(i int) Verdict {
	r := f.r
	p := r.placed(i)
	switch {
	case !r.connected[i]:
		return AgentDisconnected
	case r.s.cpuLeft[i]-p*r.needs.CPU < r.needs.CPU:
		return InsufficientCPU
	case r.s.memLeft[i]-p*r.needs.MemoryMiB < r.needs.MemoryMiB:
		return InsufficientMemory
	}
	return Fits
}

// eniFilter rejects instances that cannot attach another interface for an
// awsvpc task.
type eniFilter struct{ r *round }

func (f eniFilter) Check(i int) Verdict {
	r := f.r
	if r.s.instances[i].Registered.ENIs == 0 {
		return Fits // no limit modelled
	}
	if r.s.eniLeft[i]-r.placed(i)*r.needs.ENIs < r.needs.ENIs {
		return InsufficientENIs
	}
	return Fits
}

// portsFilter rejects instances where a static host port of the task is
// reserved or held. A task placed earlier in the same request holds the
// same ports, so such an instance is taken too.
type portsFilter struct{ r *round }

func (f portsFilter) Check(i int) Verdict {
	r := f.r
	if r.placed(i) > 0 {
		return PortInUse
	}
	taken := r.s.ports[i]
	for _, p := range r.needs.TCPPorts {
		if taken[tcpPort(p)] > 0 {
			return PortInUse
		}
	}
	for _, p := range r.needs.UDPPorts {
		if taken[udpPort(p)] > 0 {
			return PortInUse
		}
	}
	return Fits
}

// attributesFilter requires the attributes the task definition needs
// (requiresAttributes, runtimePlatform).
type attributesFilter struct {
	r        *round
	required []RequiredAttribute
}

func (f attributesFilter) Check(i int) Verdict {
	attrs := f.r.s.instances[i].Attributes
	for _, a := range f.required {
		v, ok := attrs[a.Name]
		if !ok || a.Value != "" && v != a.Value {
			return MissingAttribute
		}
	}
	return Fits
}

// distinctInstanceFilter places each task of the group on a different
// instance.
type distinctInstanceFilter struct{ r *round }

func (f distinctInstanceFilter) Check(i int) Verdict {
	if f.r.groupCount(i) > 0 {
		return NotDistinct
	}
	return Fits
}

// memberOfFilter applies an expression that only looks at the instance's
// registration; its answers come precomputed from the snapshot.
type memberOfFilter struct{ members []bool }

func (f memberOfFilter) Check(i int) Verdict {
	if !f.members[i] {
		return NotMember
	}
	return Fits
}

// memberOfTasksFilter applies an expression that looks at the instance's
// tasks (task:group, runningTasksCount), so it is evaluated per placement.
type memberOfTasksFilter struct {
	r    *round
	expr *query.Expr
}

func (f memberOfTasksFilter) Check(i int) Verdict {
	f.r.view.i = i
	if !f.expr.Match(&f.r.view) {
		return NotMember
	}
	return Fits
}
