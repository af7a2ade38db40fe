package memory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestIDIndexMatchesSortedReference holds idIndex to a plain sorted list
// under random additions, removals, reads and reuse of IDs, in small steps
// and in batches large enough to split chunks and to make both kinds of
// merge (one by one, and rebuilt) and the merges of removals on a write
// happen, with the slack of removed IDs lowered so that merges on writes
// come often.
func TestIDIndexMatchesSortedReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		universe := rapid.SampledFrom([]int{8, 300, 5000}).Draw(t, "universe")
		member := map[string]bool{} // what the owner says: live
		x := newIDIndex(func(id string) bool { return member[id] })
		x.slack = rapid.SampledFrom([]int{0, 3, 50, goneSlack}).Draw(t, "slack")
		id := func(i int) string { return fmt.Sprintf("id-%d", i) }
		rng := rand.New(rand.NewPCG(rapid.Uint64().Draw(t, "seed"), 1))

		add := func(k string) {
			if !member[k] {
				member[k] = true
				x.add(k)
			}
		}
		remove := func(k string) {
			if member[k] {
				member[k] = false
				x.remove(k)
			}
		}
		check := func(after string) {
			var want []string
			for k, ok := range member {
				if ok && k > after {
					want = append(want, k)
				}
			}
			slices.Sort(want)
			var got []string
			for k := range x.from(func(k string) bool { return k > after }) {
				got = append(got, k)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("after %q: got %d IDs %v, want %d %v", after, len(got), head(got), len(want), head(want))
			}
			if x.sorted.len() != x.n || len(x.tail) != 0 || len(x.gone) != 0 {
				t.Fatalf("after a read: sorted %d, n %d, tail %d, gone %d", x.sorted.len(), x.n, len(x.tail), len(x.gone))
			}
		}

		t.Repeat(map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				add(id(rapid.IntRange(0, universe-1).Draw(t, "i")))
			},
			"remove": func(t *rapid.T) {
				remove(id(rapid.IntRange(0, universe-1).Draw(t, "i")))
			},
			"flip": func(t *rapid.T) { // remove and add back, or the other way round
				k := id(rapid.IntRange(0, universe-1).Draw(t, "i"))
				if member[k] {
					remove(k)
					add(k)
				} else {
					add(k)
					remove(k)
				}
			},
			"flip many": func(t *rapid.T) { // the same few IDs come and go without reads
				ks := rapid.SliceOfN(rapid.IntRange(0, universe-1), 1, 3).Draw(t, "ks")
				for i := range rapid.IntRange(1, 500).Draw(t, "n") {
					k := id(ks[i%len(ks)])
					if member[k] {
						remove(k)
					} else {
						add(k)
					}
				}
			},
			"batch": func(t *rapid.T) {
				n := rapid.IntRange(1, 3*universe).Draw(t, "n")
				removeShare := rapid.IntRange(0, 4).Draw(t, "removeShare")
				for range n {
					k := id(rng.IntN(universe))
					if rng.IntN(4) < removeShare {
						remove(k)
					} else {
						add(k)
					}
				}
			},
			"read": func(t *rapid.T) {
				after := ""
				if rapid.Bool().Draw(t, "from middle") {
					after = id(rapid.IntRange(0, universe-1).Draw(t, "after"))
				}
				check(after)
			},
			"": func(t *rapid.T) {
				n := 0
				for _, ok := range member {
					if ok {
						n++
					}
				}
				if x.len() != n {
					t.Fatalf("len %d, want %d", x.len(), n)
				}
			},
		})
		check("")
	})
}

func head(ids []string) []string { return ids[:min(len(ids), 10)] }
