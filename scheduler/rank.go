package scheduler

// Ranker scores instance i for the task being placed; the lower score wins.
// Strategies are rankers applied in order, each later one breaking the ties
// of those before it. Strategies are best effort: they order the instances
// the filters admitted and never reject one.
type Ranker interface {
	Rank(i int) int64
}

// placedObserver is a ranker that keeps its own counts and must hear where
// each task of the request went.
type placedObserver interface {
	placed(i int)
}

// Compile-time checks that each ranker is one.
var (
	_ Ranker         = binpackCPU{}
	_ Ranker         = binpackMemory{}
	_ Ranker         = spreadInstance{}
	_ Ranker         = (*spreadAttribute)(nil)
	_ placedObserver = (*spreadAttribute)(nil)
	_ Ranker         = randomRanker{}
)

// binpackCPU prefers the instance with the least CPU left that still fits,
// so that the fewest instances are used.
type binpackCPU struct{ r *round }

func (b binpackCPU) Rank(i int) int64 { return int64(b.r.cpuLeft(i)) }

// binpackMemory prefers the instance with the least memory left that still
// fits.
type binpackMemory struct{ r *round }

func (b binpackMemory) Rank(i int) int64 { return int64(b.r.memLeft(i)) }

// spreadInstance (field instanceId or host) prefers the instance running the
// fewest tasks of the group.
type spreadInstance struct{ r *round }

func (s spreadInstance) Rank(i int) int64 { return int64(s.r.groupCount(i)) }

// spreadAttribute prefers instances whose value of the attribute has the
// fewest tasks of the group, so that the group evens out across the values
// (availability zones, instance types …). Instances without the attribute
// count as one more value.
type spreadAttribute struct {
	col    *attributeColumn
	counts []int32 // tasks of the group per value id
}

func (s *spreadAttribute) reset(r *round, col *attributeColumn) {
	s.col = col
	s.counts = append(s.counts[:0], r.s.groupTasksPerValue(col, r.group)...)
}

func (s *spreadAttribute) Rank(i int) int64 { return int64(s.counts[s.col.ids[i]]) }

func (s *spreadAttribute) placed(i int) { s.counts[s.col.ids[i]]++ }

// randomRanker gives every instance a pseudo-random score drawn from the
// request's seed and the number of the task being placed, so the same seed
// gives the same placement. It is also the last tie-breaker of every
// policy: among instances the strategies find equal, the choice is random,
// not the first in the list.
type randomRanker struct{ r *round }

func (x randomRanker) Rank(i int) int64 {
	return int64(splitmix64(x.r.seed^(x.r.k*0x9e3779b97f4a7c15)^(uint64(i)*0xbf58476d1ce4e5b9)) >> 1)
}

// splitmix64 is a fast, well-mixed 64-bit hash (Steele, Lea, Flood 2014).
func splitmix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
