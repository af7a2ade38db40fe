package memory

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/storage"
)

var (
	_ storage.Locker          = (*Store)(nil)
	_ storage.AckReleaser     = (*Store)(nil)
	_ storage.PendingWithDead = (*Store)(nil)
)

// TryLock implements [storage.Locker] with a table in memory shared by the
// store and its [Store.Share] handles: a lock held through one handle is
// refused to the others until it is unlocked or its handle closed (closing
// a handle is its process dying). Closing the store releases every lock.
// It fails with [storage.ErrClosed] on a closed store and with ctx's
// error.
func (s *Store) TryLock(ctx context.Context, name string) (storage.Lock, bool, error) {
	return s.tryLock(ctx, name, s)
}

func (s *Store) tryLock(ctx context.Context, name string, owner any) (storage.Lock, bool, error) {
	op := fmt.Sprintf("lock %q", name)
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("storage: %s: %w", op, err)
	}
	l, ok, open := s.locks.TryLock(name, owner)
	if !open {
		return nil, false, fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return l, ok, nil
}

// TryLock is [Store.TryLock] for the handle: its locks are released when
// the handle is closed.
func (h *handle) TryLock(ctx context.Context, name string) (storage.Lock, bool, error) {
	if err := h.err(fmt.Sprintf("lock %q", name)); err != nil {
		return nil, false, err
	}
	return h.Store.tryLock(ctx, name, h)
}
