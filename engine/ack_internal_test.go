package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// ackCounter is a store whose Ack is slow (like an fsync) and counted,
// and fails or panics for IDs so named.
type ackCounter struct {
	storage.Store
	calls atomic.Int64
	mu    sync.Mutex
	acked map[string]int
}

var errAckFailed = errors.New("ack failed")

func (s *ackCounter) Ack(ctx context.Context, ids ...string) error {
	s.calls.Add(1)
	time.Sleep(200 * time.Microsecond)
	for _, id := range ids {
		switch id {
		case "fail":
			return errAckFailed
		case "panic":
			panic("ack bomb")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		s.acked[id]++
	}
	return nil
}

// Acknowledgements made at the same time are written in batches, each ID
// once; a failed or panicking batch is reported to every worker in it and
// blocks nobody.
func TestAcksAreBatched(t *testing.T) {
	store := &ackCounter{Store: memory.New(), acked: map[string]int{}}
	e, err := New(store)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 32, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := e.ack(t.Context(), fmt.Sprintf("%d/%d", w, i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(store.acked) != workers*each {
		t.Fatalf("%d IDs acknowledged, want %d", len(store.acked), workers*each)
	}
	for id, n := range store.acked {
		if n != 1 {
			t.Fatalf("%s acknowledged %d times", id, n)
		}
	}
	if calls := store.calls.Load(); calls >= workers*each/2 {
		t.Fatalf("%d Ack calls for %d IDs: not batched", calls, workers*each)
	}

	for _, bad := range []string{"fail", "panic"} {
		var failed atomic.Int64
		for w := range 8 {
			wg.Go(func() {
				id := fmt.Sprintf("%s-%d", bad, w)
				if w == 0 {
					id = bad
				}
				if err := e.ack(t.Context(), id); err != nil {
					failed.Add(1)
					if w == 0 && !errors.Is(err, errAckFailed) && !errors.Is(err, ErrPanic) {
						t.Errorf("%s: %v", id, err)
					}
				}
			})
		}
		wg.Wait()
		if failed.Load() == 0 {
			t.Fatalf("%s: no worker heard of the failure", bad)
		}
		if err := e.ack(t.Context(), "after-"+bad); err != nil { // the batcher still works
			t.Fatal(err)
		}
	}
}
