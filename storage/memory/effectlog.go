package memory

import (
	"iter"
	"sort"
)

// effectLog is a sequence of pending effects to which effects are
// appended at the end and removed from anywhere: the outbox (in the order
// effects were appended; acknowledgements come mostly from the front, but
// in any order) and the in-order part of the ready index (readyIndex). A
// sorted structure paid a search and a shift of up to a chunk of pointers
// for every removal. Here a removal clears the effect's slot (found
// through the position the log keeps in the effect, at[which]), cleared
// slots at the front are skipped through head and at the end dropped, and
// the log is compacted when cleared slots outnumber the live ones. Append
// and remove cost O(1) amortized, and reading k effects from the front
// visits O(k) slots plus at most one cleared slot per live effect and a
// bounded number more.
type effectLog struct {
	which int              // the effects' position in this log is at[which]
	slots []*pendingEffect // nil: removed; slots[len-1] is live when the log is not empty
	head  int              // slots[:head] are all nil
	live  int
}

// The logs an effect can be in, indexes of pendingEffect.at.
const (
	inOutbox = iota // Store.outbox
	inReady         // readyIndex.inOrder
)

// compactSlack is how many cleared slots a log keeps before it compacts,
// besides one per live effect.
const compactSlack = 64

// len returns the number of effects in the log.
func (l *effectLog) len() int { return l.live }

// last returns the last effect, or nil when the log is empty.
func (l *effectLog) last() *pendingEffect {
	if len(l.slots) == 0 {
		return nil
	}
	return l.slots[len(l.slots)-1]
}

// append adds p at the end; it must come after every effect in the log.
func (l *effectLog) append(p *pendingEffect) {
	p.at[l.which] = len(l.slots)
	l.slots = append(l.slots, p)
	l.live++
}

// remove takes p, which must be in the log, out of it.
func (l *effectLog) remove(p *pendingEffect) {
	i := p.at[l.which]
	l.slots[i] = nil
	l.live--
	if l.live == 0 {
		clear(l.slots)
		l.slots = l.slots[:0]
		l.head = 0
		return
	}
	for l.slots[l.head] == nil {
		l.head++
	}
	for l.slots[len(l.slots)-1] == nil {
		l.slots = l.slots[:len(l.slots)-1]
	}
	if len(l.slots)-l.live > l.live+compactSlack {
		l.compact()
	}
}

// compact moves the live effects to the front, in order.
func (l *effectLog) compact() {
	n := 0
	for _, p := range l.slots[l.head:] {
		if p != nil {
			p.at[l.which] = n
			l.slots[n] = p
			n++
		}
	}
	clear(l.slots[n:])
	l.slots = l.slots[:n]
	l.head = 0
}

// all returns the effects in order. The log must not change during the
// iteration.
func (l *effectLog) all() iter.Seq[*pendingEffect] {
	return l.from(l.head)
}

// after returns the effects whose seq is greater than seq, in order; the
// log's seqs grow with their slots, so a binary search finds the first.
// The log must not change during the iteration.
func (l *effectLog) after(seq uint64) iter.Seq[*pendingEffect] {
	if seq == 0 {
		return l.all()
	}
	live := l.slots[l.head:]
	// next(i) is the first live slot at or after i, so the predicate is
	// monotone even where removals left cleared slots.
	next := func(i int) int {
		for i < len(live) && live[i] == nil {
			i++
		}
		return i
	}
	i := sort.Search(len(live), func(i int) bool {
		j := next(i)
		return j == len(live) || live[j].seq > seq
	})
	return l.from(l.head + i)
}

// from returns the effects from slot i on, in order.
func (l *effectLog) from(i int) iter.Seq[*pendingEffect] {
	return func(yield func(*pendingEffect) bool) {
		for _, p := range l.slots[i:] {
			if p != nil && !yield(p) {
				return
			}
		}
	}
}

// scan calls visit with the effects in order until it returns false (all
// without an iterator; see sortedSet.scan). The log must not change
// during the scan.
func (l *effectLog) scan(visit func(*pendingEffect) bool) bool {
	for _, p := range l.slots[l.head:] {
		if p != nil && !visit(p) {
			return false
		}
	}
	return true
}

// readyIndex is the outbox effects ordered by (NotBefore, seq)
// (compareReady). Most effects enter it in that order, as they are
// appended to the outbox with a greater seq and, as a rule, a zero
// NotBefore; those go to the end of a log (inOrder). The others (an
// effect retried with a later NotBefore, or one that comes before the
// log's last) go to a sorted set (rest). Reading merges the two.
type readyIndex struct {
	inOrder effectLog
	rest    *sortedSet[*pendingEffect]
}

func newReadyIndex() *readyIndex {
	return &readyIndex{inOrder: effectLog{which: inReady}, rest: newSortedSet(compareReady)}
}

// insert adds p.
func (r *readyIndex) insert(p *pendingEffect) {
	if last := r.inOrder.last(); last == nil || compareReady(last, p) < 0 {
		r.inOrder.append(p)
		return
	}
	p.at[inReady] = -1
	r.rest.insert(p)
}

// delete removes p, which must be in the index.
func (r *readyIndex) delete(p *pendingEffect) {
	if p.at[inReady] >= 0 {
		r.inOrder.remove(p)
		return
	}
	r.rest.delete(p)
}

// all returns the effects in (NotBefore, seq) order. The index must not
// change during the iteration.
func (r *readyIndex) all() iter.Seq[*pendingEffect] {
	if r.rest.len() == 0 {
		return r.inOrder.all()
	}
	return func(yield func(*pendingEffect) bool) {
		chunks := r.rest.chunks // rest's elements in order: chunks[ci][i:], chunks[ci+1:]
		ci, i := 0, 0
		for p := range r.inOrder.all() {
			for ci < len(chunks) && compareReady(chunks[ci][i], p) < 0 {
				if !yield(chunks[ci][i]) {
					return
				}
				if i++; i == len(chunks[ci]) {
					ci, i = ci+1, 0
				}
			}
			if !yield(p) {
				return
			}
		}
		for ; ci < len(chunks); ci, i = ci+1, 0 {
			for _, q := range chunks[ci][i:] {
				if !yield(q) {
					return
				}
			}
		}
	}
}

// scan calls visit with the effects in (NotBefore, seq) order until it
// returns false: all without an iterator (see sortedSet.scan). The index
// must not change during the scan.
func (r *readyIndex) scan(visit func(*pendingEffect) bool) {
	chunks := r.rest.chunks // rest's elements in order: chunks[ci][i:], chunks[ci+1:]
	ci, i := 0, 0
	if !r.inOrder.scan(func(p *pendingEffect) bool {
		for ci < len(chunks) && compareReady(chunks[ci][i], p) < 0 {
			if !visit(chunks[ci][i]) {
				return false
			}
			if i++; i == len(chunks[ci]) {
				ci, i = ci+1, 0
			}
		}
		return visit(p)
	}) {
		return
	}
	for ; ci < len(chunks); ci, i = ci+1, 0 {
		for _, q := range chunks[ci][i:] {
			if !visit(q) {
				return
			}
		}
	}
}

// instanceEffects are the outbox effects of one instance, by seq: a
// circular list linked through pendingEffect.next and prev, of which
// claimState.byInstance holds the first. Effects enter the outbox with a
// seq greater than any before, so they are appended at the end; unlike a
// set per instance, the list costs no allocation.

// appendTo appends p to the list whose first effect is first (nil for an
// empty list) and returns the list's first effect.
func appendTo(first, p *pendingEffect) *pendingEffect {
	if first == nil {
		p.next, p.prev = p, p
		return p
	}
	last := first.prev
	last.next, p.prev = p, last
	p.next, first.prev = first, p
	return first
}

// removeFrom removes p from the list whose first effect is first and
// returns the list's first effect, nil if it is now empty.
func removeFrom(first, p *pendingEffect) *pendingEffect {
	next := p.next
	if next == p {
		first = nil
	} else {
		p.prev.next, next.prev = next, p.prev
		if first == p {
			first = next
		}
	}
	p.next, p.prev = nil, nil
	return first
}

// listed returns the effects of the list whose first effect is first, in
// order. The list must not change during the iteration.
func listed(first *pendingEffect) iter.Seq[*pendingEffect] {
	return func(yield func(*pendingEffect) bool) {
		if first == nil {
			return
		}
		for p := first; yield(p) && p.next != first; p = p.next {
		}
	}
}
