package vet

import (
	"go/ast"
	"go/constant"
	"go/types"
	"strconv"

	"golang.org/x/tools/go/types/typeutil"
)

// dslPath is the import path of weft's workflow language.
const dslPath = "github.com/weftflow/weft/dsl"

// userArg says which argument of a dsl constructor is workflow code and how
// a finding names it.
type userArg struct {
	index   int    // the argument
	role    string // "step", "condition of if", ...
	named   bool   // argument 0 is the statement's name
	handler bool   // the argument is a Handler value: check its Handle and Setup methods
}

// constructors lists every dsl function or method whose arguments include
// code run by the interpreter. Call's activity (argument 1) is absent on
// purpose: activities run in the host, where nondeterminism belongs. For,
// Section, S, Go, Join, Wait, On, After, Return and Fail take no code.
var constructors = map[string][]userArg{
	"Step":          {{index: 1, role: "step", named: true}},
	"If":            {{index: 1, role: "condition of if", named: true}},
	"IfStmt.ElseIf": {{index: 1, role: "condition of else-if", named: true}},
	"Case":          {{index: 1, role: "condition of case", named: true}},
	"While":         {{index: 1, role: "condition of while", named: true}},
	"WaitFor":       {{index: 1, role: "condition of wait-for", named: true}},
	"GoEach":        {{index: 1, role: "thread ID of go-each", named: true}},
	"Call":          {{index: 2, role: "result of call", named: true}},
	"At":            {{index: 0, role: "time function"}},
	"Signal":        {{index: 0, role: "handler"}},
	"Custom":        {{index: 1, role: "handler", handler: true}},
	"ReturnWith":    {{index: 0, role: "output of return-with"}},
	"FailWith":      {{index: 0, role: "error of fail-with"}},
	"Upcast":        {{index: 0, role: "state upcaster"}},
}

// dslFunc returns the name under which call's callee appears in
// constructors ("Step", "IfStmt.ElseIf"), or "" if it is not a dsl function.
func dslFunc(info *types.Info, call *ast.CallExpr) string {
	fn, ok := typeutil.Callee(info, call).(*types.Func)
	if !ok || fn.Pkg() == nil || fn.Pkg().Path() != dslPath {
		return ""
	}
	if r := recvName(fn.Origin()); r != "" {
		return r + "." + fn.Name()
	}
	return fn.Name()
}

// isDSLType reports whether t is the named dsl type name (generic or not).
func isDSLType(t types.Type, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == dslPath && n.Obj().Name() == name
}

// label names the code found in argument a of call: `step "charge"`, or the
// event's name for handlers and timers (found in the enclosing On).
func label(info *types.Info, call *ast.CallExpr, a userArg, stack []ast.Node) string {
	if a.named && len(call.Args) > 0 {
		if s, ok := stringConst(info, call.Args[0]); ok {
			return a.role + " " + strconv.Quote(s)
		}
		return a.role
	}
	for i := len(stack) - 1; i >= 0; i-- {
		on, ok := stack[i].(*ast.CallExpr)
		if ok && dslFunc(info, on) == "On" && len(on.Args) > 0 {
			if s, ok := stringConst(info, on.Args[0]); ok {
				return a.role + " of event " + strconv.Quote(s)
			}
			break
		}
	}
	return a.role
}

func stringConst(info *types.Info, e ast.Expr) (string, bool) {
	tv, ok := info.Types[e]
	if !ok || tv.Value == nil || tv.Value.Kind() != constant.String {
		return "", false
	}
	return constant.StringVal(tv.Value), true
}
