package scheduler

import (
	"math"
	"slices"
)

// rankIndex keeps instances ordered by a score (remaining CPU, remaining
// memory, tasks of a group), then by instance number, so that placement
// finds the best score a task fits with a binary search instead of a pass
// over every instance. The order is canonical: the same state gives the same
// slice whatever sequence of changes led to it, which keeps placement a
// function of the state alone.
//
// It is a sorted slice: a change of score moves one entry past those whose
// score lies between the old and the new one, a memmove of 16 bytes per
// entry passed; placement reads it with no indirection at all.
type rankIndex struct {
	entries []rankEntry
}

type rankEntry struct {
	score int64
	i     int32
}

func (e rankEntry) before(f rankEntry) bool {
	return e.score < f.score || e.score == f.score && e.i < f.i
}

// search returns the position of the first entry not before e.
func (x *rankIndex) search(e rankEntry) int { return searchEntries(x.entries, e) }

// from returns the position of the first entry scoring at least score.
func (x *rankIndex) from(score int64) int { return scoreFrom(x.entries, score) }

func searchEntries(entries []rankEntry, e rankEntry) int {
	lo, hi := 0, len(entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if entries[m].before(e) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// scoreFrom returns the position of the first of entries scoring at least
// score.
func scoreFrom(entries []rankEntry, score int64) int {
	return searchEntries(entries, rankEntry{score, math.MinInt32})
}

func (x *rankIndex) insert(score int64, i int32) {
	e := rankEntry{score, i}
	x.entries = slices.Insert(x.entries, x.search(e), e)
}

func (x *rankIndex) remove(score int64, i int32) {
	e := rankEntry{score, i}
	if p := x.search(e); p < len(x.entries) && x.entries[p] == e {
		x.entries = slices.Delete(x.entries, p, p+1)
	}
}

// move changes the score of instance i from old to score, shifting only the
// entries in between.
func (x *rankIndex) move(old, score int64, i int32) {
	if old == score {
		return
	}
	e := rankEntry{score, i}
	p := x.search(rankEntry{old, i})
	if p == len(x.entries) || x.entries[p].i != i || x.entries[p].score != old {
		x.insert(score, i) // not indexed: nothing to move
		return
	}
	q := x.search(e)
	if q > p {
		// q counts the entry itself, which leaves from before it.
		copy(x.entries[p:q-1], x.entries[p+1:q])
		x.entries[q-1] = e
	} else {
		copy(x.entries[q+1:p+1], x.entries[q:p])
		x.entries[q] = e
	}
}

// buildRankIndex indexes the instances of active by score(i).
func buildRankIndex(active []int32, score func(i int) int64) rankIndex {
	entries := make([]rankEntry, len(active))
	for j, i := range active {
		entries[j] = rankEntry{score(int(i)), i}
	}
	slices.SortFunc(entries, func(a, b rankEntry) int {
		switch {
		case a.before(b):
			return -1
		case b.before(a):
			return 1
		}
		return 0
	})
	return rankIndex{entries: entries}
}
