package memory

import (
	"iter"
	"slices"
	"strings"
	"sync"
)

// idIndex is an ordered set of instance IDs (the store's ID index and its
// per-(workflow, status) indexes) whose writes cost O(1): an addition is
// appended to an unsorted tail and a removal to a list of removed IDs, and
// both are merged into a sorted chunked set (sorted) only when something
// reads the index in order, or when removed IDs pile up.
//
// Membership is owned by the store: live reports whether an ID belongs to
// the index now (for the ID index, whether the instance exists; for a
// (workflow, status) index, whether it exists with that workflow and
// status). The store calls add when an ID enters the index and remove when
// it leaves, after changing what live reports. Between merges:
//
//   - every live ID is in sorted or in tail (or both);
//   - every ID of sorted that is not live is in gone;
//   - sorted holds an ID at most once; tail and gone may hold one several
//     times, when it left and came back (an instance deleted and created
//     again, or moved to another status and back).
//
// The store keeps them by appending to tail every ID that enters and to
// gone every ID that leaves. A merge checks each ID of tail and gone
// against live, so the order in which an ID came and went does not
// matter: afterwards sorted holds exactly the live IDs, and tail and gone
// are empty. A small merge inserts and deletes IDs one by
// one (O(log n + B) each, as the sorted set alone did); a large one sorts
// the tail and the removed IDs and rebuilds sorted in one pass.
//
// The store's mutex guards the index, but readers hold it shared, so a
// reader merges under mu; writers, which hold the store's mutex
// exclusively, never run at the same time as a reader.
type idIndex struct {
	mu     sync.Mutex // taken by readers that merge; see above
	live   func(id string) bool
	sorted *sortedSet[string]
	tail   []string // added since the last merge, unsorted
	gone   []string // removed since the last merge
	n      int      // IDs in the index (live), exactly
	slack  int      // goneSlack; tests lower it
}

// goneSlack is how many removed IDs an index keeps before it merges on a
// write, besides one per two live IDs: without readers, removals would
// otherwise pile up without bound.
const goneSlack = 1024

func newIDIndex(live func(id string) bool) *idIndex {
	return &idIndex{live: live, sorted: newSortedSet(strings.Compare), slack: goneSlack}
}

// len returns the number of IDs in the index.
func (x *idIndex) len() int { return x.n }

// add records that id entered the index; live(id) already reports true.
func (x *idIndex) add(id string) {
	if len(x.tail) == cap(x.tail) {
		// Doubled: append grows a long slice by a quarter, which allocated
		// about five times the tail's size while a run of creates filled it.
		tail := make([]string, len(x.tail), max(2*cap(x.tail), 64))
		copy(tail, x.tail)
		x.tail = tail
	}
	x.tail = append(x.tail, id)
	x.n++
}

// remove records that id left the index; live(id) already reports false.
func (x *idIndex) remove(id string) {
	x.gone = append(x.gone, id)
	x.n--
	if len(x.gone) > x.n/2+x.slack {
		x.collect()
	}
}

// collect drops the IDs that left the index from sorted and tail, without
// sorting tail (which a read would do): a pass over sorted keeps its live
// IDs, and tail keeps only its live IDs. It then holds no more IDs than
// the index, unless IDs came and went many times; then it merges.
// Afterwards every ID of sorted is live, and every live ID is still in
// sorted or tail. Since gone holds more than half as many IDs as the
// index, the pass costs O(1) amortized per removal.
func (x *idIndex) collect() {
	if x.sorted.len() > 0 {
		kept := make([]string, 0, x.sorted.len())
		for id := range x.sorted.all() {
			if x.live(id) {
				kept = append(kept, id)
			}
		}
		x.sorted = sortedSetOf(kept, strings.Compare)
	}
	clear(x.gone)
	x.gone = x.gone[:0]
	n := 0
	for _, id := range x.tail {
		if x.live(id) {
			x.tail[n] = id
			n++
		}
	}
	clear(x.tail[n:])
	x.tail = x.tail[:n]
	if len(x.tail) > 2*x.n+x.slack {
		x.merge()
	}
}

// from returns the IDs for which atOrAfter holds, in order, as
// [sortedSet.from] does. The caller holds the store's mutex, shared or
// exclusive, for the whole iteration.
func (x *idIndex) from(atOrAfter func(string) bool) iter.Seq[string] {
	x.mu.Lock()
	x.merge()
	x.mu.Unlock()
	return x.sorted.from(atOrAfter)
}

// scanFrom is from without an iterator (see sortedSet.scan).
func (x *idIndex) scanFrom(atOrAfter func(string) bool, visit func(string) bool) {
	x.mu.Lock()
	x.merge()
	x.mu.Unlock()
	x.sorted.scanFrom(atOrAfter, visit)
}

// merge brings tail and gone into sorted.
func (x *idIndex) merge() {
	t, g := len(x.tail), len(x.gone)
	if t == 0 && g == 0 {
		return
	}
	if (t+g)*16 <= x.sorted.len() {
		for _, id := range x.gone {
			if !x.live(id) {
				x.sorted.delete(id)
			}
		}
		for _, id := range x.tail {
			if g == 0 || x.live(id) {
				x.sorted.insert(id)
			}
		}
	} else {
		x.rebuild()
	}
	clear(x.tail)
	x.tail = x.tail[:0]
	clear(x.gone)
	x.gone = x.gone[:0]
}

// rebuild merges tail and gone into sorted by sorting them and writing a
// new chunk list: O(n + (t + g) log(t + g)). With no removals since the
// last merge, every ID of tail is live.
func (x *idIndex) rebuild() {
	var add, del []string
	if len(x.gone) == 0 {
		add = slices.Clone(x.tail)
	} else {
		add = filter(x.tail, x.live, true)
		del = filter(x.gone, x.live, false)
		slices.Sort(del)
	}
	if !slices.IsSorted(add) {
		slices.Sort(add)
	}
	add = slices.Compact(add)
	if x.sorted.len() == 0 {
		x.sorted = sortedSetOf(add, strings.Compare)
		return
	}
	out := make([]string, 0, x.sorted.len()+len(add))
	i, j := 0, 0
	for id := range x.sorted.all() {
		for i < len(add) && add[i] < id {
			out = append(out, add[i])
			i++
		}
		if i < len(add) && add[i] == id {
			i++ // already there
		}
		for j < len(del) && del[j] < id {
			j++
		}
		if j < len(del) && del[j] == id {
			j++
			continue
		}
		out = append(out, id)
	}
	out = append(out, add[i:]...)
	x.sorted = sortedSetOf(out, strings.Compare)
}

// filter returns the IDs of ids for which live reports want.
func filter(ids []string, live func(string) bool, want bool) []string {
	var out []string
	for _, id := range ids {
		if live(id) == want {
			out = append(out, id)
		}
	}
	return out
}

// sortedSetOf returns a sorted set of xs, which must be sorted and
// distinct; the set keeps xs, in chunks of half the maximum size.
func sortedSetOf[T any](xs []T, cmp func(a, b T) int) *sortedSet[T] {
	s := newSortedSet(cmp)
	s.n = len(xs)
	for len(xs) > 0 {
		k := min(len(xs), s.max/2)
		s.chunks = append(s.chunks, xs[:k:k]) // full slice: an insert into a chunk copies it rather than overwrite the next
		xs = xs[k:]
	}
	return s
}
