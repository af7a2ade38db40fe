package vet_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/weftflow/weft/vet"
)

// The testdata directory is a module that requires weft through a replace
// directive, so the packages use the real dsl.
func TestAnalyzer(t *testing.T) {
	for _, pkg := range []string{"rules", "chain", "handlers", "allowed", "suppress", "build"} {
		t.Run(pkg, func(t *testing.T) {
			analysistest.Run(t, analysistest.TestData(), vet.Analyzer, "example.com/weftvet/"+pkg)
		})
	}
}
