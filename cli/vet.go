package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"go/token"
	"path/filepath"
	"slices"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/weftflow/weft/vet"
)

// ErrNondeterminism is returned by the vet command when the analyzer has
// findings.
var ErrNondeterminism = errors.New("nondeterminism in workflow code")

var vetCommand = Command{
	Name:    "vet",
	Summary: "report nondeterminism in workflow code: clock, randomness, map order, goroutines, globals, I/O",
	Usage:   "[--dir DIR] [--tests=false] [PACKAGES]",
	Help: `Loads the Go packages (default ./...) and runs package vet's analyzer
on them: the functions passed to dsl constructors, and what they call,
must give the same result every time the interpreter runs them. Prints one
line per finding, file:line:col: message; exit status 1 if there is any.
The same analyzer runs under go vet as cmd/weft-vet:
  go vet -vettool=$(which weft-vet) ./...
Suppress a finding with a comment on its line or the line above:
  //weft:allow-nondeterminism REASON

  --dir DIR      load the packages from DIR (default: the current directory)
  --tests=false  leave out test files
`,
	Run: runVet,
}

func runVet(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("vet")
	dir := fs.String("dir", "", "")
	tests := fs.Bool("tests", true, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	cfg := &packages.Config{Context: ctx, Mode: packages.LoadAllSyntax, Dir: *dir, Tests: *tests}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return fmt.Errorf("load packages: %w", err)
	}
	loadErrs := 0
	packages.Visit(pkgs, nil, func(pkg *packages.Package) {
		for _, e := range pkg.Errors {
			fmt.Fprintln(p.Stderr, e)
			loadErrs++
		}
	})
	if loadErrs > 0 {
		return fmt.Errorf("load packages: %d errors", loadErrs)
	}
	if len(pkgs) == 0 {
		return fmt.Errorf("no packages match %v", patterns)
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{vet.Analyzer}, pkgs, nil)
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	base, _ := filepath.Abs(*dir)
	type finding struct {
		pos token.Position
		msg string
	}
	var found []finding
	seen := map[finding]bool{} // a package and its test variant share files
	for act := range graph.All() {
		if !act.IsRoot || act.Analyzer != vet.Analyzer {
			continue
		}
		if act.Err != nil {
			return fmt.Errorf("analyze %s: %w", act.Package.PkgPath, act.Err)
		}
		for _, d := range act.Diagnostics {
			f := finding{act.Package.Fset.Position(d.Pos), d.Message}
			if rel, err := filepath.Rel(base, f.pos.Filename); err == nil && filepath.IsLocal(rel) {
				f.pos.Filename = rel
			}
			if !seen[f] {
				seen[f] = true
				found = append(found, f)
			}
		}
	}
	slices.SortFunc(found, func(a, b finding) int {
		return cmp.Or(cmp.Compare(a.pos.Filename, b.pos.Filename), cmp.Compare(a.pos.Line, b.pos.Line),
			cmp.Compare(a.pos.Column, b.pos.Column), cmp.Compare(a.msg, b.msg))
	})
	for _, f := range found {
		fmt.Fprintf(p.Stdout, "%s: %s\n", f.pos, f.msg)
	}
	switch len(found) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: 1 finding", ErrNondeterminism)
	default:
		return fmt.Errorf("%w: %d findings", ErrNondeterminism, len(found))
	}
}
