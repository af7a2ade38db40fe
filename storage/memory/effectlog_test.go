package memory

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// TestReadyIndexMatchesSortedReference holds readyIndex, and the
// per-instance lists of claimState, to plain sorted lists under random
// appends (with zero and non-zero NotBefore), removals from anywhere,
// retries that move an effect and reads.
func TestReadyIndexMatchesSortedReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := newClaimState()
		base := time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)
		var seq uint64
		var in []*pendingEffect // in the indexes, any order
		instances := []string{"a", "b", "c"}
		notBefore := func(t *rapid.T) time.Time {
			if rapid.IntRange(0, 2).Draw(t, "zero") > 0 {
				return time.Time{}
			}
			return base.Add(time.Duration(rapid.IntRange(0, 20).Draw(t, "at")) * time.Second)
		}
		add := func(t *rapid.T) {
			seq++
			p := &pendingEffect{seq: seq, effect: storage.Effect{
				Instance:  rapid.SampledFrom(instances).Draw(t, "instance"),
				NotBefore: notBefore(t),
				Seq:       seq,
			}}
			c.added(p)
			in = append(in, p)
		}
		pick := func(t *rapid.T) int {
			// Mostly the oldest, as acknowledgements go, else anywhere.
			if rapid.Bool().Draw(t, "oldest") {
				return slices.IndexFunc(in, func(p *pendingEffect) bool {
					return !slices.ContainsFunc(in, func(q *pendingEffect) bool { return q.seq < p.seq })
				})
			}
			return rapid.IntRange(0, len(in)-1).Draw(t, "i")
		}
		check := func(t *rapid.T) {
			want := slices.Clone(in)
			slices.SortFunc(want, compareReady)
			got := slices.Collect(c.ready.all())
			if !slices.Equal(got, want) {
				t.Fatalf("ready: got %v, want %v", seqs(got), seqs(want))
			}
			for _, inst := range instances {
				var want []*pendingEffect
				for _, p := range in {
					if p.effect.Instance == inst {
						want = append(want, p)
					}
				}
				slices.SortFunc(want, func(a, b *pendingEffect) int { return int(a.seq) - int(b.seq) })
				first, ok := c.byInstance[inst]
				if ok && first == nil {
					t.Fatalf("instance %s: nil list", inst)
				}
				got := slices.Collect(listed(first))
				for _, p := range got { // the links agree backwards
					if p.next.prev != p || p.prev.next != p {
						t.Fatalf("instance %s: effect %d: broken links", inst, p.seq)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("instance %s: got %v, want %v", inst, seqs(got), seqs(want))
				}
			}
			// Some reads stop early.
			if n := len(want); n > 0 {
				k := rapid.IntRange(0, n-1).Draw(t, "stop after")
				var part []*pendingEffect
				for p := range c.ready.all() {
					if len(part) == k {
						break
					}
					part = append(part, p)
				}
				if !slices.Equal(part, want[:k]) {
					t.Fatalf("first %d: got %v, want %v", k, seqs(part), seqs(want[:k]))
				}
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			"add": add,
			"add many": func(t *rapid.T) {
				for range rapid.IntRange(1, 200).Draw(t, "n") {
					add(t)
				}
			},
			"remove": func(t *rapid.T) {
				if len(in) == 0 {
					t.Skip("empty")
				}
				i := pick(t)
				c.removed(in[i])
				in = slices.Delete(in, i, i+1)
			},
			"remove many": func(t *rapid.T) {
				for range rapid.IntRange(1, 200).Draw(t, "n") {
					if len(in) == 0 {
						break
					}
					i := pick(t)
					c.removed(in[i])
					in = slices.Delete(in, i, i+1)
				}
			},
			"retry": func(t *rapid.T) { // as Store.Retry
				if len(in) == 0 {
					t.Skip("empty")
				}
				p := in[pick(t)]
				c.ready.delete(p)
				p.effect.NotBefore = notBefore(t)
				c.ready.insert(p)
			},
			"requeue": func(t *rapid.T) { // out and back in with a new seq, as Store.Requeue
				if len(in) == 0 {
					t.Skip("empty")
				}
				i := pick(t)
				p := in[i]
				c.removed(p)
				seq++
				p.seq, p.effect.Seq, p.effect.NotBefore = seq, seq, time.Time{}
				c.added(p)
			},
			"": check,
		})
	})
}

func seqs(ps []*pendingEffect) []uint64 {
	var out []uint64
	for _, p := range ps {
		out = append(out, p.seq)
	}
	return out
}
