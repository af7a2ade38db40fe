package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/weftflow/weft/storage"
)

var _ storage.Waker = (*Store)(nil)

// wakeHub hands wake-ups to the channels of every Wakeups call on a store
// and its [Store.Share] handles.
type wakeHub struct {
	mu     sync.Mutex
	closed bool
	subs   map[*wakeSub]struct{}
}

// wakeSub is one Wakeups channel and the handle (or store) that made it.
type wakeSub struct {
	ch    chan struct{}
	owner any
	stop  func() bool // unregisters the ctx callback
}

func newWakeHub() *wakeHub { return &wakeHub{subs: make(map[*wakeSub]struct{})} }

// subscribe returns a new channel of owner, closed when ctx ends or
// closeOwner(owner) or closeAll runs.
func (h *wakeHub) subscribe(ctx context.Context, owner any) (<-chan struct{}, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	sub := &wakeSub{ch: make(chan struct{}, 1), owner: owner}
	h.subs[sub] = struct{}{}
	sub.stop = context.AfterFunc(ctx, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.remove(sub)
	})
	return sub.ch, true
}

// remove closes sub's channel if it is still registered. The caller holds
// h.mu.
func (h *wakeHub) remove(sub *wakeSub) {
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		close(sub.ch)
	}
}

// wake puts a value in every channel that has none waiting.
func (h *wakeHub) wake() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		select {
		case sub.ch <- struct{}{}:
		default:
		}
	}
}

// closeOwner closes the channels of owner.
func (h *wakeHub) closeOwner(owner any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for sub := range h.subs {
		if sub.owner == owner {
			sub.stop()
			h.remove(sub)
		}
	}
}

// closeAll closes every channel, and makes subscribe fail from then on.
func (h *wakeHub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for sub := range h.subs {
		sub.stop()
		h.remove(sub)
	}
}

// wakeAfter wakes the hub's channels if a successful write left work:
// effects, or a Due. The store has no clock, so any Due counts.
func (s *Store) wakeAfter(effects int, due time.Time) {
	if effects > 0 || !due.IsZero() {
		s.hub.wake()
	}
}

// Wakeups implements [storage.Waker]: every Create or Commit that writes
// effects or sets a Due, every Commit with Wake set, and every Requeue
// that moves an effect, on the store or any of its [Store.Share] handles,
// puts a value in the channels of all of them. The channel is closed when
// ctx ends, when the handle that made it is closed, or when the store is
// closed. It fails with [storage.ErrClosed] on a closed store and with
// ctx's error.
func (s *Store) Wakeups(ctx context.Context) (<-chan struct{}, error) {
	return s.wakeups(ctx, s)
}

func (s *Store) wakeups(ctx context.Context, owner any) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: wakeups: %w", err)
	}
	ch, ok := s.hub.subscribe(ctx, owner)
	if !ok {
		return nil, fmt.Errorf("storage: wakeups: %w", storage.ErrClosed)
	}
	return ch, nil
}

// Wakeups is [Store.Wakeups] for the handle: its channels close when the
// handle does.
func (h *handle) Wakeups(ctx context.Context) (<-chan struct{}, error) {
	if err := h.err("wakeups"); err != nil {
		return nil, err
	}
	return h.Store.wakeups(ctx, h)
}
