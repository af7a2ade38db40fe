package interp

import (
	"fmt"

	"github.com/weftflow/weft/dsl"
)

// Restart is [Apply] of a Start event for a new run of an instance ID whose
// previous run, described by prev, has finished: the host reuses the ID
// (see engine.WithIDReuse). The new run is what Apply(def, state, Meta{},
// ev) gives, except that it continues the previous run's numbering: its
// sequence numbers follow prev.Seq and its callback IDs follow
// prev.NextCallback. So no effect of the new run has the ID of an effect of
// the old one (receivers de-duplicate on effect IDs and must not take a new
// setup for a retry of an old one), and a late callback meant for the old
// run is refused as stale instead of answering a wait of the new one.
//
// Errors: those of Apply for a Start, and [ErrBadEvent] when ev is not a
// Start or prev has not finished. Like Apply it never panics.
func Restart(def *dsl.Definition, state []byte, prev Meta, ev Event) (res Result, err error) {
	defer barrier("Restart", def, prev, &res, &err)
	if def == nil {
		return Result{}, nilDefinition("Restart", prev)
	}
	if ev.Kind != EventStart {
		return Result{}, fmt.Errorf("%w: Restart takes a start event, not %s", ErrBadEvent, ev.Kind)
	}
	if prev.Seq == 0 || !prev.Status.Finished() {
		return Result{}, fmt.Errorf("%w: restart of instance %q, which is %s: only a finished run can be followed by a new one", ErrBadEvent, prev.Instance, prev.Status)
	}
	res, err = apply(def, state, Meta{}, ev, nil)
	if err != nil {
		return Result{}, err
	}
	seq, cb := prev.Seq, prev.NextCallback
	m := &res.Meta
	m.Seq += seq
	m.NextCallback += cb
	for i := range m.Recent {
		m.Recent[i] += cb
	}
	for i := range m.Threads {
		for j := range m.Threads[i].Waits {
			p := &m.Threads[i].Waits[j]
			p.Child = renumberChild(m.Instance, m.Threads[i].Path, p.Child, p.Callback, cb)
			p.Callback += cb
		}
	}
	for i := range res.Effects {
		e := &res.Effects[i]
		e.ID.Seq += seq
		if e.Kind == EffectStartChild {
			e.Child = renumberChild(m.Instance, e.Path, e.Child, e.Callback, cb)
		}
		if e.Callback != 0 {
			e.Callback += cb
		}
	}
	return res, nil
}

// renumberChild is the ID of a child started under callback old, once the
// callbacks of a new run are moved up by by: a default child ID names its
// callback, so it moves with it (else the new run's child would take the
// ID of the previous run's). A child ID given by a rule is kept.
func renumberChild(instance, path, child string, old, by uint64) string {
	if child == "" || child != DefaultChildID(instance, path, old) {
		return child
	}
	return DefaultChildID(instance, path, old+by)
}
