package engine

import (
	"fmt"
	"strings"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// The engine stores an interp.Effect in the outbox as an outbox.Entry
// (internal/outbox), the stored format frozen by outbox_golden_test.go.

// outboxEffects encodes the effects of one transition that go to the outbox.
// The effects' Data share one buffer and their IDs one string: a
// transition to a wait with a setup commits a Teardown and a Setup, and
// each took two allocations of its own. Unless end, the instance's end
// effect is left out (see Engine.keepsEnd). host is the record's host data
// as the transition leaves it: a child's end effect carries its parent
// link from there.
func outboxEffects(id, workflow string, effects []interp.Effect, host []byte, end bool) ([]storage.Effect, error) {
	var buf [2]outbox.Entry
	out, _, err := outboxEntries(id, workflow, effects, host, buf[:0], end)
	return out, err
}

// outboxEntries is outboxEffects that also returns the outbox entries it
// encoded, appended to entries (a buffer), for the hot path's jobs.
func outboxEntries(id, workflow string, effects []interp.Effect, host []byte, entries []outbox.Entry, end bool) ([]storage.Effect, []outbox.Entry, error) {
	size, idSize := 0, 0
	for i := range effects {
		ef := &effects[i]
		if !kept(ef.Kind, end) {
			continue
		}
		entries = append(entries, outbox.Of(workflow, ef))
		if outbox.Ends(ef.Kind) {
			withParent(id, &entries[len(entries)-1], host)
		}
		size += entries[len(entries)-1].Size()
		idSize += len(ef.ID.Instance) + 2 + 20 + 10 // "instance/seq/index", at most
	}
	if len(entries) == 0 {
		return nil, entries, nil
	}
	out := make([]storage.Effect, 0, len(entries))
	data := make([]byte, 0, size)
	var ids strings.Builder
	ids.Grow(idSize)
	idEnds := make([]int, 0, 2)
	k := 0
	for i := range effects {
		ef := &effects[i]
		if !kept(ef.Kind, end) {
			continue
		}
		start := len(data)
		var err error
		if data, err = entries[k].Append(data); err != nil {
			return nil, nil, fmt.Errorf("engine: instance %q: encode %s effect: %w", id, ef.Kind, err)
		}
		k++
		var idBuf [64]byte
		ids.Write(ef.ID.Append(idBuf[:0]))
		idEnds = append(idEnds, ids.Len())
		// The store indexes the not-before time of a retried activity
		// attempt, so that claimers find it ready without decoding Data.
		out = append(out, storage.Effect{Instance: id, Data: data[start:len(data):len(data)], NotBefore: storableDue(ef.At)})
	}
	all, from := ids.String(), 0
	for i, to := range idEnds {
		out[i].ID, from = all[from:to], to
	}
	return out, entries, nil
}

// withParent puts the parent link of a child, from its host data, into
// the entry of its end effect (see outbox.Entry.Parent). Host data that
// does not decode leaves the entry without: performing it then reads the
// link from the record, as for entries written before they carried it.
func withParent(id string, oe *outbox.Entry, host []byte) {
	if len(host) == 0 || endedOnly(host) {
		return
	}
	if h, err := decodeHost(id, host); err == nil && h.Parent != nil {
		oe.Parent, oe.ParentCallback = h.Parent.ID, h.Parent.Callback
	}
}

// kept reports whether an effect of kind k goes to the outbox: as
// outbox.Kept says, but an end effect (Completed, Failed, Canceled,
// Terminated) only if end.
func kept(k interp.EffectKind, end bool) bool {
	return outbox.Kept(k) && (end || !outbox.Ends(k))
}

// keepsEnd reports whether the end effect of a transition to m, with the
// record's host data host, goes to the outbox. Performing it calls the
// finish hook of the process that performs it and tells a child's parent
// that the child ended. With [WithoutEndEffects] (no process has a hook)
// and no parent it would do nothing, and the engine keeps no effect that
// nothing performs; the commit that ends the instance then wakes the
// store's watchers itself (storage.Commit.Wake), as the effect's would. A
// transition that does not end the instance has no end effect (true).
// Host data that does not decode keeps it: the parent link cannot be
// ruled out.
func (e *Engine) keepsEnd(id string, m *interp.Meta, host []byte) bool {
	if !e.noEnds || !m.Status.Finished() {
		return true
	}
	if endedOnly(host) {
		return false
	}
	h, err := decodeHost(id, host)
	return err != nil || h.Parent != nil
}

// infoOf is what a handler is told of the effect id of instance stored as oe.
func infoOf(oe *outbox.Entry, id, instance string) EffectInfo {
	return EffectInfo{
		ID: id, Kind: oe.Kind, Instance: instance, Workflow: oe.Workflow, Thread: oe.Thread,
		Path: oe.Path, Event: oe.Event, Type: oe.Type, Callback: oe.Callback, Data: oe.Data, Error: oe.Error,
		Attempt: oe.Attempt, At: oe.NotBefore(), Timeout: oe.AttemptTimeout(), Child: oe.Child, OnEnd: dsl.ParentEndPolicy(oe.OnEnd),
	}
}
