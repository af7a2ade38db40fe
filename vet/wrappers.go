package vet

import (
	"go/ast"
	"go/types"
	"slices"
	"strconv"

	"golang.org/x/tools/go/types/typeutil"
)

// wrapsCode is the fact that a function passes some of its parameters to a
// dsl constructor as workflow code (func myStep(name string, fn func(*S)
// error) dsl.Stmt { return dsl.Step(name, fn) }), so the arguments of its
// calls are checked as if passed to the constructor.
type wrapsCode struct {
	Params []codeParam
}

// codeParam is one parameter of a wrapper that is workflow code.
type codeParam struct {
	Index   int    // the parameter
	Role    string // as in userArg, with the name when the wrapper fixes it
	Name    int    // the parameter holding the statement's name, or -1
	Via     string // the wrappers it goes through, as " (through F)"
	Handler bool   // a Handler value
}

// AFact marks wrapsCode as an analysis fact.
func (*wrapsCode) AFact() {}

func (f *wrapsCode) String() string {
	s := "wraps("
	for i, p := range f.Params {
		if i > 0 {
			s += ", "
		}
		s += strconv.Itoa(p.Index) + ": " + p.Role + p.Via
	}
	return s + ")"
}

// codeArg is an argument of a call that is workflow code.
type codeArg struct {
	expr    ast.Expr
	role    string   // what it is: `step "charge"`
	via     string   // the wrappers it is passed through: " (through F)"
	name    ast.Expr // the statement's name when it is not a constant, or nil
	handler bool
}

// label is how a finding names the code: role and wrappers.
func (a codeArg) label() string { return a.role + a.via }

// codeArgs returns the arguments of call that are workflow code: those of a
// dsl constructor, or of a function that passes them on to one. stack (may
// be nil) finds the enclosing event's name.
func (c *checker) codeArgs(call *ast.CallExpr, stack []ast.Node) []codeArg {
	info := c.pass.TypesInfo
	var out []codeArg
	if name := dslFunc(info, call); name != "" {
		for _, a := range constructors[name] {
			if a.index < len(call.Args) {
				ca := codeArg{expr: call.Args[a.index], role: label(info, call, a, stack), handler: a.handler}
				if _, ok := stringConst(info, call.Args[0]); a.named && !ok {
					ca.name = call.Args[0]
				}
				out = append(out, ca)
			}
		}
		return out
	}
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok {
		return nil
	}
	w := c.wrapper(fn)
	if w == nil {
		return nil
	}
	via := " (through " + renderChain(c.pass.Pkg.Path(), []link{linkOf(fn.Origin())}) + ")"
	for _, p := range w.Params {
		if p.Index >= len(call.Args) {
			continue
		}
		ca := codeArg{expr: call.Args[p.Index], role: p.Role, via: p.Via + via, handler: p.Handler}
		if p.Name >= 0 && p.Name < len(call.Args) {
			if s, ok := stringConst(info, call.Args[p.Name]); ok {
				ca.role += " " + strconv.Quote(s)
			} else {
				ca.name = call.Args[p.Name]
			}
		}
		out = append(out, ca)
	}
	return out
}

// wrapper returns what fn passes on as workflow code, or nil.
func (c *checker) wrapper(fn *types.Func) *wrapsCode {
	fn = fn.Origin()
	if fn.Pkg() == nil || isStd(fn.Pkg().Path()) {
		return nil
	}
	if fn.Pkg() != c.pass.Pkg {
		var f wrapsCode
		if c.pass.ImportObjectFact(fn, &f) {
			return &f
		}
		return nil
	}
	return c.wraps[fn]
}

// findWrappers finds the package's functions that pass a parameter on as
// workflow code, directly or through another wrapper, until nothing changes.
func (c *checker) findWrappers() {
	c.wraps = map[*types.Func]*wrapsCode{}
	for changed := true; changed; {
		changed = false
		for _, fn := range c.order {
			decl := c.decls[fn]
			params := paramVars(fn)
			ast.Inspect(decl.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				for _, a := range c.codeArgs(call, nil) {
					id, ok := ast.Unparen(a.expr).(*ast.Ident)
					if !ok {
						continue
					}
					v, _ := c.pass.TypesInfo.Uses[id].(*types.Var)
					i := slices.Index(params, v)
					if v == nil || i < 0 || c.writes.written[v] {
						continue
					}
					p := codeParam{Index: i, Role: a.role, Name: -1, Via: a.via, Handler: a.handler}
					if nid, ok := ast.Unparen(a.name).(*ast.Ident); ok {
						if nv, ok := c.pass.TypesInfo.Uses[nid].(*types.Var); ok {
							p.Name = slices.Index(params, nv)
						}
					}
					w := c.wraps[fn]
					if w == nil {
						w = &wrapsCode{}
						c.wraps[fn] = w
					}
					j := slices.IndexFunc(w.Params, func(q codeParam) bool {
						q.Name = p.Name // one entry per use, named when any call names it
						return q == p
					})
					switch {
					case j < 0:
						w.Params = append(w.Params, p)
						changed = true
					case w.Params[j].Name < 0 && p.Name >= 0:
						w.Params[j] = p
						changed = true
					}
				}
				return true
			})
		}
	}
}

func paramVars(fn *types.Func) []*types.Var {
	sig := fn.Type().(*types.Signature)
	var vs []*types.Var
	for i := range sig.Params().Len() {
		vs = append(vs, sig.Params().At(i))
	}
	return vs
}
