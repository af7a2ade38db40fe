package engine_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage/bolt"
)

// An engine without leases on a bolt file does not make the store keep
// its claims indexes (storage/bolt keeps them only once something reads
// them); an engine with leases that comes after it, on the same handle or
// after a reopen, still finds every effect the first one left in the
// outbox, and finishes every instance.
func TestLeasedEngineTakesOverBoltWork(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "weft.db")
			st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
			if err != nil {
				t.Fatal(err)
			}
			defer func() { st.Close() }()
			alone, err := engine.New(st)
			if err != nil {
				t.Fatal(err)
			}
			if err := alone.Register(w1CallDef); err != nil {
				t.Fatal(err)
			}
			const n = 40
			for i := range n / 2 { // finished by the engine alone: commits and acknowledgements
				if err := alone.Start(ctx, w1CallDef, "w-"+strconv.Itoa(i), W1{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := alone.Drain(ctx); err != nil {
				t.Fatal(err)
			}
			for i := n / 2; i < n; i++ { // left with their first activity in the outbox
				if err := alone.Start(ctx, w1CallDef, "w-"+strconv.Itoa(i), W1{}); err != nil {
					t.Fatal(err)
				}
			}
			if reopen {
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				if st, err = bolt.Open(path, bolt.WithUnsafeNoSync()); err != nil {
					t.Fatal(err)
				}
			}
			leased, err := engine.New(st, engine.WithLeases("taker", 0))
			if err != nil {
				t.Fatal(err)
			}
			if err := leased.Register(w1CallDef); err != nil {
				t.Fatal(err)
			}
			for round := 0; ; round++ {
				if round > 100 {
					t.Fatal("RunDue keeps finding work")
				}
				w, err := leased.RunDue(ctx, 16)
				if err != nil {
					t.Fatal(err)
				}
				if w.Transitions+w.Effects == 0 {
					break
				}
			}
			for i := range n {
				s, err := engine.Query[W1](ctx, leased, "w-"+strconv.Itoa(i))
				if err != nil || s.Counter != 10 {
					t.Fatalf("w-%d: counter %d, %v; want 10 (every activity run)", i, s.Counter, err)
				}
			}
			left, err := st.Outbox(ctx, 10)
			if err != nil || len(left) != 0 {
				t.Fatalf("outbox after the leased engine: %v, %v; want empty", left, err)
			}
		})
	}
}
