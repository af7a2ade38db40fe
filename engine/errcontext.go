package engine

import (
	"errors"
	"strconv"
	"strings"

	"github.com/weftflow/weft/interp"
)

// opError adds the engine's context to an error from a layer below it
// (the interpreter, the codec, the store, or another engine error):
// "engine: OP PREP "ID": ERR", such as `engine: callback of "order-1":
// interp: duplicate callback: callback 3`. It says each piece of context
// once (see docs/guarantees.md, "Error messages"): an "engine: " prefix of
// err is dropped, and the instance ID is left out when err names it
// already, as the stores and the interpreter do in theirs. The message is
// built only when read: most such errors are rejections that a caller
// never prints (a simulator makes many).
type opError struct {
	op   string // "start", `send "inc"`, "callback", ...; "" for just the ID
	prep string // "of", "to" or "": how the ID follows op
	id   string // the instance ID
	err  error
}

func (e *opError) Error() string {
	inner := e.err.Error()
	var ce *interp.CallbackError
	if errors.As(e.err, &ce) {
		// A callback's error carries the handler's own words, which
		// may quote anything: its message always names the instance
		// (activity results record it, and simulate expects it).
		return describe(e.op, e.prep, e.id, inner, true)
	}
	return describe(e.op, e.prep, e.id, inner, false)
}

func (e *opError) Unwrap() error { return e.err }

// describe formats "engine: OP PREP "ID": INNER", leaving out the ID when
// inner names it already (unless withID) and dropping an "engine: " prefix
// of inner. An empty op stands for `instance "ID"`, and adds nothing but
// the prefix when inner names the ID.
func describe(op, prep, id, inner string, withID bool) string {
	inner = strings.TrimPrefix(inner, "engine: ")
	q := strconv.Quote(id)
	named := !withID && strings.Contains(inner, q)
	if op == "" {
		if named {
			return "engine: " + inner
		}
		op = "instance"
	}
	var b strings.Builder
	b.WriteString("engine: ")
	b.WriteString(op)
	if !named {
		if prep != "" {
			b.WriteByte(' ')
			b.WriteString(prep)
		}
		b.WriteByte(' ')
		b.WriteString(q)
	}
	b.WriteString(": ")
	b.WriteString(inner)
	return b.String()
}

// eventError is an error of the interpreter for an event of kind kind:
// "engine: KIND of "ID": ERR".
func eventError(kind interp.EventKind, id string, err error) error {
	return &opError{op: kind.String(), prep: "of", id: id, err: err}
}

// opErr wraps err with the operation op on instance id (see [opError]).
func opErr(op, prep, id string, err error) error {
	return &opError{op: op, prep: prep, id: id, err: err}
}

// cause returns err without the engine's own opError layers: the error of
// the layer below, for a message that names the operation itself.
func cause(err error) error {
	for {
		oe, ok := err.(*opError)
		if !ok {
			return err
		}
		err = oe.err
	}
}

// alsoError is err that also matches sentinel, without saying sentinel's
// text: for an error whose message says it already.
type alsoError struct {
	err      error
	sentinel error
}

func (e *alsoError) Error() string   { return e.err.Error() }
func (e *alsoError) Unwrap() []error { return []error{e.err, e.sentinel} }
