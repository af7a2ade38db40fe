package dsl

import (
	"reflect"

	"github.com/weftflow/weft/internal/ast"
)

// IfStmt is an [If]; chain ElseIf and Else to add arms.
type IfStmt[S any] struct{ *node }

// If runs body when cond holds. cond is evaluated when the statement is
// reached, never at build time. The arm's path element is "then".
func If[S any](name string, cond func(s *S) bool, body ...Stmt) *IfStmt[S] {
	n := &node{kind: ast.If, name: name}
	n.arms = append(n.arms, arm[S]("then", cond, body))
	return &IfStmt[S]{n}
}

// ElseIf adds an arm tried when the earlier ones did not hold. Its name is
// its path element, so it must differ from "then", "else" and its siblings.
func (s *IfStmt[S]) ElseIf(name string, cond func(s *S) bool, body ...Stmt) *IfStmt[S] {
	s.arms = append(s.arms, arm[S](name, cond, body))
	return s
}

// Else adds the arm run when no other holds; its path element is "else".
func (s *IfStmt[S]) Else(body ...Stmt) *IfStmt[S] {
	s.arms = append(s.arms, &node{kind: ast.Branch, name: "else", body: body})
	return s
}

// CaseClause is one arm of a [Switch].
type CaseClause struct{ n *node }

// Case is an arm of a [Switch] taken when cond holds; name is its path element.
func Case[S any](name string, cond func(s *S) bool, body ...Stmt) CaseClause {
	return CaseClause{arm[S](name, cond, body)}
}

// Default is the [Switch] arm taken when no case holds; its path element is
// "default".
func Default(body ...Stmt) CaseClause {
	return CaseClause{&node{kind: ast.Branch, name: "default", body: body}}
}

// Switch runs the first case whose condition holds, in order, else the
// Default arm if there is one. There is no fallthrough.
func Switch(name string, cases ...CaseClause) Stmt {
	n := &node{kind: ast.If, name: name}
	for _, c := range cases {
		n.arms = append(n.arms, c.n)
	}
	return n
}

func arm[S any](name string, cond func(s *S) bool, body []Stmt) *node {
	a := &node{kind: ast.Branch, name: name, body: body, hasCond: true, types: []reflect.Type{typeOf[S]()}}
	if cond == nil {
		a.missing = "condition"
	} else {
		a.cond = func(s any) bool { return cond(s.(*S)) }
	}
	return a
}
