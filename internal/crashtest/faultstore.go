package crashtest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/weftflow/weft/storage"
)

// ErrInjected is the error a [FaultyStore] returns for a write it fails.
var ErrInjected = errors.New("crashtest: injected write failure")

// Fault says how a [FaultyStore] fails writes (Create, Commit, Ack).
type Fault int32

// Faults.
const (
	// NoFault passes writes through.
	NoFault Fault = iota
	// FailBefore fails writes without performing them, like a write
	// refused before it reached the disk.
	FailBefore
	// FailAfter performs writes and then reports failure, like an I/O
	// error on the final fsync: the outcome is unknown to the caller.
	FailAfter
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case NoFault:
		return "no fault"
	case FailBefore:
		return "fail before writing"
	case FailAfter:
		return "fail after writing"
	}
	return fmt.Sprintf("fault %d", int32(f))
}

// FaultyStore wraps a [storage.Store] and fails its writes with
// [ErrInjected] while a fault is set. Reads always pass through. Safe for
// concurrent use.
type FaultyStore struct {
	storage.Store
	fault  atomic.Int32
	failed atomic.Int64
}

// NewFaultyStore wraps s, with no fault set.
func NewFaultyStore(s storage.Store) *FaultyStore { return &FaultyStore{Store: s} }

// Set sets the fault for the writes that follow.
func (s *FaultyStore) Set(f Fault) { s.fault.Store(int32(f)) }

// Failed returns how many writes failed so far.
func (s *FaultyStore) Failed() int64 { return s.failed.Load() }

// write runs do under the current fault.
func (s *FaultyStore) write(what string, do func() error) error {
	switch Fault(s.fault.Load()) {
	case FailBefore:
		s.failed.Add(1)
		return fmt.Errorf("storage: %s: %w (nothing written)", what, ErrInjected)
	case FailAfter:
		if err := do(); err != nil {
			return err
		}
		s.failed.Add(1)
		return fmt.Errorf("storage: %s: %w (written)", what, ErrInjected)
	}
	return do()
}

// Create implements [storage.Store].
func (s *FaultyStore) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (v uint64, err error) {
	err = s.write(fmt.Sprintf("create %q", inst.ID), func() error {
		v, err = s.Store.Create(ctx, inst, effects)
		return err
	})
	return v, err
}

// Commit implements [storage.Store].
func (s *FaultyStore) Commit(ctx context.Context, c storage.Commit) (v uint64, err error) {
	err = s.write(fmt.Sprintf("commit %q", c.Instance.ID), func() error {
		v, err = s.Store.Commit(ctx, c)
		return err
	})
	return v, err
}

// Ack implements [storage.Store].
func (s *FaultyStore) Ack(ctx context.Context, ids ...string) error {
	return s.write("ack", func() error { return s.Store.Ack(ctx, ids...) })
}
