package scheduler

import (
	"cmp"
	"slices"
)

// indexedStrategy is a policy whose choice needs no pass over the
// instances: a single binpack or spread strategy, answered from the
// snapshot's orders, or a single random strategy, answered by random draws.
// Policies of several strategies rank every instance (selectInstance).
type indexedStrategy uint8

const (
	noIndex        indexedStrategy = iota
	indexCPU                       // binpack on cpu: Snapshot.byCPU
	indexMemory                    // binpack on memory: Snapshot.byMemory
	indexGroup                     // spread on instanceId: Snapshot.groupRanks
	indexAttribute                 // spread on an attribute: its values' task counts
	indexRandom                    // random: draws among the ACTIVE instances
)

// maxIndexedValues bounds the values of a spread attribute that placement
// orders per task; an attribute with more (one value per instance, say)
// costs less ranked instance by instance.
const maxIndexedValues = 64

// pickTries is how many instances of a level of equals are drawn at random
// before walking the level in order from the last one drawn.
const pickTries = 4

func (r *round) chooseIndex(p *Policy) indexedStrategy {
	if len(p.strategies) != 1 {
		return noIndex
	}
	switch st := p.strategies[0]; {
	case st.Type == Binpack && st.Field == "cpu":
		return indexCPU
	case st.Type == Binpack:
		return indexMemory
	case st.Type == Spread && st.Field == "instanceId":
		return indexGroup
	case st.Type == Spread && len(r.spreads[0].counts) <= maxIndexedValues:
		return indexAttribute
	case st.Type == Random:
		return indexRandom
	}
	return noIndex
}

// selectIndexed returns the instance for the next task, or -1 when none
// fits, from the snapshot's orders where the policy allows.
//
// The strategy's best score comes from the order: the first level of
// equally scored instances holding one that passes the filters. Among
// those, the choice is random and reproducible (pick) rather than the
// lowest hash of a pass over the whole level, so that it costs a few draws
// and not a walk over, say, every empty instance.
func (r *round) selectIndexed() int {
	switch r.indexed {
	case indexCPU:
		return r.selectLeast(&r.s.byCPU, int64(r.needs.CPU), func(i int) int64 { return int64(r.cpuLeft(i)) })
	case indexMemory:
		return r.selectLeast(&r.s.byMemory, int64(r.needs.MemoryMiB), func(i int) int64 { return int64(r.memLeft(i)) })
	case indexGroup:
		return r.selectFewestOfGroup()
	case indexAttribute:
		return r.selectFewestOfValue(&r.spreads[0])
	case indexRandom:
		// Every ACTIVE instance is one level of equals.
		active := r.s.active
		return r.pick(len(active), 0, func(j int) int {
			if i := int(active[j]); r.fits(i) {
				return i
			}
			return -1
		})
	}
	return r.selectInstance()
}

// fits runs every filter on instance i. Only whether all pass matters
// here, not which fails first, so the cached memberOf answers, the cheapest
// and often the most selective, go first.
func (r *round) fits(i int) bool {
	for _, m := range r.members {
		if !m[i] {
			return false
		}
	}
	if r.resources.Check(i) != Fits {
		return false
	}
	for _, f := range r.filters {
		if f.Check(i) != Fits {
			return false
		}
	}
	return true
}

// selectLeast chooses the instance of least score in x, starting at floor,
// below which no instance fits. The instances this request placed tasks on
// sit in x at the score they had before it; they are skipped there and
// weighed apart at their present score.
func (r *round) selectLeast(x *rankIndex, floor int64, score func(i int) int64) int {
	own, ownScore := -1, int64(0)
	var ownTies [MaxCount]int
	for _, p := range r.placedOn {
		i := int(p.i)
		if !r.fits(i) {
			continue
		}
		v := score(i)
		if own < 0 || v < ownScore || v == ownScore && r.tieHash(i) < r.tieHash(own) {
			own, ownScore = i, v
		}
	}
	entries := x.entries
	for lo := x.from(floor); lo < len(entries); {
		v := entries[lo].score
		if own >= 0 && v > ownScore {
			break
		}
		hi := lo + scoreFrom(entries[lo:], v+1)
		level, ties := entries[lo:hi], ownTies[:0]
		if own >= 0 && v == ownScore {
			for _, p := range r.placedOn {
				if i := int(p.i); r.fits(i) && score(i) == v {
					ties = append(ties, i)
				}
			}
		}
		i := r.pick(len(level)+len(ties), uint64(v), func(j int) int {
			if j >= len(level) {
				return ties[j-len(level)]
			}
			if i := int(level[j].i); r.placed(i) == 0 && r.fits(i) {
				return i
			}
			return -1
		})
		if i >= 0 {
			return i
		}
		lo = hi
	}
	return own
}

// selectFewestOfGroup spreads over instances: first those without a task
// of the group, then by the group's tasks on them.
func (r *round) selectFewestOfGroup() int {
	active := r.s.active
	i := r.pick(len(active), 0, func(j int) int {
		if i := int(active[j]); r.groupCount(i) == 0 && r.fits(i) {
			return i
		}
		return -1
	})
	if i >= 0 {
		return i
	}
	x := r.s.groupRanks[r.group]
	if x == nil {
		x = &rankIndex{}
	}
	return r.selectLeast(x, 1, func(i int) int64 { return int64(r.groupCount(i)) })
}

// selectFewestOfValue spreads over the values of an attribute: the
// instances of the values with the fewest tasks of the group first.
func (r *round) selectFewestOfValue(sa *spreadAttribute) int {
	order := r.values[:0]
	for v := range sa.counts {
		if len(sa.col.members[v]) > 0 {
			order = append(order, int32(v))
		}
	}
	r.values = order
	slices.SortFunc(order, func(a, b int32) int {
		return cmp.Or(cmp.Compare(sa.counts[a], sa.counts[b]), cmp.Compare(a, b))
	})
	for lo := 0; lo < len(order); {
		c := sa.counts[order[lo]]
		hi, n := lo, 0
		for ; hi < len(order) && sa.counts[order[hi]] == c; hi++ {
			n += len(sa.col.members[order[hi]])
		}
		level := order[lo:hi]
		i := r.pick(n, uint64(c), func(j int) int {
			for _, v := range level {
				m := sa.col.members[v]
				if j < len(m) {
					if i := int(m[j]); r.fits(i) {
						return i
					}
					return -1
				}
				j -= len(m)
			}
			return -1
		})
		if i >= 0 {
			return i
		}
		lo = hi
	}
	return -1
}

// pick chooses among the n members of a level of equals, numbered 0 to
// n-1, one that candidate accepts (it returns the instance, or -1). It
// draws up to pickTries members at random, which is uniform over the
// members that pass the filters, then walks on from the last draw, which
// ends the search in at most n steps. The draws come from the request's
// seed, the number of the task within the request and salt (the level's
// score), so the same snapshot, request and seed give the same choice.
func (r *round) pick(n int, salt uint64, candidate func(j int) int) int {
	if n == 0 {
		return -1
	}
	h := splitmix64(r.seed ^ r.k*0x9e3779b97f4a7c15 ^ salt*0xbf58476d1ce4e5b9)
	j := 0
	for try := range uint64(pickTries) {
		j = int(splitmix64(h+try) % uint64(n))
		if i := candidate(j); i >= 0 {
			return i
		}
	}
	for range n - 1 {
		if j++; j == n {
			j = 0
		}
		if i := candidate(j); i >= 0 {
			return i
		}
	}
	return -1
}

// tieHash orders the request's own instances when they tie.
func (r *round) tieHash(i int) int64 { return randomRanker{r}.Rank(i) }
