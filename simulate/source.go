package simulate

import (
	"math/rand/v2"
	"sync"

	"pgregory.net/rapid"
)

// source is where the world's choices come from: rapid, so that failures
// shrink to a minimal trace (Check), or a seeded generator (Verify's
// schedules, which need no test to run in).
type source interface {
	intn(lo, hi int, label string) int // in [lo, hi]
	rapid() *rapid.T                   // nil unless drawing from rapid
}

type rapidSource struct{ t *rapid.T }

func (s rapidSource) intn(lo, hi int, label string) int {
	return ints(lo, hi).Draw(s.t, label)
}

// smallInts holds rapid's generators for the ranges a run draws from most,
// [0, hi] and [1, hi] for small hi, made once: making one allocates, and a
// run draws hundreds of integers. Read-only after init.
var smallInts [2][128]*rapid.Generator[int]

func init() {
	for lo := range smallInts {
		for hi := lo; hi < len(smallInts[lo]); hi++ {
			smallInts[lo][hi] = rapid.IntRange(lo, hi)
		}
	}
}

// intGens caches the generators of other ranges.
var intGens sync.Map // [2]int -> *rapid.Generator[int]

// ints is rapid.IntRange(lo, hi), made once per range.
func ints(lo, hi int) *rapid.Generator[int] {
	if lo >= 0 && lo < len(smallInts) && hi >= lo && hi < len(smallInts[lo]) {
		return smallInts[lo][hi]
	}
	k := [2]int{lo, hi}
	if g, ok := intGens.Load(k); ok {
		return g.(*rapid.Generator[int])
	}
	g, _ := intGens.LoadOrStore(k, rapid.IntRange(lo, hi))
	return g.(*rapid.Generator[int])
}
func (s rapidSource) rapid() *rapid.T { return s.t }

type seededSource struct{ r *rand.Rand }

func newSeeded(seed uint64) seededSource {
	return seededSource{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (s seededSource) intn(lo, hi int, label string) int { return lo + s.r.IntN(hi-lo+1) }
func (s seededSource) rapid() *rapid.T                   { return nil }

// pick chooses one of xs; with nothing to choose, a rapid action is
// skipped (callers outside rapid never pass an empty list).
func pick[T any](src source, xs []T, label string) T {
	if len(xs) == 0 {
		if t := src.rapid(); t != nil {
			t.Skip("nothing to choose")
		}
		panic("simulate: nothing to choose for " + label)
	}
	return xs[src.intn(0, len(xs)-1, label)]
}
