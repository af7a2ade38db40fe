package simulate

import (
	"testing"

	"pgregory.net/rapid"
)

// TestPickKindIdle holds pickKind to its rule for idle kinds: a kind with
// nothing to act on is drawn only if it is idle and on in the swarm, at
// weight 1 and never as the only choice while another kind is ready; a
// kind that is ready keeps its weight.
func TestPickKindIdle(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		ready := rapid.Bool().Draw(rt, "store has work")
		other := rapid.Bool().Draw(rt, "another kind is ready")
		kinds := []kind{
			{name: "other", weight: rapid.IntRange(0, maxWeight).Draw(rt, "other weight"), ready: func() bool { return other }},
			{name: "dispatch", weight: rapid.IntRange(0, maxWeight).Draw(rt, "dispatch weight"), ready: func() bool { return ready }, idle: true},
			{name: "stall", weight: rapid.IntRange(0, maxWeight).Draw(rt, "stall weight"), ready: func() bool { return ready }},
		}
		weights := make([]int, len(kinds))
		k := pickKind(rt, kinds, weights)
		switch {
		case ready || other:
			// Something is ready: the draw is among the ready kinds the
			// swarm has on, the idle dispatch at weight 1.
			onReady := (other && kinds[0].weight > 0) || (ready && (kinds[1].weight > 0 || kinds[2].weight > 0))
			if !onReady {
				return // the fallback: every ready kind at weight 1
			}
			if k.name == "other" && !other || k.name == "stall" && !ready {
				rt.Fatalf("drew %s, which has nothing to act on", k.name)
			}
			if k.name == "dispatch" && !ready && weights[1] != 1 {
				rt.Fatalf("an idle dispatch weighs %d, want 1", weights[1])
			}
			if k.weight == 0 {
				rt.Fatalf("drew %s, which the swarm has off", k.name)
			}
			if ready && weights[1] != kinds[1].weight {
				rt.Fatalf("a dispatch with work weighs %d, want its swarm weight %d", weights[1], kinds[1].weight)
			}
		default:
			// Nothing is ready: every kind at weight 1 (the idle kind is
			// not the only choice).
			for i, w := range weights {
				if w != 1 {
					rt.Fatalf("with nothing ready, kind %s weighs %d, want 1", kinds[i].name, w)
				}
			}
		}
	})
}
