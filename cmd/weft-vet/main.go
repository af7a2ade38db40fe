// Command weft-vet reports nondeterminism in weft workflow code: the
// functions passed to package dsl's constructors and what they call (see
// package vet for the rules and the suppression comment).
//
// Run it through go vet, which gives it the packages and their facts:
//
//	go install github.com/weftflow/weft/cmd/weft-vet
//	go vet -vettool=$(which weft-vet) ./...
//
// or on its own, with package patterns: weft-vet ./...
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/weftflow/weft/vet"
)

func main() { singlechecker.Main(vet.Analyzer) }
