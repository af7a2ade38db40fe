package memory

import "iter"

// outboxLog is the outbox: pending effects in the order they were
// appended. Effects are appended at the end and acknowledged mostly from
// the front, but in any order; a sorted structure paid a search and a
// shift of up to a chunk of pointers for every acknowledgement. Here an
// acknowledgement clears the effect's slot (found through its position,
// kept in the effect), the front's cleared slots are dropped, and the log
// is compacted when cleared slots outnumber the live ones, so append and
// remove cost O(1) amortized and a read of k effects visits O(k) slots
// plus at most a bounded number of cleared ones.
type outboxLog struct {
	slots []*pendingEffect // nil: acknowledged
	live  int
}

// compactSlack is how many cleared slots the log keeps before it
// compacts, besides one per live effect.
const compactSlack = 64

func (l *outboxLog) len() int { return l.live }

// append adds p at the end.
func (l *outboxLog) append(p *pendingEffect) {
	p.pos = len(l.slots)
	l.slots = append(l.slots, p)
	l.live++
}

// remove takes p, which must be in the log, out of it.
func (l *outboxLog) remove(p *pendingEffect) {
	l.slots[p.pos] = nil
	l.live--
	if l.live == 0 {
		clear(l.slots)
		l.slots = l.slots[:0]
		return
	}
	if len(l.slots)-l.live > l.live+compactSlack {
		l.compact()
	}
}

// compact moves the live effects to the front, in order.
func (l *outboxLog) compact() {
	n := 0
	for _, p := range l.slots {
		if p != nil {
			p.pos = n
			l.slots[n] = p
			n++
		}
	}
	clear(l.slots[n:])
	l.slots = l.slots[:n]
}

// all returns the pending effects in outbox order. The log must not change
// during the iteration.
func (l *outboxLog) all() iter.Seq[*pendingEffect] {
	return func(yield func(*pendingEffect) bool) {
		for _, p := range l.slots {
			if p != nil && !yield(p) {
				return
			}
		}
	}
}
