package vet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// Analyzer reports nondeterminism in the code that weft's interpreter runs:
// the functions passed to package dsl's constructors, and every function of
// the analysed packages they call. See the package documentation for what
// it reports and how to suppress a finding.
var Analyzer = &analysis.Analyzer{
	Name:      "weftvet",
	Doc:       "report nondeterminism (wall clock, randomness, map order, goroutines, channels, package variables, I/O) in weft workflow code\n\nThe functions passed to weft's dsl constructors run inside the pure interpreter and must give the same result every time they run for an event. Suppress a finding with a //weft:allow-nondeterminism REASON comment on its line or the line above.",
	URL:       "https://pkg.go.dev/github.com/weftflow/weft/vet",
	Requires:  []*analysis.Analyzer{inspect.Analyzer},
	Run:       run,
	FactTypes: []analysis.Fact{new(nondeterministic), new(mutableVar), new(wrapsCode)},
}

func run(pass *analysis.Pass) (any, error) {
	if isStd(pass.Pkg.Path()) {
		return nil, nil // judged by stdRule at each call instead
	}
	c := newChecker(pass)
	c.exportFacts()
	ins := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	type key struct {
		pos token.Pos
		msg string
	}
	reported := map[key]bool{}
	report := func(pos token.Pos, format string, args ...any) {
		k := key{pos, fmt.Sprintf(format, args...)}
		if !reported[k] {
			reported[k] = true
			pass.Report(analysis.Diagnostic{Pos: pos, Message: k.msg})
		}
	}
	filter := []ast.Node{(*ast.CallExpr)(nil), (*ast.CompositeLit)(nil), (*ast.RangeStmt)(nil)}
	ins.WithStack(filter, func(n ast.Node, push bool, stack []ast.Node) bool {
		if !push {
			return true
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			if conv := handlerFuncConversion(pass.TypesInfo, n); conv != nil && !customArg(pass.TypesInfo, stack) {
				c.checkCode(conv, "handler", report)
				return true
			}
			for _, a := range c.codeArgs(n, stack) {
				if a.handler {
					c.checkHandler(a.expr, a.label(), report)
				} else {
					c.checkCode(a.expr, a.label(), report)
				}
			}
		case *ast.CompositeLit:
			if !isDSLType(pass.TypesInfo.TypeOf(n), "Migration") {
				return true
			}
			for _, e := range n.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if id, isID := kv.Key.(*ast.Ident); ok && isID && id.Name == "State" {
					if call, isCall := ast.Unparen(kv.Value).(*ast.CallExpr); !isCall || dslFunc(pass.TypesInfo, call) != "Upcast" {
						c.checkCode(kv.Value, "migration state function", report)
					}
				}
			}
		case *ast.RangeStmt:
			c.checkBuildOrder(n, report)
		}
		return true
	})
	return nil, nil
}

// checkCode reports the findings of the workflow code e names: a function
// literal's findings where they are, or, for a named function or a call
// that makes the function, the chain at e.
func (c *checker) checkCode(e ast.Expr, role string, report func(token.Pos, string, ...any)) {
	info := c.pass.TypesInfo
	e = ast.Unparen(e)
	if lit, ok := e.(*ast.FuncLit); ok {
		for _, f := range c.scan(lit.Body) {
			if len(f.chain) == 0 {
				report(f.pos, "%s: %s", role, f.why)
			} else {
				report(f.pos, "%s calls %s: %s (%s)", role, renderChain(c.pass.Pkg.Path(), f.chain), f.why, f.at)
			}
		}
		return
	}
	if call, ok := e.(*ast.CallExpr); ok {
		if conv := handlerFuncConversion(info, call); conv != nil {
			c.checkCode(conv, role, report)
			return
		}
		// A function made by a call: the maker and what it returns.
		if fn, ok := typeutil.Callee(info, call).(*types.Func); ok {
			c.reportFunc(e, fn, role+" is made by", report)
		}
		return
	}
	if fn := funcOf(info, e); fn != nil {
		c.reportFunc(e, fn, role+" runs", report)
		return
	}
	// A variable holding a function literal: the literal is the code.
	if id, ok := e.(*ast.Ident); ok {
		if v, ok := info.Uses[id].(*types.Var); ok {
			if lit := c.writes.funcLitOf(v); lit != nil && !c.allow.allows(c.pass.Fset, e.Pos()) {
				c.checkCode(lit, role, report)
			}
		}
	}
}

// checkHandler checks the Handle and Setup methods of a dsl.Custom handler
// whose concrete type is known where it is passed.
func (c *checker) checkHandler(e ast.Expr, role string, report func(token.Pos, string, ...any)) {
	info := c.pass.TypesInfo
	e = ast.Unparen(e)
	if call, ok := e.(*ast.CallExpr); ok {
		if conv := handlerFuncConversion(info, call); conv != nil {
			c.checkCode(conv, role, report)
			return
		}
	}
	t := info.TypeOf(e)
	if t == nil || types.IsInterface(t) {
		return // not known statically
	}
	for _, name := range []string{"Handle", "Setup"} {
		obj, _, _ := types.LookupFieldOrMethod(t, true, c.pass.Pkg, name)
		if fn, ok := obj.(*types.Func); ok {
			c.reportFunc(e, fn, role+" runs", report)
		}
	}
}

// reportFunc reports at e if fn is nondeterministic, or a standard library
// function that is.
func (c *checker) reportFunc(e ast.Expr, fn *types.Func, prefix string, report func(token.Pos, string, ...any)) {
	if c.allow.allows(c.pass.Fset, e.Pos()) {
		return
	}
	if fn.Pkg() != nil && isStd(fn.Pkg().Path()) {
		if why := stdRule(fn); why != "" {
			report(e.Pos(), "%s %s: %s", prefix, shortName(fn), why)
		}
		return
	}
	if v := c.funcVerdict(fn); v != nil {
		report(e.Pos(), "%s %s: %s (%s)", prefix, renderChain(c.pass.Pkg.Path(), v.Chain), v.Why, v.At)
	}
}

// funcOf returns the function e names: F, pkg.F, T.M, x.M, F[int].
func funcOf(info *types.Info, e ast.Expr) *types.Func {
	switch x := e.(type) {
	case *ast.IndexExpr:
		e = x.X
	case *ast.IndexListExpr:
		e = x.X
	}
	var id *ast.Ident
	switch x := e.(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
	default:
		return nil
	}
	fn, _ := info.Uses[id].(*types.Func)
	return fn
}

// handlerFuncConversion returns fn for dsl.HandlerFunc[S, P, R](fn).
func handlerFuncConversion(info *types.Info, call *ast.CallExpr) ast.Expr {
	tv, ok := info.Types[call.Fun]
	if !ok || !tv.IsType() || len(call.Args) != 1 || !isDSLType(tv.Type, "HandlerFunc") {
		return nil
	}
	return call.Args[0]
}

// checkBuildOrder reports a range over a map that builds dsl statements:
// the definition's statement order would change from process to process,
// and with it where running instances resume.
func (c *checker) checkBuildOrder(rng *ast.RangeStmt, report func(token.Pos, string, ...any)) {
	if _, ok := c.pass.TypesInfo.TypeOf(rng.X).Underlying().(*types.Map); !ok {
		return
	}
	builds := false
	ast.Inspect(rng.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && isConstructor(c.pass.TypesInfo, call) {
			builds = true
		}
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		return !builds
	})
	if builds && !c.allow.allows(c.pass.Fset, rng.For) {
		report(rng.For, "statements built in map order: the definition changes from one process to the next; build them from slices.Sorted(maps.Keys(m))")
	}
}

// isConstructor reports whether call makes a dsl statement, clause or
// trigger: an exported function or method of package dsl.
func isConstructor(info *types.Info, call *ast.CallExpr) bool {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	return ok && fn.Exported() && fn.Pkg() != nil && fn.Pkg().Path() == dslPath
}

// customArg reports whether the node on top of stack is an argument of
// dsl.Custom, which checks it with the event's name.
func customArg(info *types.Info, stack []ast.Node) bool {
	if len(stack) < 2 {
		return false
	}
	call, ok := stack[len(stack)-2].(*ast.CallExpr)
	return ok && dslFunc(info, call) == "Custom"
}
