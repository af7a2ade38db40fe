package vet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/weftflow/weft/vet"
)

// The testdata directory is a module that requires weft through a replace
// directive, so the packages use the real dsl. Each file's want comments
// list its findings and facts: rules (every kind, in each place), chain
// (calls within and across packages, recursion, variables holding
// literals), handlers (handlers, setups, timers, IDs, outputs, call results,
// migrations), allowed (deterministic code and activities: no findings),
// suppress (the directive), build (statements made in map order), kit and
// wrapped (wrappers of constructors). When weft's own requirements change,
// run go mod tidy in testdata too.
func TestAnalyzer(t *testing.T) {
	pkgs := []string{"rules", "chain", "handlers", "allowed", "suppress", "build", "example", "kit", "wrapped"}
	for i, p := range pkgs {
		pkgs[i] = "example.com/weftvet/" + p
	}
	analysistest.Run(t, analysistest.TestData(), vet.Analyzer, pkgs...)
}
