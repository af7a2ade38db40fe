package interp

import (
	"fmt"
	"strconv"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/decode"
)

// ChildOutcome is the payload of the [EventCallback] event that answers a Child
// statement: how the child instance ended. The host builds it from the
// child's meta with [ChildOutcomeOf] (or, when the child could not be
// started, with Status StatusFailed and the reason in Error) and encodes
// it with [EncodeChildOutcome].
type ChildOutcome struct {
	Status Status `cbor:"1,keyasint"`           // StatusCompleted, StatusFailed, StatusCanceled or StatusTerminated
	Output []byte `cbor:"2,keyasint,omitempty"` // completed: the child's encoded output
	Error  string `cbor:"3,keyasint,omitempty"` // failed: the message; terminated: the reason
	Path   string `cbor:"4,keyasint,omitempty"` // failed: the statement that failed
}

// ChildOutcomeOf is the outcome of a finished child whose meta is m.
func ChildOutcomeOf(m Meta) ChildOutcome {
	o := ChildOutcome{Status: m.Status, Output: m.Output}
	if m.Failure != nil {
		o.Error, o.Path = m.Failure.Message, m.Failure.Path
	}
	if m.Terminated != nil {
		o.Error = m.Terminated.Reason
	}
	return o
}

// EncodeChildOutcome encodes o as a Callback payload.
func EncodeChildOutcome(o ChildOutcome) ([]byte, error) { return codec.Marshal(o) }

// DefaultChildID is the ID of the child a Child statement at path of
// instance parent starts when the statement sets no ID rule: unique per
// pass, as the callback number is.
func DefaultChildID(parent, path string, callback uint64) string {
	return parent + "/" + path + "#" + strconv.FormatUint(callback, 10)
}

// startChild enters a Child statement: the child's start leaves as an
// effect and the thread waits for its end.
func (m *machine) startChild(t *thread, n *ast.Node) bool {
	spec := n.ChildSpec
	input, err := m.childInput(n)
	if err != nil {
		m.fail(t, n.Path, fmt.Errorf("child input: %w", err))
		return false
	}
	m.meta.NextCallback++
	cb := m.meta.NextCallback
	id := DefaultChildID(m.meta.Instance, n.Path, cb)
	if spec.ID != nil {
		if id, err = m.childID(n); err != nil {
			m.fail(t, n.Path, err)
			return false
		}
	}
	p := Pending{Callback: cb, Kind: Child, Type: spec.Workflow, Child: id, OnEnd: spec.OnEnd}
	t.Waits, t.Phase = []Pending{p}, PhaseWaiting
	m.emit(Effect{Kind: EffectStartChild, Thread: t.ID, Path: n.Path, Callback: cb, Type: spec.Workflow,
		Child: id, Data: input})
	return false
}

func (m *machine) childInput(n *ast.Node) (b []byte, err error) {
	defer recovered(n.Path, &err)
	return n.ChildSpec.Input(m.s)
}

func (m *machine) childID(n *ast.Node) (id string, err error) {
	defer recovered(n.Path, &err)
	return n.ChildSpec.ID(m.s)
}

// childEnded applies a child's outcome to the state of the thread that
// waits for it. A malformed payload is rejected; the store function's
// error fails the parent at the statement.
func (m *machine) childEnded(t *thread, p Pending, payload []byte) (failed bool, err error) {
	var o ChildOutcome
	if err := decode.Into("child outcome", payload, &o); err != nil {
		return false, err
	}
	if !o.Status.Finished() {
		return false, fmt.Errorf("child outcome with status %s, not a finished one", o.Status)
	}
	if err := m.applyChild(t.node, p.Child, o); err != nil {
		m.accepted(p.Callback)
		t.Waits = nil
		m.fail(t, t.node.Path, err)
		return true, nil
	}
	return false, nil
}

func (m *machine) applyChild(n *ast.Node, id string, o ChildOutcome) (err error) {
	defer recovered(n.Path, &err)
	m.clean = false
	return n.ChildSpec.Result(m.s, id, o.Status.String(), o.Output, o.Error, o.Path)
}

// endChild is the teardown of a pending child: an EndChild effect, unless
// the policy abandons the child.
func endChild(thread, path string, p Pending) (Effect, bool) {
	if dsl.ParentEndPolicy(p.OnEnd) == dsl.AbandonChild {
		return Effect{}, false
	}
	onEnd := p.OnEnd
	if onEnd == 0 {
		onEnd = uint8(dsl.CancelChild)
	}
	return Effect{Kind: EffectEndChild, Thread: thread, Path: path, Callback: p.Callback, Type: p.Type, Child: p.Child, OnEnd: onEnd}, true
}
