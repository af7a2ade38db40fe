package vet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

var sprintf = fmt.Sprintf

// link is one function of a call chain.
type link struct {
	Pkg  string // import path
	Name string // as written in its package: F, T.M
	Qual string // its package's name, shown when the chain crosses packages
}

// nondeterministic is the fact that a function, or one it calls, does
// something that can differ between runs.
type nondeterministic struct {
	Chain []link // the function itself, then the calls down to the one that does it
	Why   string // what it does, why that breaks a replay, what to do instead
	At    string // where it does it, as file:line
}

// AFact marks nondeterministic as an analysis fact.
func (*nondeterministic) AFact() {}

func (f *nondeterministic) String() string {
	from := ""
	if len(f.Chain) > 0 {
		from = f.Chain[0].Pkg
	}
	return "nondeterministic(" + renderChain(from, f.Chain) + ": " + f.Why + ")"
}

// renderChain joins the chain's names with " -> ", qualifying a name by its
// package where the chain enters another package than from's (the package
// of the code that makes the first call).
func renderChain(from string, chain []link) string {
	var b strings.Builder
	for i, l := range chain {
		if i > 0 {
			b.WriteString(" -> ")
		}
		if l.Pkg != from {
			b.WriteString(l.Qual + ".")
		}
		b.WriteString(l.Name)
		from = l.Pkg
	}
	return b.String()
}

// finding is one nondeterministic thing in a function body: done there
// (chain empty) or in a function it calls.
type finding struct {
	pos   token.Pos
	chain []link
	why   string
	at    string // where the chain ends; "" when done at pos
}

// checker holds what the pass knows about the package's functions.
type checker struct {
	pass    *analysis.Pass
	decls   map[*types.Func]*ast.FuncDecl
	order   []*types.Func                     // the package's functions, in source order
	verdict map[*types.Func]*nondeterministic // decided: nil is deterministic
	busy    map[*types.Func]bool              // being decided (a recursion)
	partial bool                              // the current decision met a recursion
	wraps   map[*types.Func]*wrapsCode        // functions that pass parameters on as workflow code
	writes  *writes
	allow   suppressions
}

func newChecker(pass *analysis.Pass) *checker {
	c := &checker{
		pass:    pass,
		decls:   map[*types.Func]*ast.FuncDecl{},
		verdict: map[*types.Func]*nondeterministic{},
		busy:    map[*types.Func]bool{},
		writes:  findWrites(pass),
		allow:   collectSuppressions(pass),
	}
	for _, f := range pass.Files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					c.decls[fn] = fd
					c.order = append(c.order, fn)
				}
			}
		}
	}
	return c
}

// exportFacts records a fact for every nondeterministic function and every
// mutable variable of the package, for the packages that import it.
func (c *checker) exportFacts() {
	for _, fn := range c.order {
		if decl := c.decls[fn]; decl.Recv == nil && decl.Name.Name == "init" {
			continue // never called, and where package variables are set up
		}
		if v := c.funcVerdict(fn); v != nil {
			c.pass.ExportObjectFact(fn, v)
		}
	}
	c.findWrappers()
	for _, fn := range c.order {
		if w := c.wraps[fn]; w != nil {
			c.pass.ExportObjectFact(fn, w)
		}
	}
	for _, v := range c.writes.order {
		c.pass.ExportObjectFact(v, &mutableVar{At: c.where(c.writes.mutable[v])})
	}
}

// funcVerdict says whether calling fn is nondeterministic, and why.
func (c *checker) funcVerdict(fn *types.Func) *nondeterministic {
	fn = fn.Origin()
	if fn.Pkg() == nil || isStd(fn.Pkg().Path()) {
		return nil // the standard library is judged at the call by stdRule
	}
	if fn.Pkg() != c.pass.Pkg {
		var f nondeterministic
		if c.pass.ImportObjectFact(fn, &f) {
			return &f
		}
		return nil
	}
	if v, ok := c.verdict[fn]; ok {
		return v
	}
	if c.busy[fn] {
		// A recursive call: its verdict is not known yet. A caller that
		// finds nothing else is decided again later, not memoized.
		c.partial = true
		return nil
	}
	decl := c.decls[fn]
	if decl == nil || c.allow.allowsFunc(c.pass.Fset, decl) {
		c.verdict[fn] = nil
		return nil
	}
	c.busy[fn] = true
	outer := c.partial
	c.partial = false
	var v *nondeterministic
	if fs := c.scan(decl.Body); len(fs) > 0 {
		f := fs[0]
		v = &nondeterministic{Chain: append([]link{linkOf(fn)}, f.chain...), Why: f.why, At: f.at}
		if v.At == "" {
			v.At = c.where(f.pos)
		}
	}
	delete(c.busy, fn)
	// A nil verdict that met a recursion is final only at the top: then
	// every function the recursion cut off has been explored from fn.
	if v != nil || !c.partial || len(c.busy) == 0 {
		c.verdict[fn] = v
	}
	c.partial = outer || (v == nil && c.partial)
	return v
}

func linkOf(fn *types.Func) link {
	name := fn.Name()
	if r := recvName(fn); r != "" {
		name = r + "." + name
	}
	return link{Pkg: fn.Pkg().Path(), Name: name, Qual: fn.Pkg().Name()}
}

func (c *checker) where(pos token.Pos) string {
	p := c.pass.Fset.Position(pos)
	return sprintf("%s:%d", filepath.Base(p.Filename), p.Line)
}

// scan returns the findings in body, in source order: what it does itself,
// and calls of nondeterministic functions. Function literals inside body
// count as part of it (they usually run with it: sort.Slice's less), except
// the activities of dsl.Call, which run in the host.
func (c *checker) scan(body ast.Node) []finding {
	info := c.pass.TypesInfo
	var out []finding
	add := func(pos token.Pos, why string) {
		if !c.allow.allows(c.pass.Fset, pos) {
			out = append(out, finding{pos: pos, why: why})
		}
	}
	skip := map[ast.Node]bool{}                // activities: not scanned at all
	quiet := map[ast.Node]bool{}               // reported otherwise: their operands are still scanned
	follows := map[*ast.RangeStmt][]ast.Stmt{} // the statements after a range in its block
	visit := func(n ast.Node) bool {
		if skip[n] {
			return false
		}
		var list []ast.Stmt
		switch n := n.(type) {
		case *ast.BlockStmt:
			list = n.List
		case *ast.CaseClause:
			list = n.Body
		case *ast.CommClause:
			list = n.Body
		}
		for i, s := range list {
			if r, ok := s.(*ast.RangeStmt); ok {
				follows[r] = list[i+1:]
			}
		}
		if quiet[n] {
			return true
		}
		switch n := n.(type) {
		case *ast.CallExpr:
			c.scanCall(n, skip, quiet, add, &out)
		case *ast.GoStmt:
			add(n.Pos(), sprintf(whyGo, "go statement"))
		case *ast.SendStmt:
			add(n.Arrow, sprintf(whyChan, "channel send"))
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				add(n.OpPos, sprintf(whyChan, "channel receive"))
			}
		case *ast.SelectStmt:
			add(n.Pos(), sprintf(whyChan, "select"))
			// its cases are reported as the select
			for _, cl := range n.Body.List {
				if cc, ok := cl.(*ast.CommClause); ok && cc.Comm != nil {
					quietComm(cc.Comm, quiet)
				}
			}
		case *ast.RangeStmt:
			switch info.TypeOf(n.X).Underlying().(type) {
			case *types.Map:
				if !c.orderFree(n, follows[n]) {
					add(n.For, sprintf(whyMap, "range over a map"))
				}
			case *types.Chan:
				add(n.For, sprintf(whyChan, "range over a channel"))
			}
		case *ast.Ident:
			if fn, ok := info.Uses[n].(*types.Func); ok {
				c.scanFuncRef(n, fn, add, &out) // a function used as a value may be called later
			} else {
				c.scanVar(n, add)
			}
		}
		return true
	}
	ast.Inspect(body, visit)
	return out
}

// quietComm marks a select case's send or receive as reported with the
// select.
func quietComm(s ast.Stmt, quiet map[ast.Node]bool) {
	var e ast.Expr
	switch s := s.(type) {
	case *ast.SendStmt:
		quiet[s] = true
		return
	case *ast.ExprStmt:
		e = s.X
	case *ast.AssignStmt:
		if len(s.Rhs) == 1 {
			e = s.Rhs[0]
		}
	}
	if u, ok := ast.Unparen(e).(*ast.UnaryExpr); ok && u.Op == token.ARROW {
		quiet[u] = true
	}
}

func (c *checker) scanCall(call *ast.CallExpr, skip, quiet map[ast.Node]bool, add func(token.Pos, string), out *[]finding) {
	info := c.pass.TypesInfo
	if dslFunc(info, call) == "Call" && len(call.Args) > 1 {
		skip[call.Args[1]] = true // the activity runs in the host
	}
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok {
		return
	}
	if id := calleeIdent(call); id != nil {
		quiet[id] = true // reported here, as a call
	}
	if sortedIter(fn) && len(call.Args) > 0 {
		if inner, ok := ast.Unparen(call.Args[0]).(*ast.CallExpr); ok {
			if g, ok := typeutil.Callee(info, inner).(*types.Func); ok && g.Pkg() != nil && g.Pkg().Path() == "maps" {
				quiet[inner] = true // slices.Sorted(maps.Keys(m)): sorted, so fine
				quiet[calleeIdent(inner)] = true
			}
		}
	}
	if fn.Pkg() == nil {
		return
	}
	if isStd(fn.Pkg().Path()) {
		if why := stdRule(fn); why != "" {
			add(callPos(call), why)
		}
		return
	}
	if v := c.funcVerdict(fn); v != nil && !c.allow.allows(c.pass.Fset, callPos(call)) {
		*out = append(*out, finding{pos: callPos(call), chain: v.Chain, why: v.Why, at: v.At})
	}
}

// scanVar reports a use of a package-level variable that makes the code
// depend on more than the state: any write, or a read of a variable written
// outside init.
func (c *checker) scanVar(id *ast.Ident, add func(token.Pos, string)) {
	v, ok := c.pass.TypesInfo.Uses[id].(*types.Var)
	if !ok || !isGlobal(v) {
		return
	}
	name := v.Name()
	if v.Pkg() != c.pass.Pkg {
		name = v.Pkg().Name() + "." + name
	}
	if c.writes.roots[id] {
		add(id.Pos(), sprintf(whyWrite, name))
		return
	}
	switch {
	case v.Pkg() == c.pass.Pkg:
		if pos, ok := c.writes.mutable[v]; ok {
			add(id.Pos(), sprintf(whyRead, name, "at "+c.where(pos)))
		}
	case isStd(v.Pkg().Path()):
		if why := stdVarRule(v); why != "" {
			add(id.Pos(), why)
		}
	default:
		var f mutableVar
		if c.pass.ImportObjectFact(v, &f) {
			add(id.Pos(), sprintf(whyRead, name, "at "+f.At))
		}
	}
}

// callPos is where a finding about call goes: the called name, so that
// f().g() reports f and g at different columns.
func callPos(call *ast.CallExpr) token.Pos {
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		return sel.Sel.Pos()
	}
	return call.Pos()
}

// calleeIdent returns the identifier naming call's function: F, pkg.F, x.M,
// F[T].
func calleeIdent(call *ast.CallExpr) *ast.Ident {
	fun := ast.Unparen(call.Fun)
	switch x := fun.(type) {
	case *ast.IndexExpr:
		fun = x.X
	case *ast.IndexListExpr:
		fun = x.X
	}
	switch x := fun.(type) {
	case *ast.Ident:
		return x
	case *ast.SelectorExpr:
		return x.Sel
	}
	return nil
}

// scanFuncRef reports a function used as a value (f := time.Now, a method
// value, a callback) as if it were called.
func (c *checker) scanFuncRef(id *ast.Ident, fn *types.Func, add func(token.Pos, string), out *[]finding) {
	if fn.Pkg() == nil {
		return
	}
	if isStd(fn.Pkg().Path()) {
		if why := stdRule(fn); why != "" {
			add(id.Pos(), why)
		}
		return
	}
	if v := c.funcVerdict(fn); v != nil && !c.allow.allows(c.pass.Fset, id.Pos()) {
		*out = append(*out, finding{pos: id.Pos(), chain: v.Chain, why: v.Why, at: v.At})
	}
}
