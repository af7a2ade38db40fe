package vet

import (
	"go/ast"
	"go/token"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// allowDirective suppresses a finding on its line; alone on a line, also on
// the line below; in a function's doc comment, every finding in that
// function.
const allowDirective = "//weft:allow-nondeterminism"

// suppressions holds the lines an allow directive covers, per file.
type suppressions map[string]map[int]bool

// collectSuppressions finds the directives of the package's files and
// reports those that give no reason.
func collectSuppressions(pass *analysis.Pass) suppressions {
	s := suppressions{}
	for _, f := range pass.Files {
		code := codeLines(pass.Fset, f)
		for _, g := range f.Comments {
			for _, c := range g.List {
				rest, ok := strings.CutPrefix(c.Text, allowDirective)
				if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
					continue
				}
				p := pass.Fset.Position(c.Slash)
				if strings.TrimSpace(rest) == "" {
					pass.Reportf(c.Slash, "%s needs a reason: say why this nondeterminism is harmless", allowDirective)
					continue
				}
				if s[p.Filename] == nil {
					s[p.Filename] = map[int]bool{}
				}
				s[p.Filename][p.Line] = true
				if !code[p.Line] {
					s[p.Filename][p.Line+1] = true
				}
			}
		}
	}
	return s
}

// codeLines returns the lines of f where some syntax begins or ends, so a
// comment there trails code.
func codeLines(fset *token.FileSet, f *ast.File) map[int]bool {
	lines := map[int]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			return false
		}
		switch n.(type) {
		case *ast.CommentGroup, *ast.Comment:
			return false
		}
		lines[fset.Position(n.Pos()).Line] = true
		lines[fset.Position(n.End()-1).Line] = true
		return true
	})
	return lines
}

// allows reports whether a directive covers a finding at pos.
func (s suppressions) allows(fset *token.FileSet, pos token.Pos) bool {
	p := fset.Position(pos)
	return s[p.Filename][p.Line]
}

// allowsFunc reports whether decl's doc comment carries a directive.
func (s suppressions) allowsFunc(fset *token.FileSet, decl *ast.FuncDecl) bool {
	if decl.Doc == nil {
		return false
	}
	for _, c := range decl.Doc.List {
		if strings.HasPrefix(c.Text, allowDirective) && s.allows(fset, c.Slash) {
			return true
		}
	}
	return false
}
