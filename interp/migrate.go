package interp

import (
	"errors"
	"fmt"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/position"
)

// ErrMigration: a migration could not be applied (its state upcaster
// failed, or the instance was written by a newer definition version).
var ErrMigration = errors.New("interp: migration failed")

// Upgrade applies the definition's migrations to an instance written by an
// older version, without handling any event: the state, meta and effects
// (teardowns of removed waits) the next event would start from. An instance
// already at the definition's version comes back unchanged. Errors match
// [ErrMigration], [ErrPositionLost], [ErrCorrupt] or [ErrInternal]. The upgrade verifier
// and plan mode use it; Apply does the same before every event. Like
// Apply, it never panics: see [ErrInternal].
func Upgrade(def *dsl.Definition, state []byte, meta Meta) (res Result, err error) {
	defer barrier("Upgrade", def, meta, &res, &err)
	if def == nil {
		return Result{}, nilDefinition("Upgrade", meta)
	}
	t := ast.TreeOf(def)
	m := &machine{tree: t, meta: meta}
	state, err = m.migrate(state)
	if err != nil {
		return Result{}, err
	}
	if err := m.load(); err != nil {
		return Result{}, err
	}
	if _, err := decodeState(t, state); err != nil {
		return Result{}, fmt.Errorf("%w: instance %q: %w", ErrCorrupt, meta.Instance, err)
	}
	return Result{State: state, Meta: m.meta, Effects: m.effects}, nil
}

// migrate brings m.meta and state from the instance's definition version
// to the tree's, applying each migration in order. The effects of removed
// waits are emitted into the transition.
func (m *machine) migrate(state []byte) ([]byte, error) {
	migs, err := m.migratePositions()
	if err != nil {
		return nil, err
	}
	if m.upgraded {
		m.dropUnknown()
	}
	for _, mig := range migs {
		if mig.State == nil {
			continue
		}
		if state, err = upcast(mig, state); err != nil {
			return nil, fmt.Errorf("%w: instance %q: state upcast from version %d: %w", ErrMigration, m.meta.Instance, mig.From, err)
		}
	}
	return state, nil
}

// migratePositions rewrites thread positions for every migration due and
// returns those migrations. It copies what it changes: Apply never modifies
// its inputs.
func (m *machine) migratePositions() ([]ast.Migration, error) {
	from := int(m.meta.Version)
	if from == 0 {
		from = 1
	}
	switch {
	case from > m.tree.Version:
		return nil, fmt.Errorf("%w: instance %q was written by version %d of %q, newer than this definition (version %d)",
			ErrMigration, m.meta.Instance, from, m.tree.Name, m.tree.Version)
	case from == m.tree.Version:
		return nil, nil
	}
	m.upgraded = true
	var due []ast.Migration
	for _, mig := range m.tree.Migrations {
		if mig.From >= from {
			due = append(due, mig)
		}
	}
	threads := make([]Thread, len(m.meta.Threads))
	copy(threads, m.meta.Threads)
	migrated := append([]uint32(nil), m.meta.Migrated...)
	for _, mig := range due {
		for i := range threads {
			threads[i] = m.migrateThread(threads[i], mig)
		}
		migrated = append(migrated, uint32(mig.From))
	}
	sortThreads(threads)
	m.meta.Threads, m.meta.Migrated, m.meta.Version = threads, migrated, uint32(m.tree.Version)
	return due, nil
}

func (m *machine) migrateThread(th Thread, mig ast.Migration) Thread {
	old := th.Path
	next, removed := position.Move(mig, old)
	if removed {
		for _, p := range th.Waits {
			m.teardownAt(th.ID, old, p)
		}
		return Thread{ID: th.ID, Path: next, Phase: PhaseEnter}
	}
	th.Path = next
	if len(th.Waits) > 0 {
		waits := make([]Pending, len(th.Waits))
		for i, p := range th.Waits {
			p.Event = position.MoveEvent(mig, old, next, p.Event)
			waits[i] = p
		}
		th.Waits = waits
	}
	return th
}

func sortThreads(ts []Thread) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].ID < ts[j-1].ID; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}
