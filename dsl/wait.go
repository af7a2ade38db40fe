package dsl

import (
	"fmt"
	"reflect"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/decode"
)

// Wait parks the thread until exactly one of its events fires, then runs
// that event's body. The other events are torn down: their timers cancelled,
// their setups undone. Each event's path is the wait's path plus its name.
func Wait(name string, events ...OnClause) Stmt {
	n := &node{kind: ast.Wait, name: name}
	for _, e := range events {
		if e.n != nil {
			n.arms = append(n.arms, e.n)
		}
	}
	return n
}

// OnClause is one event of a [Wait].
type OnClause struct{ n *node }

// On names one event of a [Wait]: what fires it and the statements run when
// it does. name is the event's path element and how callers address it.
func On(name string, t Trigger, body ...Stmt) OnClause {
	n := &node{kind: ast.On, name: name, body: body, trigger: t.t}
	if t.t == nil {
		n.missing = "trigger"
	} else if t.t.StateType != nil {
		n.types = []reflect.Type{t.t.StateType}
	}
	return OnClause{n}
}

// Trigger is what fires an [On]: a timer ([After], [At]) or a custom event
// ([Signal], [Custom]).
type Trigger struct{ t *ast.Trigger }

// After fires d after the wait is entered (by the time of the event that
// made the thread reach it).
func After(d time.Duration) Trigger {
	return Trigger{&ast.Trigger{Kind: ast.Timer, After: d}}
}

// At fires at the time fn computes from the state when the wait is entered.
func At[S any](fn func(s *S) time.Time) Trigger {
	t := &ast.Trigger{Kind: ast.Timer, StateType: typeOf[S]()}
	if fn != nil {
		t.At = func(s any) time.Time { return fn(s.(*S)) }
	}
	return Trigger{t}
}

// Handler handles a custom event: it validates the payload, updates the
// state and returns a reply for the sender. It runs inside the interpreter,
// so it must be pure: no I/O, no clock, no randomness. An error rejects the
// event: the state is left as it was, the wait stays pending and the sender
// receives the error.
type Handler[S, P, R any] interface {
	Handle(s *S, payload P) (R, error)
}

// Setuper is implemented by a [Handler] whose event needs an outside task
// created when the wait is entered (an approval request, a webhook): Setup
// returns the data of the setup effect, and a teardown effect follows when
// the wait resolves or the workflow ends. Setup must be pure.
type Setuper[S any] interface {
	Setup(s *S) any
}

// HandlerFunc adapts a function to [Handler].
type HandlerFunc[S, P, R any] func(s *S, payload P) (R, error)

// Handle calls f.
func (f HandlerFunc[S, P, R]) Handle(s *S, p P) (R, error) { return f(s, p) }

// Signal is a custom event handled by fn, with no setup or teardown.
func Signal[S, P, R any](fn func(s *S, payload P) (R, error)) Trigger {
	if fn == nil {
		return Trigger{}
	}
	return Custom[S, P, R]("", HandlerFunc[S, P, R](fn))
}

// SignalWithSetup is a custom event handled by handle, whose wait
// creates an outside task when it is entered: setup returns the data of the
// setup effect (routed by typ to the host's handler, see [Setuper]), and a
// teardown follows when the wait resolves or the workflow ends. It is
// [Custom] for the common case, with its types inferred from the
// functions; setup nil makes it a [Signal] routed by typ. Both functions
// run inside the interpreter and must be pure.
func SignalWithSetup[S, P, R any](typ string, handle func(s *S, payload P) (R, error), setup func(s *S) any) Trigger {
	if handle == nil {
		return Trigger{}
	}
	if setup == nil {
		return Custom[S, P, R](typ, HandlerFunc[S, P, R](handle))
	}
	return Custom[S, P, R](typ, setupFuncs[S, P, R]{handle, setup})
}

// setupFuncs is a [Handler] and [Setuper] made of two functions.
type setupFuncs[S, P, R any] struct {
	handle func(s *S, payload P) (R, error)
	setup  func(s *S) any
}

func (f setupFuncs[S, P, R]) Handle(s *S, p P) (R, error) { return f.handle(s, p) }
func (f setupFuncs[S, P, R]) Setup(s *S) any              { return f.setup(s) }

// Custom is a custom event handled by h. typ routes its setup and teardown
// effects to the host's handler for that type; it matters only when h
// implements [Setuper].
func Custom[S, P, R any](typ string, h Handler[S, P, R]) Trigger {
	if h == nil {
		return Trigger{}
	}
	t := &ast.Trigger{Kind: ast.Custom, Type: typ, StateType: typeOf[S](), Payload: typeOf[P](), Reply: typeOf[R]()}
	t.Handle = func(s any, payload []byte) ([]byte, error) {
		var p P
		if err := decode.Into("payload", payload, &p); err != nil {
			return nil, err
		}
		r, err := h.Handle(s.(*S), p)
		if err != nil {
			return nil, err
		}
		return codec.Marshal(r)
	}
	if su, ok := h.(Setuper[S]); ok {
		t.Setup = func(s any) ([]byte, error) {
			b, err := codec.Marshal(su.Setup(s.(*S)))
			if err != nil {
				return nil, fmt.Errorf("encode setup data: %w", err)
			}
			return b, nil
		}
	}
	return Trigger{t}
}

// WaitFor parks the thread until cond holds. cond is checked when the
// statement is reached and again after every transition that ran some other
// thread or handled an event, so another thread or an event handler must
// make it true.
func WaitFor[S any](name string, cond func(s *S) bool) Stmt {
	n := &node{kind: ast.WaitFor, name: name, hasCond: true, types: []reflect.Type{typeOf[S]()}}
	if cond == nil {
		n.missing = "condition"
	} else {
		n.cond = func(s any) bool { return cond(s.(*S)) }
	}
	return n
}
