package vet

import (
	"go/ast"
	"go/token"
	"strings"

	"golang.org/x/tools/go/analysis"
)

// allowDirective suppresses a finding on its line or the line below, or, in
// a function's doc comment, every finding in that function.
const allowDirective = "//weft:allow-nondeterminism"

// suppressions holds the lines that carry an allow directive, per file.
type suppressions map[string]map[int]bool

// collectSuppressions finds the directives of the package's files and
// reports those that give no reason.
func collectSuppressions(pass *analysis.Pass) suppressions {
	s := suppressions{}
	for _, f := range pass.Files {
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
			}
		}
	}
	return s
}

// allows reports whether a directive covers a finding at pos.
func (s suppressions) allows(fset *token.FileSet, pos token.Pos) bool {
	p := fset.Position(pos)
	lines := s[p.Filename]
	return lines[p.Line] || lines[p.Line-1]
}

// allowsFunc reports whether decl's doc comment carries a directive.
func (s suppressions) allowsFunc(fset *token.FileSet, decl *ast.FuncDecl) bool {
	if decl.Doc == nil {
		return false
	}
	for _, c := range decl.Doc.List {
		if s.allows(fset, c.Slash) && strings.HasPrefix(c.Text, allowDirective) {
			return true
		}
	}
	return false
}
