package memory

import (
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestOutboxLog checks an effect log (the outbox's, or the ready index's)
// against a plain ordered list under random appends and removals in any
// order: same effects in the same order, positions that find each effect,
// and compaction that keeps the cleared slots bounded.
func TestOutboxLog(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := effectLog{which: rapid.SampledFrom([]int{inOutbox, inReady}).Draw(t, "log")}
		var model []*pendingEffect
		seq := uint64(0)
		// Phases of appends and of removals (rapid's draws lean to small
		// numbers, so a drawn choice would nearly always append): cleared
		// slots pile up past compactSlack while effects stay live.
		phase := rapid.IntRange(1, 300).Draw(t, "phase")
		for step := range rapid.IntRange(0, 3000).Draw(t, "steps") {
			if len(model) == 0 || step/phase%2 == 0 {
				seq++
				p := &pendingEffect{seq: seq}
				l.append(p)
				model = append(model, p)
			} else {
				// Mostly from the front, as a driver acknowledges.
				i := 0
				if rapid.Bool().Draw(t, "anywhere") {
					i = rapid.IntRange(0, len(model)-1).Draw(t, "i")
				}
				p := model[i]
				l.remove(p)
				model = slices.Delete(model, i, i+1)
				if slices.Contains(l.slots, p) {
					t.Fatalf("effect %d still in the log after its removal", p.seq)
				}
			}
			if l.len() != len(model) {
				t.Fatalf("len %d, want %d", l.len(), len(model))
			}
			if cleared := len(l.slots) - l.live; cleared > l.live+compactSlack {
				t.Fatalf("%d cleared slots for %d live effects", cleared, l.live)
			}
		}
		got := slices.Collect(l.all())
		if !slices.Equal(got, model) {
			t.Fatalf("log holds %d effects out of order or wrong, want %d", len(got), len(model))
		}
		for _, p := range model {
			if l.slots[p.at[l.which]] != p {
				t.Fatalf("effect %d: position %d holds another", p.seq, p.at[l.which])
			}
		}
	})
}
