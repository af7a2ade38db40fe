package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// A dead-lettered Setup or Teardown takes with it what would follow it:
// when the later effects of its wait, or the instance's finishing effect,
// come to be performed, they are dead-lettered too (without an attempt), so
// that a receiver never sees a teardown before its setup, or a finish
// before both. Requeue puts an instance's dead letters back together, in
// the order the instance emitted them.

// errDeadAhead is the outcome of an effect that waits behind a dead letter.
var errDeadAhead = errors.New("engine: waits behind a dead-lettered effect")

// Dead letters known to this engine (see mayHaveDead).
const (
	deadUnknown = iota
	deadNone
	deadMaybe
)

// mayHaveDead reports whether the store may hold dead letters. An engine
// without leases is the only one dead-lettering effects in its store, so
// after one look it knows; with leases, other processes may, so it always
// looks.
func (e *Engine) mayHaveDead(ctx context.Context) (bool, error) {
	if e.shared != nil {
		return true, nil
	}
	switch e.dead.Load() {
	case deadNone:
		return false, nil
	case deadMaybe:
		return true, nil
	}
	page, err := e.store.DeadLetters(ctx, "", 1)
	if err != nil {
		return false, fmt.Errorf("engine: dead letters: %w", err)
	}
	if len(page) == 0 {
		e.dead.CompareAndSwap(deadUnknown, deadNone)
		return e.dead.Load() == deadMaybe, nil
	}
	e.dead.Store(deadMaybe)
	return true, nil
}

// deadBlocks returns the callbacks of instance whose later effects wait
// behind a dead-lettered Setup or Teardown, with 0 (the instance's
// finishing effects) among them if any.
func (e *Engine) deadBlocks(ctx context.Context, instance string) (map[uint64]bool, error) {
	if ok, err := e.mayHaveDead(ctx); !ok || err != nil {
		return nil, err
	}
	var blocks map[uint64]bool
	block := func(cb uint64) {
		if blocks == nil {
			blocks = map[uint64]bool{}
		}
		blocks[cb], blocks[0] = true, true
	}
	prefix := instance + "/" // effect IDs are "instance/seq/index"
	const page = 64
	for after := prefix; ; {
		dead, err := e.store.DeadLetters(ctx, after, page)
		if err != nil {
			return nil, opErr("dead letters", "of", instance, err)
		}
		for _, d := range dead {
			if !strings.HasPrefix(d.ID, prefix) {
				return blocks, nil
			}
			if d.Instance != instance {
				continue
			}
			oe, err := outbox.Decode(d)
			switch {
			case err != nil:
				block(0) // unknown: hold the finish back
			case orderedKind(oe.Kind):
				block(oe.Callback)
			}
		}
		if len(dead) < page {
			return blocks, nil
		}
		after = dead[len(dead)-1].ID
	}
}

// checkDeadAhead returns errDeadAhead if the effect j, a Teardown or a
// finishing effect, waits behind a dead letter of its instance.
func (e *Engine) checkDeadAhead(ctx context.Context, j *job) error {
	k := j.oe.Kind
	if j.bad != nil || j.noDead || (k != interp.EffectTeardown && k != interp.EffectEndChild && !outbox.Ends(k)) {
		return nil
	}
	blocks, err := e.deadBlocks(ctx, j.effect.Instance)
	if err != nil {
		return err
	}
	if blocks[0] && (k != interp.EffectTeardown && k != interp.EffectEndChild || blocks[j.oe.Callback]) {
		return errDeadAhead
	}
	return nil
}

// Requeue puts dead-lettered effects back into the outbox, ready at once
// with their attempts reset, and returns how many it moved. With each ID it
// requeues the other dead letters of the same instance (those that were
// dead-lettered because they waited behind it), all in the order the
// instance emitted them. Unknown IDs are ignored.
func (e *Engine) Requeue(ctx context.Context, ids ...string) (int, error) {
	n, err := RequeueDead(ctx, e.store, ids...)
	if n > 0 {
		e.wake()
	}
	return n, err
}

// RequeueDead is [Engine.Requeue] for tools that have a store and no
// engine (the CLI's requeue command).
func RequeueDead(ctx context.Context, store storage.Claims, ids ...string) (int, error) {
	instances := map[string]bool{}
	var all []storage.Effect
	for after := ""; ; {
		page, err := store.DeadLetters(ctx, after, 256)
		if err != nil {
			return 0, fmt.Errorf("engine: requeue: %w", err)
		}
		all = append(all, page...)
		if len(page) < 256 {
			break
		}
		after = page[len(page)-1].ID
	}
	for _, d := range all {
		if slices.Contains(ids, d.ID) {
			instances[d.Instance] = true
		}
	}
	var move []storage.Effect
	for _, d := range all {
		if instances[d.Instance] {
			move = append(move, d)
		}
	}
	slices.SortFunc(move, func(a, b storage.Effect) int {
		if c := strings.Compare(a.Instance, b.Instance); c != 0 {
			return c
		}
		return cmpEffectIDs(a.ID, b.ID)
	})
	order := make([]string, len(move))
	for i, d := range move {
		order[i] = d.ID
	}
	n, err := store.Requeue(ctx, order...)
	if err != nil {
		return n, fmt.Errorf("engine: requeue: %w", err)
	}
	return n, nil
}

// cmpEffectIDs orders the IDs of one instance's effects
// ("instance/seq/index") as the instance emitted them.
func cmpEffectIDs(a, b string) int {
	as, ai := effectPos(a)
	bs, bi := effectPos(b)
	if c := cmp.Compare(as, bs); c != 0 {
		return c
	}
	if c := cmp.Compare(ai, bi); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// effectPos parses the transition sequence and index at the end of an
// effect ID; IDs not of that form sort first.
func effectPos(id string) (seq, index uint64) {
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return 0, 0
	}
	j := strings.LastIndexByte(id[:i], '/')
	if j < 0 {
		return 0, 0
	}
	seq, _ = strconv.ParseUint(id[j+1:i], 10, 64)
	index, _ = strconv.ParseUint(id[i+1:], 10, 64)
	return seq, index
}
