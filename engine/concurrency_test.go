package engine_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
)

// sendMany sends "inc" from n goroutines at once, through the given
// engines in turn, and returns the replies.
func sendMany(t *testing.T, v *env, engines []*engine.Engine, id string, n int) []int {
	t.Helper()
	replies := make([]int, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = engines[i%len(engines)].Send(v.ctx, id, "inc", 1, &replies[i])
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	slices.Sort(replies)
	return replies
}

func oneToN(n int) []int {
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	return want
}

func TestConcurrentSendsApplyExactlyOnce(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	v.start(counterWF, "c", Count{})
	const n = 50
	replies := sendMany(t, v, []*engine.Engine{v.e}, "c", n)
	if !slices.Equal(replies, oneToN(n)) {
		t.Fatalf("replies %v: each send must see its own count", replies)
	}
	s, err := engine.Query[Count](v.ctx, v.e, "c")
	if err != nil || s.N != n {
		t.Fatalf("count %d, %v", s.N, err)
	}
	if inst := v.get("c"); inst.Version != n+1 {
		t.Fatalf("version %d, want %d", inst.Version, n+1)
	}
	if k := engine.LockedInstances(v.e); k != 0 {
		t.Fatalf("%d instance locks left", k)
	}
}

// Two engines on one store (two processes) race through the store's
// compare-and-set; the loser reloads and retries.
func TestConcurrentSendsFromTwoEngines(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	other := v.engine([]*dsl.Definition{counterWF})
	v.start(counterWF, "c", Count{})
	const n = 20
	replies := sendMany(t, v, []*engine.Engine{v.e, other}, "c", n)
	if !slices.Equal(replies, oneToN(n)) {
		t.Fatalf("replies %v", replies)
	}
	if s, _ := engine.Query[Count](v.ctx, other, "c"); s.N != n {
		t.Fatalf("count %d", s.N)
	}
}
