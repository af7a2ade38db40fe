package engine

import (
	"context"
	"errors"

	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// MigrateAll moves every running instance written by an older version of
// a registered definition to the definition's version now, instead of at
// its next event: each gets a Resume, which applies the definition's
// migrations (tearing down removed waits, continuing threads where the
// migration says) and runs whatever became runnable. Call it once after a
// deploy. It returns how many instances it migrated and the first error;
// an instance that cannot be migrated (a lost position) is reported in
// that error and the others are still migrated.
func (e *Engine) MigrateAll(ctx context.Context) (int, error) {
	n := 0
	var first error
	for after := ""; ; {
		page, err := e.List(ctx, after, 256)
		if err != nil {
			return n, err
		}
		for _, inst := range page {
			def := e.definition(inst.Workflow)
			if def == nil || inst.Meta.Status.Finished() || int(max(inst.Meta.Version, 1)) >= def.Version() {
				continue
			}
			if err := e.Resume(ctx, inst.ID); err != nil && !errors.Is(err, interp.ErrFinished) {
				if first == nil {
					first = opErr("migrate", "", inst.ID, err)
				}
				continue
			}
			n++
		}
		if len(page) < 256 {
			return n, first
		}
		after = page[len(page)-1].ID
	}
}

// migrateLock names the lock under which one process at a time migrates
// on Run (see storage.Locker).
const migrateLock = "weft.migrate-on-run"

// migrateOnRun is MigrateAll for Run's start: in one process at a time
// when the store can lock across processes (storage.Locker), so that
// replicas deployed together do not all migrate the same instances. A
// process that finds the lock held skips the migration: the holder does
// it, and instances it has not reached yet migrate at their next event.
func (e *Engine) migrateOnRun(ctx context.Context) {
	if lk, ok := e.store.(storage.Locker); ok {
		l, held, err := lk.TryLock(ctx, migrateLock)
		if err != nil {
			if ctx.Err() == nil { // (else Run is stopping already: nothing failed)
				e.log.Error("engine: taking the migration lock failed; not migrating", "err", err)
			}
			return
		}
		if !held {
			e.log.Info("engine: another process is migrating instances")
			return
		}
		defer l.Unlock()
	}
	n, err := e.MigrateAll(ctx)
	if err != nil && ctx.Err() == nil {
		e.log.Error("migrating instances of older definition versions", "migrated", n, "err", err)
	} else if n > 0 {
		e.log.Info("migrated instances of older definition versions", "migrated", n)
	}
}
