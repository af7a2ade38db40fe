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

// newRunEffects is a storage adapter that, writing a new run over an old
// one, writes only the effects keep leaves of the commit's.
type newRunEffects struct {
	storage.Store
	keep func([]storage.Effect) []storage.Effect // the bug
}

func (s newRunEffects) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if newRun(ctx, s.Store, c) {
		c.Effects = s.keep(c.Effects)
	}
	return s.Store.Commit(ctx, c)
}

// An adapter that clears an instance's outbox when its record is
// replaced: the new run's setup, or the old run's termination, is never
// performed.
func TestAdapterDropsANewRunsEffects(t *testing.T) {
	none := func([]storage.Effect) []storage.Effect { return nil }
	wantCaught(t, simulate.InvEffects, func(r *simulate.Recorder) {
		simulate.Check(r, askWF, simulate.Options[request]{Store: func(s storage.Store) storage.Store { return newRunEffects{s, none} }})
	})
}

// An adapter that, writing a new run over a running one
// (IDReuseTerminateRunning), drops the first of the commit's effects, the
// old run's termination's: its open setup is never torn down.
func TestAdapterDropsATerminatedRunsEffects(t *testing.T) {
	notFirst := func(es []storage.Effect) []storage.Effect {
		if len(es) > 1 {
			return es[1:]
		}
		return es
	}
	wantCaught(t, simulate.InvEffects, func(r *simulate.Recorder) {
		simulate.Check(r, askWF, simulate.Options[request]{Store: func(s storage.Store) storage.Store { return newRunEffects{s, notFirst} }})
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

// renumbers is a storage adapter that writes a new run over an old one
// with its meta's sequence number one short: the new run's transitions
// (and effect IDs) would repeat the old run's numbers.
type renumbers struct{ storage.Store }

func (s renumbers) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	if newRun(ctx, s.Store, c) {
		if rec, err := codec.DecodeRecord(c.Instance.Data); err == nil {
			if m, err := interp.DecodeMeta(rec.Meta); err == nil {
				m.Seq-- // the bug
				rec.Meta = interp.EncodeMeta(m)
				if data, err := codec.EncodeRecord(rec); err == nil {
					c.Instance.Data = data
				}
			}
		}
	}
	return s.Store.Commit(ctx, c)
}

func TestAdapterRenumbersANewRun(t *testing.T) {
	wantCaught(t, simulate.InvNewRun, func(r *simulate.Recorder) {
		simulate.Check(r, askWF, simulate.Options[request]{Store: func(s storage.Store) storage.Store { return renumbers{s} }})
	})
}

// renumbersOverATombstone is a storage adapter that writes an instance
// created over a deleted one's tombstone with its meta's sequence number
// one short: the ID started again after retention would repeat the
// deleted instance's numbers.
type renumbersOverATombstone struct{ storage.Store }

func (s renumbersOverATombstone) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	if inst.Version != 0 { // names a tombstone
		if rec, err := codec.DecodeRecord(inst.Data); err == nil {
			if m, err := interp.DecodeMeta(rec.Meta); err == nil {
				m.Seq-- // the bug
				rec.Meta = interp.EncodeMeta(m)
				if data, err := codec.EncodeRecord(rec); err == nil {
					inst.Data = data
				}
			}
		}
	}
	return s.Store.Create(ctx, inst, effects)
}

func TestAdapterRenumbersAnInstanceOverATombstone(t *testing.T) {
	adapterCaught(t, simulate.InvNewRun, func(s storage.Store) storage.Store { return renumbersOverATombstone{s} })
}
