package dsl

import (
	"reflect"

	"github.com/weftflow/weft/internal/ast"
)

func init() {
	ast.TreeOf = func(d any) *ast.Tree { return d.(*Definition).tree }
}

// Definition is a compiled workflow: immutable and safe for concurrent use
// by any number of interpreters and hosts. Make one with [Compile].
type Definition struct {
	tree *ast.Tree
}

// Name returns the workflow's name, as stored with each instance.
func (d *Definition) Name() string { return d.tree.Name }

// Version returns the definition's version (see [Version]).
func (d *Definition) Version() int { return d.tree.Version }

// StateType returns the workflow's state type S.
func (d *Definition) StateType() reflect.Type { return d.tree.StateType }

// Positions returns every position path of the definition, sorted: the
// places a thread can be parked at or pass through by name.
func (d *Definition) Positions() []string { return sortedPaths(d.tree) }

// Has reports whether path is a position of the definition.
func (d *Definition) Has(path string) bool { _, ok := d.tree.Index[path]; return ok }
