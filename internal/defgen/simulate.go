package defgen

import (
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

// SimOptions returns the options to run d under simulate.Check: payloads
// for every custom event (some below the handlers' rejection thresholds),
// drawn results for every Call, and every parking place declared resting,
// since a generated WaitFor or Join may legitimately never be satisfied.
// Generate d without panics ([Config.Panics] false): the simulator reports
// every panic of user code.
func SimOptions(d *Def) simulate.Options[State] {
	o := simulate.Options[State]{
		Payloads:   map[string]func(*rapid.T) any{},
		Activities: map[string]func(*rapid.T) any{},
		Resting:    d.WaitPaths(),
	}
	payload := func(t *rapid.T) any { return rapid.IntRange(-2, 12).Draw(t, "payload") }
	var walk func([]*stmt, string)
	walk = func(ss []*stmt, parent string) {
		for _, s := range ss {
			path := join(parent, s.name)
			switch s.kind {
			case KCall:
				o.Activities[path] = func(t *rapid.T) any { return rapid.IntRange(-5, 20).Draw(t, "result") }
			case KGo, KGoEach:
				path = join(join(join(parent, "gate"+s.name), "then"), s.name)
			}
			for _, e := range s.events {
				if e.kind != KAfter && e.kind != KAt {
					o.Payloads[e.name] = payload
				}
				walk(e.body, join(path, e.name))
			}
			for _, a := range s.arms {
				walk(a.body, join(path, a.name))
			}
			walk(s.body, path)
		}
	}
	walk(d.main, "")
	walk(d.cancel, "@cancel")
	return o
}
