package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/weftflow/weft/storage"
)

// journal is an instance's journal: private copies of its entries, oldest
// first, Time normalized. s.mu guards it.
type journal struct {
	entries []storage.JournalEntry
}

// last returns the Seq of the newest entry, 0 if there is none.
func (j *journal) last() uint64 {
	if j == nil || len(j.entries) == 0 {
		return 0
	}
	return j.entries[len(j.entries)-1].Seq
}

// trim applies keep and returns how many entries it removed.
func (j *journal) trim(keep storage.JournalKeep) int {
	cut := keep.Cut(len(j.entries), func(i int) (time.Time, bool) {
		return j.entries[i].Time, j.entries[i].Start()
	})
	if cut == 0 {
		return 0
	}
	n := copy(j.entries, j.entries[cut:])
	clear(j.entries[n:]) // let the trimmed bytes go
	j.entries = j.entries[:n]
	return cut
}

// copyEntry returns a copy of e that shares no memory with it, its Data
// and Base in one allocation, with Time normalized.
func copyEntry(e storage.JournalEntry) storage.JournalEntry {
	buf := make([]byte, 0, len(e.Data)+len(e.Base))
	buf = append(buf, e.Data...)
	buf = append(buf, e.Base...)
	out := storage.JournalEntry{Seq: e.Seq, Time: storage.NormalizeDue(e.Time)}
	if len(e.Data) > 0 {
		out.Data = buf[:len(e.Data):len(e.Data)]
	}
	if len(e.Base) > 0 {
		out.Base = buf[len(e.Data):]
	}
	return out
}

// checkJournal fails with ErrInvalid unless w's entry comes after the
// instance's last entry. The caller holds s.mu.
func (s *Store) checkJournal(op, id string, w *storage.JournalWrite) error {
	if w == nil {
		return nil
	}
	if last := s.journals[id].last(); w.Entry.Seq <= last {
		return fmt.Errorf("storage: %s %q: journal entry seq %d is not after the last entry's %d: %w",
			op, id, w.Entry.Seq, last, storage.ErrInvalid)
	}
	return nil
}

// appendJournal appends w's entry to the instance's journal and applies
// its Keep. The caller holds s.mu and has checked w.
func (s *Store) appendJournal(id string, w *storage.JournalWrite) {
	if w == nil {
		return
	}
	j := s.journals[id]
	if j == nil {
		j = &journal{}
		s.journals[id] = j
	}
	j.entries = append(j.entries, copyEntry(w.Entry))
	if w.Keep != nil {
		j.trim(*w.Keep)
	}
}

// ReadJournal implements [storage.Journal.ReadJournal].
func (s *Store) ReadJournal(ctx context.Context, id string, from uint64, limit int) ([]storage.JournalEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: read journal %q: %w", id, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: read journal %q: %w", id, storage.ErrClosed)
	}
	j := s.journals[id]
	if j == nil {
		return nil, nil
	}
	i, _ := slices.BinarySearchFunc(j.entries, from, func(e storage.JournalEntry, seq uint64) int {
		return cmp.Compare(e.Seq, seq)
	})
	rest := j.entries[i:]
	if limit > 0 && limit < len(rest) {
		rest = rest[:limit]
	}
	out := make([]storage.JournalEntry, len(rest))
	for k, e := range rest {
		out[k] = copyEntry(e)
	}
	return out, nil
}

// TrimJournal implements [storage.Journal.TrimJournal].
func (s *Store) TrimJournal(ctx context.Context, id string, keep storage.JournalKeep) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage: trim journal %q: %w", id, err)
	}
	if err := keep.Validate(); err != nil {
		return 0, fmt.Errorf("storage: trim journal %q: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("storage: trim journal %q: %w", id, storage.ErrClosed)
	}
	j := s.journals[id]
	if j == nil {
		return 0, nil
	}
	return j.trim(keep), nil
}

func (h *handle) ReadJournal(ctx context.Context, id string, from uint64, limit int) ([]storage.JournalEntry, error) {
	if err := h.err("read journal"); err != nil {
		return nil, err
	}
	return h.Store.ReadJournal(ctx, id, from, limit)
}

func (h *handle) TrimJournal(ctx context.Context, id string, keep storage.JournalKeep) (int, error) {
	if err := h.err("trim journal"); err != nil {
		return 0, err
	}
	return h.Store.TrimJournal(ctx, id, keep)
}
