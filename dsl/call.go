package dsl

import (
	"context"
	"reflect"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/decode"
)

// CallStmt is a [Call]; its methods configure it.
type CallStmt struct{ *node }

// Call runs an activity: slow, fallible or non-deterministic work (an HTTP
// request, a payment) that must not run inside the interpreter. When the
// thread reaches the statement, the interpreter emits an effect asking the
// host to run fn on a copy of the state as it is at that moment; the thread
// parks until the host delivers the result, then store applies it to the
// state (store may be nil). A failed attempt is retried under the call's
// retry policy, as a new effect due after the backoff; when attempts run out
// the workflow fails. Each attempt has the call's timeout.
//
// fn runs at least once per attempt the host starts; make it idempotent or
// de-duplicate on the effect ID the host passes in the context.
func Call[S, O any](name string, fn func(ctx context.Context, s S) (O, error), store func(s *S, out O)) *CallStmt {
	n := &node{kind: ast.Call, name: name, types: []reflect.Type{typeOf[S]()}}
	if fn == nil {
		n.missing = "function"
		return &CallStmt{n}
	}
	n.activity = func(ctx context.Context, input []byte) ([]byte, error) {
		var s S
		if err := decode.Into("activity input", input, &s); err != nil {
			return nil, err
		}
		out, err := fn(ctx, s)
		if err != nil {
			return nil, err
		}
		return codec.Marshal(out)
	}
	n.resultT = typeOf[O]()
	n.result = func(s any, output []byte) error {
		var out O
		if err := decode.Into("activity result", output, &out); err != nil {
			return err
		}
		if store != nil {
			store(s.(*S), out)
		}
		return nil
	}
	return &CallStmt{n}
}

// Retry sets the call's retry policy (default: the definition's).
func (c *CallStmt) Retry(p RetryPolicy) *CallStmt { c.retry = &p; return c }

// Timeout bounds one attempt (default: no bound beyond the host's context).
func (c *CallStmt) Timeout(d time.Duration) *CallStmt { c.timeout = d; return c }
