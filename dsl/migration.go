package dsl

import (
	"fmt"
	"sort"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/decode"
)

// Version sets the definition's version (default 1). Every instance
// records the version that last wrote it; when a definition meets an
// instance written by an older version, the interpreter first applies the
// migrations from that version up, then handles the event.
func Version(n int) Option { return func(c *config) { c.version = n } }

// Migrate attaches migrations to the definition: data that says how
// instances written by older versions map onto this one, instead of version
// branches in workflow code.
func Migrate(ms ...Migration) Option {
	return func(c *config) { c.migrations = append(c.migrations, ms...) }
}

// Migration upgrades instances written by definition version From to the
// next version. An instance written by version v goes through every
// migration with From >= v, in order of From.
type Migration struct {
	// From is the version this migration upgrades from.
	From int
	// Paths maps old position paths to new ones, for statements renamed or
	// moved (into a new branch, say). A key also maps every path below it:
	// {"cart": "shop/cart"} moves "cart/shopping" to "shop/cart/shopping".
	// A key naming a wait's event ("w/old") renames the event.
	Paths map[string]string
	// Removed lists statements that no longer exist, by old path, with the
	// path of the statement a thread parked there continues at. A thread
	// waiting there has its pending callbacks torn down (teardown effects,
	// timers and activities cancelled) and runs the new statement next.
	Removed map[string]string
	// State converts the CBOR of an old state into the CBOR of the new state
	// type, for type changes CBOR field matching cannot absorb (a field that
	// changed type). Make one with [Upcast]. Nil keeps the state as it is.
	State func(old []byte) ([]byte, error)
}

// Upcast makes a [Migration.State] function from a typed conversion: the
// old state decodes into Old, fn returns the New state, which is encoded.
func Upcast[Old, New any](fn func(old Old) (New, error)) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		var old Old
		if err := decode.Into("old state", b, &old); err != nil {
			return nil, err
		}
		n, err := fn(old)
		if err != nil {
			return nil, err
		}
		return codec.Marshal(n)
	}
}

// compileMigrations validates the migrations against the definition: the
// last one (From = Version-1) must point at paths that exist.
func (c *compiler) compileMigrations(cfg config) {
	c.tree.Version = cfg.version
	if cfg.version < 1 {
		c.errorf("", "version must be at least 1, got %d", cfg.version)
	}
	seen := map[int]bool{}
	for _, m := range cfg.migrations {
		where := fmt.Sprintf("migration from version %d", m.From)
		switch {
		case m.From < 1 || m.From >= cfg.version:
			c.errorf("", "%s: From must be between 1 and the definition's version minus one (%d)", where, cfg.version-1)
			continue
		case seen[m.From]:
			c.errorf("", "%s: two migrations from the same version", where)
			continue
		}
		seen[m.From] = true
		last := m.From == cfg.version-1
		for old, now := range m.Paths {
			if old == "" {
				c.errorf("", "%s: empty old path (the main body cannot move)", where)
			}
			if last && c.tree.Index[now] == nil {
				c.errorf(now, "%s maps %q to %q, which is not a position of this definition", where, old, now)
			}
		}
		for old, next := range m.Removed {
			n := c.tree.Index[next]
			if last && (n == nil || n.Kind == ast.Root || n.Kind == ast.On || n.Kind == ast.Branch) {
				c.errorf(next, "%s continues removed %q at %q, which is not a statement of this definition", where, old, next)
			}
		}
		c.tree.Migrations = append(c.tree.Migrations, ast.Migration{From: m.From, Paths: m.Paths, Removed: m.Removed, State: m.State})
	}
	sort.Slice(c.tree.Migrations, func(i, j int) bool { return c.tree.Migrations[i].From < c.tree.Migrations[j].From })
}
