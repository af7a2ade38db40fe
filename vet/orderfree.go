package vet

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/types/typeutil"
)

// orderFree reports whether the range over a map rng cannot leak the map's
// order: its body only does what commutes (see the package doc), or it
// collects into a slice that the statements after it in list sort.
func (c *checker) orderFree(rng *ast.RangeStmt, after []ast.Stmt) bool {
	if c.commutes(rng, rng.Body.List) {
		return true
	}
	if len(rng.Body.List) != 1 {
		return false
	}
	as, ok := rng.Body.List[0].(*ast.AssignStmt)
	if !ok || as.Tok != token.ASSIGN || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
		return false
	}
	dst := as.Lhs[0]
	if !c.isAppendTo(as.Rhs[0], dst) {
		return false
	}
	for _, s := range after {
		es, ok := s.(*ast.ExprStmt)
		if !ok {
			continue
		}
		call, ok := ast.Unparen(es.X).(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			continue
		}
		fn, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Func)
		if ok && sortsInPlace(fn) && fn.Name() != "Reverse" && c.sameExpr(call.Args[0], dst) {
			return true
		}
	}
	return false
}

// commutes reports whether every statement of list gives the same result
// whatever the order of the iterations of rng.
func (c *checker) commutes(rng *ast.RangeStmt, list []ast.Stmt) bool {
	for _, s := range list {
		if !c.commutative(rng, s) {
			return false
		}
	}
	return true
}

func (c *checker) commutative(rng *ast.RangeStmt, s ast.Stmt) bool {
	info := c.pass.TypesInfo
	switch s := s.(type) {
	case *ast.IncDecStmt:
		return isInteger(info.TypeOf(s.X))
	case *ast.AssignStmt:
		switch s.Tok {
		case token.ADD_ASSIGN, token.SUB_ASSIGN, token.MUL_ASSIGN, token.OR_ASSIGN, token.AND_ASSIGN, token.XOR_ASSIGN:
			return len(s.Lhs) == 1 && isInteger(info.TypeOf(s.Lhs[0]))
		case token.DEFINE:
			return true // a local of this iteration
		case token.ASSIGN:
			// out[k] = ...: each key written once, whatever the order
			for _, l := range s.Lhs {
				ix, ok := ast.Unparen(l).(*ast.IndexExpr)
				if !ok {
					return false
				}
				if _, isMap := info.TypeOf(ix.X).Underlying().(*types.Map); !isMap {
					return false
				}
				k, ok := ast.Unparen(ix.Index).(*ast.Ident)
				key, isKey := rng.Key.(*ast.Ident)
				if !ok || !isKey || rng.Tok != token.DEFINE || !c.sameVar(k, key) {
					return false
				}
			}
			return true
		}
		return false
	case *ast.ExprStmt:
		call, ok := ast.Unparen(s.X).(*ast.CallExpr)
		if !ok {
			return false
		}
		b, ok := typeutil.Callee(info, call).(*types.Builtin)
		return ok && b.Name() == "delete"
	case *ast.BranchStmt:
		return s.Tok == token.CONTINUE && s.Label == nil
	case *ast.IfStmt:
		if s.Init != nil && !c.commutative(rng, s.Init) {
			return false
		}
		if !c.commutes(rng, s.Body.List) {
			return false
		}
		if s.Else != nil {
			return c.commutative(rng, s.Else)
		}
		return true
	case *ast.BlockStmt:
		return c.commutes(rng, s.List)
	case *ast.EmptyStmt:
		return true
	}
	return false
}

// isAppendTo reports whether e is append(dst, ...).
func (c *checker) isAppendTo(e ast.Expr, dst ast.Expr) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	b, ok := typeutil.Callee(c.pass.TypesInfo, call).(*types.Builtin)
	return ok && b.Name() == "append" && c.sameExpr(call.Args[0], dst)
}

// sameExpr reports whether a and b name the same variable or field path:
// x and x, s.Order and s.Order.
func (c *checker) sameExpr(a, b ast.Expr) bool {
	switch a := ast.Unparen(a).(type) {
	case *ast.Ident:
		b, ok := ast.Unparen(b).(*ast.Ident)
		return ok && c.sameVar(a, b)
	case *ast.SelectorExpr:
		b, ok := ast.Unparen(b).(*ast.SelectorExpr)
		return ok && a.Sel.Name == b.Sel.Name && c.sameExpr(a.X, b.X)
	}
	return false
}

func (c *checker) sameVar(a, b *ast.Ident) bool {
	oa, ob := c.pass.TypesInfo.ObjectOf(a), c.pass.TypesInfo.ObjectOf(b)
	return oa != nil && oa == ob
}

func isInteger(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsInteger != 0
}
