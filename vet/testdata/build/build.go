// Package build makes statements in a loop over a map: the definition's
// order would differ from process to process.
package build

import (
	"maps"
	"slices"

	"github.com/weftflow/weft/dsl"
)

type S struct{ Done []string }

var tasks = map[string]int{"a": 1, "b": 2}

func steps() []dsl.Stmt { // want steps:`nondeterministic\(steps: range over a map`
	var out []dsl.Stmt
	for name := range tasks { // want `statements built in map order: the definition changes from one process to the next`
		out = append(out, dsl.Step(name, func(s *S) error { s.Done = append(s.Done, name); return nil }))
	}
	for _, name := range slices.Sorted(maps.Keys(tasks)) {
		out = append(out, dsl.Step("sorted "+name, func(s *S) error { s.Done = append(s.Done, name); return nil }))
	}
	return out
}

var Workflow = dsl.MustCompile[S]("build", dsl.S(steps()...))
