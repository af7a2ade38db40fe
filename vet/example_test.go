package vet_test

import (
	"fmt"
	"log"
	"path/filepath"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/weftflow/weft/vet"
)

// Running the analyzer from Go, as the weft vet command does: load the
// packages with their dependencies' syntax (facts need it), analyze, print.
// A condition branches on the wall clock through a helper; the finding
// names the chain.
func Example() {
	cfg := &packages.Config{Mode: packages.LoadAllSyntax, Dir: "testdata"}
	pkgs, err := packages.Load(cfg, "./example")
	if err != nil {
		log.Fatal(err)
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{vet.Analyzer}, pkgs, nil)
	if err != nil {
		log.Fatal(err)
	}
	for act := range graph.All() {
		if act.IsRoot && act.Analyzer == vet.Analyzer {
			for _, d := range act.Diagnostics {
				p := act.Package.Fset.Position(d.Pos)
				fmt.Printf("%s:%d: %s\n", filepath.Base(p.Filename), p.Line, d.Message)
			}
		}
	}
	// Output:
	// example.go:18: condition of if "expired" calls expired: time.Now reads the wall clock, which differs between a run and its replay; use the time of the event (dsl.After, dsl.At, a payload field) or read it in a dsl.Call activity (example.go:15)
}
