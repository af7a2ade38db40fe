package planted_test

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/vet"
)

type modern struct{ Count int }

// A condition that reads the wall clock but gives the same answer on every
// run of a test: the simulator applies each event twice and compares, both
// runs agree, so it cannot see the bug. The static analyzer (package vet)
// reads the code instead.
var unseen = dsl.MustCompile[modern]("unseen", dsl.S(
	dsl.If("modern", func(s *modern) bool { return time.Now().Year() > 2000 }, // the bug: a branch on the clock
		dsl.Step("count", func(s *modern) error { s.Count++; return nil })),
	dsl.Wait("done", dsl.On("done", dsl.Signal(func(s *modern, _ bool) (bool, error) { return true, nil }))),
))

func TestNondeterminismARunCannotSee(t *testing.T) {
	// The simulator passes it: both applications of each event agree.
	simulate.Check(t, unseen, simulate.Options[modern]{})

	// weft vet finds it, in this very file.
	cfg := &packages.Config{Mode: packages.LoadAllSyntax, Tests: true}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		t.Fatal(err)
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{vet.Analyzer}, pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	const want = `condition of if "modern": time.Now reads the wall clock`
	for act := range graph.All() {
		if !act.IsRoot || act.Analyzer != vet.Analyzer {
			continue
		}
		for _, d := range act.Diagnostics {
			p := act.Package.Fset.Position(d.Pos)
			if strings.HasSuffix(p.Filename, "unseen_test.go") && strings.HasPrefix(d.Message, want) {
				t.Logf("caught by the analyzer, as expected: %s: %s", p, d.Message)
				return
			}
		}
	}
	t.Fatalf("the analyzer missed the planted clock read (want %q)", want)
}
