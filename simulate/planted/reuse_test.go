package planted_test

import (
	"context"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// newRun reports whether commit c replaces the stored run of its instance
// with a new one (engine.WithIDReuse): its meta starts at another time, or
// (a running one terminated and restarted at once) two transitions are
// committed in one.
func newRun(ctx context.Context, s storage.Store, c storage.Commit) bool {
	old, err := s.Load(ctx, c.Instance.ID)
	if err != nil {
		return false
	}
	meta := func(data []byte) interp.Meta {
		rec, err := codec.DecodeRecord(data)
		if err != nil {
			return interp.Meta{}
		}
		m, _ := interp.DecodeMeta(rec.Meta)
		return m
	}
	was, now := meta(old.Data), meta(c.Instance.Data)
	return !was.Started.Equal(now.Started) || now.Seq == was.Seq+2
}

// freshSlate is a storage adapter that, writing a new run over an old
// one, drops the outbox entries of the commit, as one that clears an
// instance's outbox when its record is replaced would: the new run's
// setup, or the old run's termination, is never performed.
type freshSlate struct{ storage.Store }

func (s freshSlate) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if newRun(ctx, s.Store, c) {
		c.Effects = nil // the bug
	}
	return s.Store.Commit(ctx, c)
}

func TestAdapterDropsANewRunsEffects(t *testing.T) {
	wantCaught(t, simulate.InvEffects, func(r *simulate.Recorder) {
		simulate.Check(r, askWF, simulate.Options[request]{Store: func(s storage.Store) storage.Store { return freshSlate{s} }})
	})
}

// keepsOld is a storage adapter that answers a commit of a new run over
// an old one as written, and keeps the old run.
type keepsOld struct{ storage.Store }

func (s keepsOld) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if newRun(ctx, s.Store, c) {
		return c.Expect + 1, nil // the bug
	}
	return s.Store.Commit(ctx, c)
}

func TestAdapterKeepsTheOldRun(t *testing.T) {
	wantCaught(t, simulate.InvNewRun, func(r *simulate.Recorder) {
		simulate.Check(r, askWF, simulate.Options[request]{Store: func(s storage.Store) storage.Store { return keepsOld{s} }})
	})
}

// unterminated is a storage adapter that, writing a new run over a running
// one (IDReuseTerminateRunning), drops the old run's termination effects,
// which the commit holds first: its open setups are never torn down.
type unterminated struct{ storage.Store }

func (s unterminated) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if newRun(ctx, s.Store, c) && len(c.Effects) > 1 {
		c.Effects = c.Effects[1:] // the bug
	}
	return s.Store.Commit(ctx, c)
}

func TestAdapterDropsATerminatedRunsEffects(t *testing.T) {
	wantCaught(t, simulate.InvEffects, func(r *simulate.Recorder) {
		simulate.Check(r, askWF, simulate.Options[request]{Store: func(s storage.Store) storage.Store { return unterminated{s} }})
	})
}
