package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/weftflow/weft/storage"
)

// TestConcurrentResultsStayWithTheirCaller: the writer's requests are
// recycled between writes; from many goroutines, group-committed
// together, each write still gets its own outcome (its version, or its
// own conflict), round after round.
func TestConcurrentResultsStayWithTheirCaller(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	const n = 64
	for i := range n {
		if _, err := s.Create(ctx, storage.Instance{ID: fmt.Sprintf("i%02d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	versions := make([]uint64, n)
	for i := range versions {
		versions[i] = 1
	}
	for round := range 20 {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				id := fmt.Sprintf("i%02d", i)
				expect := versions[i]
				stale := (i+round)%3 == 0 // a conflict: the caller must see it, and only it
				if stale {
					expect--
				}
				v, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: id}, Expect: expect})
				switch {
				case stale && !errors.Is(err, storage.ErrConflict):
					t.Errorf("round %d, %s: stale commit got %d, %v", round, id, v, err)
				case !stale && (err != nil || v != versions[i]+1):
					t.Errorf("round %d, %s: got %d, %v, want version %d", round, id, v, err, versions[i]+1)
				case !stale:
					versions[i] = v
				}
			})
		}
		wg.Wait()
	}
}
