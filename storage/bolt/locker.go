package bolt

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

// TryLock implements [storage.Locker] with a table in memory: a bbolt file
// is open in one process at a time (Open locks it), so a lock in the
// process is a lock across every user of the data. Closing the store
// releases every lock. It fails with [storage.ErrClosed] on a closed store
// and with ctx's error.
func (s *Store) TryLock(ctx context.Context, name string) (storage.Lock, bool, error) {
	op := fmt.Sprintf("lock %q", name)
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("storage: %s: %w", op, err)
	}
	l, ok, open := s.locks.TryLock(name, s)
	if !open {
		return nil, false, fmt.Errorf("storage: %s: %w", op, storage.ErrClosed)
	}
	return l, ok, nil
}
