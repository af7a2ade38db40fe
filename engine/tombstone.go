package engine

import (
	"errors"
	"fmt"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Retention deletes finished instances, but their IDs may be started
// again: a daily job's ID, a customer's. The new instance must not repeat
// the deleted one's effect IDs (instance/sequence/index), which receivers
// de-duplicate on, nor take callbacks meant for it. So GC leaves a
// tombstone in the store (storage.Retention.Delete): a record that holds
// the deleted instance's workflow and numbering, no state. A Start of the
// ID meets it (storage.DeletedError) and continues that numbering, as a
// new run of a reused ID does (interp.Restart); the new instance's first
// journal entry starts from it, as from a snapshot.

// tombstoneOf is the tombstone of the finished instance id of workflow,
// whose meta is m.
func tombstoneOf(id, workflow string, m *interp.Meta) ([]byte, error) {
	numbering := interp.Meta{Instance: m.Instance, Seq: m.Seq, Status: m.Status, NextCallback: m.NextCallback}
	b, err := codec.EncodeRecord(codec.Record{Workflow: workflow, State: cborNull, Meta: interp.EncodeMeta(numbering)})
	if err != nil {
		return nil, opErr("gc", "", id, err)
	}
	return b, nil
}

// cborNull is the tombstone's state: none.
var cborNull = []byte{0xf6}

// deleted is what a Create learned of a deleted instance with its ID.
type deleted struct {
	version uint64      // its last version, which the next Create names
	meta    interp.Meta // its numbering; zero if its tombstone holds none
	record  []byte      // its tombstone: the base of the new instance's first journal entry
}

// deletedBy reads the storage.DeletedError in err: nil, nil when err is
// another error. A tombstone that is not weft's record is a corrupt
// record; an empty one (left by a Delete that was not the engine's)
// carries no numbering: the new instance numbers from the start.
func deletedBy(id string, err error) (*deleted, error) {
	var de *storage.DeletedError
	if !errors.As(err, &de) {
		return nil, nil
	}
	d := &deleted{version: de.Version}
	if len(de.Tombstone) == 0 {
		return d, nil
	}
	rec, err := codec.DecodeRecord(de.Tombstone)
	if err != nil {
		return nil, opErr("start", "", id, fmt.Errorf("the tombstone of a deleted instance: %w", err))
	}
	m, err := interp.DecodeMeta(rec.Meta)
	if err != nil {
		return nil, opErr("start", "", id, fmt.Errorf("the tombstone of a deleted instance: %w", err))
	}
	if m.Seq == 0 || !m.Status.Finished() {
		return nil, opErr("start", "", id, fmt.Errorf("%w: the tombstone of a deleted instance holds a %s instance at transition %d",
			codec.ErrCorrupt, m.Status, m.Seq))
	}
	d.meta, d.record = m, de.Tombstone
	return d, nil
}

// startAfter applies the start event ev of instance id: as a first start,
// or, over the tombstone d, continuing its numbering.
func (e *Engine) startAfter(d *deleted, def *dsl.Definition, state []byte, ev interp.Event, id string) (interp.Result, error) {
	prev := d.numbering()
	if prev.Seq == 0 {
		return e.apply(def, state, prev, ev, id)
	}
	res, err := interp.Restart(def, state, prev, ev)
	if err != nil {
		if tl := tooLarge(id, "state", err); tl != nil {
			return interp.Result{}, tl
		}
		return interp.Result{}, eventError(interp.EventStart, id, err)
	}
	if err := e.checkSize(id, res.State); err != nil {
		return interp.Result{}, err
	}
	return res, nil
}

// numbering is the meta a new instance over the tombstone d (nil: none)
// starts after: the deleted instance's numbering, or nothing.
func (d *deleted) numbering() interp.Meta {
	if d == nil {
		return interp.Meta{}
	}
	return d.meta
}

// over prepares inst, the first record of an instance created over the
// tombstone d (nil: none), for its Create: it names the tombstone, and its
// journal entry, if any, starts from it.
func (d *deleted) over(inst *storage.Instance) {
	if d == nil {
		return
	}
	inst.Version = d.version
	if inst.Journal != nil && len(d.record) > 0 {
		inst.Journal.Entry.Base = d.record
	}
}
