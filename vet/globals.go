package vet

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// mutableVar is the fact that a package-level variable is written outside
// its declaration and init functions, so its value depends on what ran
// before.
type mutableVar struct {
	At string // where, as file:line
}

// AFact marks mutableVar as an analysis fact.
func (*mutableVar) AFact() {}

func (f *mutableVar) String() string { return "mutable(" + f.At + ")" }

// writes finds the identifiers of the package that are written (the root
// of an assignment's left side, an address taken, ...), and the first write
// of each package-level variable of the package outside init.
type writes struct {
	roots   map[*ast.Ident]bool
	mutable map[*types.Var]token.Pos
	order   []*types.Var // the keys of mutable, in the order found
	// init holds the initializer of every variable, local or not, that is
	// declared with exactly one value and never written after, so a function
	// literal stored in it is known where the variable is used.
	init    map[*types.Var]ast.Expr
	written map[*types.Var]bool
}

func findWrites(pass *analysis.Pass) *writes {
	w := &writes{roots: map[*ast.Ident]bool{}, mutable: map[*types.Var]token.Pos{},
		init: map[*types.Var]ast.Expr{}, written: map[*types.Var]bool{}}
	for _, f := range pass.Files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			inInit := ok && fd.Recv == nil && fd.Name.Name == "init"
			w.scan(pass, d, inInit)
		}
	}
	return w
}

// scan records the writes in n. Writes in init functions do not make a
// variable mutable, except inside function literals, which may run later.
func (w *writes) scan(pass *analysis.Pass, n ast.Node, inInit bool) {
	info := pass.TypesInfo
	mark := func(e ast.Expr) {
		id := root(info, e)
		if id == nil {
			return
		}
		w.roots[id] = true
		v, ok := info.Uses[id].(*types.Var)
		if ok {
			w.written[v] = true
		}
		if ok && v.Pkg() == pass.Pkg && isGlobal(v) && !inInit {
			if _, seen := w.mutable[v]; !seen {
				w.mutable[v] = id.Pos()
				w.order = append(w.order, v)
			}
		}
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			if inInit {
				w.scan(pass, n.Body, false)
				return false
			}
		case *ast.AssignStmt:
			if n.Tok != token.DEFINE {
				for _, l := range n.Lhs {
					mark(l)
				}
			} else if len(n.Lhs) == len(n.Rhs) {
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						if v, ok := info.Defs[id].(*types.Var); ok {
							w.init[v] = n.Rhs[i]
						}
					}
				}
			}
		case *ast.ValueSpec:
			if len(n.Names) == len(n.Values) {
				for i, id := range n.Names {
					if v, ok := info.Defs[id].(*types.Var); ok {
						w.init[v] = n.Values[i]
					}
				}
			}
		case *ast.IncDecStmt:
			mark(n.X)
		case *ast.RangeStmt:
			if n.Tok == token.ASSIGN {
				if n.Key != nil {
					mark(n.Key)
				}
				if n.Value != nil {
					mark(n.Value)
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND {
				mark(n.X)
			}
		case *ast.CallExpr:
			switch fn := typeutil.Callee(info, n).(type) {
			case *types.Builtin:
				switch fn.Name() {
				case "copy", "clear", "delete":
					if len(n.Args) > 0 {
						mark(n.Args[0])
					}
				}
			case *types.Func:
				if sortsInPlace(fn) && len(n.Args) > 0 {
					mark(n.Args[0])
				}
				if sel, ok := ast.Unparen(n.Fun).(*ast.SelectorExpr); ok && pointerMethodOnValue(info, sel) {
					mark(sel.X)
				}
			}
		}
		return true
	})
}

// pointerMethodOnValue reports whether sel is a pointer-receiver method
// called on an addressable value, which passes its address implicitly.
func pointerMethodOnValue(info *types.Info, sel *ast.SelectorExpr) bool {
	s, ok := info.Selections[sel]
	if !ok || s.Kind() != types.MethodVal {
		return false
	}
	sig := s.Obj().Type().(*types.Signature)
	if sig.Recv() == nil {
		return false
	}
	_, ptrRecv := sig.Recv().Type().(*types.Pointer)
	_, ptrX := info.TypeOf(sel.X).Underlying().(*types.Pointer)
	return ptrRecv && !ptrX
}

// root returns the variable an lvalue writes into: v for v, v.f, v[i], *v,
// (v), pkg.V; nil for anything else (a call's result, a local's field).
func root(info *types.Info, e ast.Expr) *ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if s, ok := info.Selections[x]; ok {
				if s.Kind() != types.FieldVal {
					return nil
				}
				e = x.X
				continue
			}
			return x.Sel // a qualified identifier, pkg.V
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.SliceExpr:
			e = x.X
		default:
			return nil
		}
	}
}

// isGlobal reports whether v is a package-level variable.
func isGlobal(v *types.Var) bool {
	return v.Pkg() != nil && !v.IsField() && v.Parent() == v.Pkg().Scope()
}

// funcLitOf returns the function literal a variable that is never written
// after its declaration holds, or nil.
func (w *writes) funcLitOf(v *types.Var) *ast.FuncLit {
	if w.written[v] {
		return nil
	}
	lit, _ := ast.Unparen(w.init[v]).(*ast.FuncLit)
	return lit
}
