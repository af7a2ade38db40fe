package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// received reports whether ch holds a value now, and whether it is open.
func received(ch <-chan struct{}) (got, open bool) {
	select {
	case _, open := <-ch:
		return open, open
	default:
		return false, true
	}
}

func TestWakeupsShared(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	h := s.Share()
	w, err := h.(storage.Waker).Wakeups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	own, err := s.Wakeups(wctx)
	if err != nil {
		t.Fatal(err)
	}

	// A write without work wakes no one.
	if _, err := s.Create(ctx, storage.Instance{ID: "idle"}, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := received(w); got {
		t.Fatal("woken by a Create without effects or Due")
	}
	// Two commits with work: one value each channel, coalesced.
	if _, err := s.Create(ctx, storage.Instance{ID: "a"}, []storage.Effect{{ID: "a/1", Instance: "a"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "a", Due: time.Unix(1e9, 0)}, Expect: 1}); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan struct{}{"handle": w, "store": own} {
		if got, _ := received(ch); !got {
			t.Fatalf("%s: not woken by a commit with work", name)
		}
		if got, _ := received(ch); got {
			t.Fatalf("%s: two values for two commits; want them coalesced", name)
		}
	}
	// A commit without work wakes no one, unless it asks to (an end).
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "idle"}, Expect: 1}); err != nil {
		t.Fatal(err)
	}
	if got, _ := received(w); got {
		t.Fatal("woken by a Commit without effects, Due or Wake")
	}
	if _, err := s.Commit(ctx, storage.Commit{Instance: storage.Instance{ID: "idle", Status: "completed"}, Expect: 2, Wake: true}); err != nil {
		t.Fatal(err)
	}
	for name, ch := range map[string]<-chan struct{}{"handle": w, "store": own} {
		if got, _ := received(ch); !got {
			t.Fatalf("%s: not woken by a commit with Wake", name)
		}
	}
	cancel()
	// The ctx's end is noticed by a goroutine of context.AfterFunc.
	select {
	case _, open := <-own:
		if open {
			t.Fatal("a value after its ctx ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("channel still open 10s after its ctx ended")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := received(w); open {
		t.Fatal("handle's channel still open after the handle closed")
	}
	if _, err := h.(storage.Waker).Wakeups(ctx); err == nil {
		t.Fatal("Wakeups on a closed handle succeeded")
	}
	last, err := s.Wakeups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, open := received(last); open {
		t.Fatal("channel still open after the store closed")
	}
}
