package bolt

import (
	"context"
	"fmt"

	"github.com/weftflow/weft/storage"
)

// ReadJournal implements [storage.Journal.ReadJournal]. The journal is not
// stored by this adapter yet: Create and Commit refuse an Instance.Journal,
// so every instance's journal is empty.
func (s *Store) ReadJournal(ctx context.Context, id string, from uint64, limit int) ([]storage.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: read journal %q: %w", id, err)
	}
	return nil, nil
}

// TrimJournal implements [storage.Journal.TrimJournal]; see ReadJournal.
func (s *Store) TrimJournal(ctx context.Context, id string, keep storage.JournalKeep) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: trim journal %q: %w", id, err)
	}
	return 0, keep.Validate()
}

// noJournal refuses a write with a journal entry until this adapter
// stores journals.
func noJournal(op string, w *storage.JournalWrite) error {
	if w == nil {
		return nil
	}
	return fmt.Errorf("storage: %s: bolt does not store journals yet: %w", op, storage.ErrInvalid)
}
