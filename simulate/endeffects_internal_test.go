package simulate

import (
	"testing"

	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"pgregory.net/rapid"
)

// The examples simulated with hosts made engine.WithoutEndEffects (and no
// finish hook): the instance's end is then a commit with no effect, and
// every invariant still holds through crashes, several hosts, lease
// expiry, cancels, terminations and retention. The model leaves the
// instance's end out of the effects it expects (it has no parent).
func TestWithoutEndEffects(t *testing.T) {
	t.Run("pizza", func(t *testing.T) {
		cfg := Options[pizza.Order]{
			WithoutEndEffects: true,
			Input:             func(t *rapid.T) pizza.Order { return pizza.Order{Customer: "bo"} },
			Payloads: map[string]func(*rapid.T) any{
				"add": func(t *rapid.T) any {
					return pizza.Add{Item: rapid.SampledFrom([]string{"margherita", "funghi", " "}).Draw(t, "item")}
				},
			},
		}.config()
		checkConfig(t, pizza.Workflow, cfg)
	})
	t.Run("approval", func(t *testing.T) { // waits with a setup and a teardown
		cfg := Options[approval.Request]{
			WithoutEndEffects: true,
			Input: func(t *rapid.T) approval.Request {
				return approval.Request{ID: "r", User: rapid.SampledFrom([]string{"", "ada"}).Draw(t, "user"), Amount: rapid.IntRange(0, 500).Draw(t, "amount")}
			},
		}.config()
		checkConfig(t, approval.Workflow, cfg)
	})
}
