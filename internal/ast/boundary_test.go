package ast

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// importPath is this package's import path.
const importPath = "github.com/weftflow/weft/internal/ast"

// mayImport reports whether the directory dir (relative to the module root,
// with slashes) may import this package: dsl, which builds the tree,
// interp, which runs it, and internal packages. Every other package (lint,
// diagram, simulate, inspector, httpapi, engine, cli, ...) reads a
// definition through dsl's public view (dsl.Definition.Walk, Lookup,
// dsl.Node) instead.
func mayImport(dir string) bool {
	return dir == "dsl" || dir == "interp" || strings.HasPrefix(dir, "dsl/") || strings.HasPrefix(dir, "interp/") ||
		strings.HasPrefix(dir, "internal/")
}

// importers returns, for every Go file under root (tests included;
// testdata, hidden and underscore directories skipped), the files that
// import this package, keyed by their directory relative to root.
func importers(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, err := strconv.Unquote(imp.Path.Value); err == nil && p == importPath {
				rel, err := filepath.Rel(root, filepath.Dir(path))
				if err != nil {
					return err
				}
				rel = filepath.ToSlash(rel)
				out[rel] = append(out[rel], name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOnlyTheCoreImportsTheTree fails if a package outside dsl, interp and
// internal/ imports the compiled tree, so tools cannot go back to reaching
// into it through TreeOf.
func TestOnlyTheCoreImportsTheTree(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	found := importers(t, root)
	// The scan must see the importers that are allowed, or it proves nothing.
	for _, dir := range []string{"dsl", "interp"} {
		if len(found[dir]) == 0 {
			t.Fatalf("the scan of %s found no file of %s importing %s: the scan is broken", root, dir, importPath)
		}
	}
	var bad []string
	for dir, files := range found {
		if !mayImport(dir) {
			bad = append(bad, dir+": "+strings.Join(files, ", "))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Fatalf("packages outside dsl, interp and internal/ import %s; read the definition through dsl's view (Definition.Walk, Lookup, Node) instead:\n%s",
			importPath, strings.Join(bad, "\n"))
	}
}

func TestMayImport(t *testing.T) {
	for dir, want := range map[string]bool{
		"dsl": true, "interp": true, "internal/position": true, "internal/defgen": true,
		"lint": false, "diagram": false, "simulate": false, "engine": false, "cmd/weft": false,
		"dslx": false, "interpreter": false, "": false, "examples/internal": false,
	} {
		if got := mayImport(dir); got != want {
			t.Errorf("mayImport(%q) = %v, want %v", dir, got, want)
		}
	}
}
