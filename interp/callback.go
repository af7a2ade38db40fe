package interp

import (
	"fmt"
	"slices"

	"github.com/weftflow/weft/internal/ast"
)

// callback handles a Callback event: it finds the pending wait the callback
// answers and resolves it, or rejects the callback without changing anything.
func (m *machine) callback(ev Event) error {
	t, i := m.pending(ev.Callback)
	if t == nil {
		return callbackError(CallbackError{Callback: ev.Callback, Reason: m.classify(ev.Callback)})
	}
	p := t.Waits[i]
	reject := func(reason, err error) error {
		return callbackError(CallbackError{Callback: p.Callback, Thread: t.ID, Path: t.node.Path, Reason: reason, Err: err})
	}
	switch p.Kind {
	case Timer:
		if at := unixNano(p.At); m.now < at {
			return reject(ErrNotDue, fmt.Errorf("due at %v", m.time(at)))
		}
	case Custom:
		on := onNamed(t.node, p.Event)
		reply, err := m.handle(on, ev.Payload)
		if err != nil {
			return reject(ErrRejected, err)
		}
		m.emit(Effect{Kind: EffectReply, Thread: t.ID, Path: t.node.Path, Event: p.Event, Callback: p.Callback, Data: reply})
	case Activity:
		if ev.Error != "" {
			m.accepted(p.Callback)
			m.retryActivity(t, i, ev.Error)
			return nil
		}
		if err := m.applyResult(t.node, ev.Payload); err != nil {
			return reject(ErrRejected, err)
		}
	case Child:
		failed, err := m.childEnded(t, p, ev.Payload)
		if err != nil {
			return reject(ErrRejected, err)
		}
		if failed {
			return nil
		}
	}
	m.accepted(p.Callback)
	m.resolve(t, i)
	m.queue = append(m.queue, t)
	return nil
}

// retryActivity handles a failed attempt of the Call t waits at: a new
// attempt under a new callback ID after the backoff, or failure of the
// workflow when attempts run out.
func (m *machine) retryActivity(t *thread, i int, cause string) {
	n, p := t.node, t.Waits[i]
	if int(p.Attempt) >= n.Retry.MaxAttempts {
		m.fail(t, n.Path, fmt.Errorf("activity failed after %d attempts: %s", p.Attempt, cause))
		return
	}
	input, err := encodeState(m.tree, m.s)
	if err != nil {
		m.fail(t, n.Path, fmt.Errorf("encode activity input: %w", err))
		return
	}
	m.meta.NextCallback++
	at := m.now + int64(n.Retry.Delay(int(p.Attempt)))
	next := Pending{Callback: m.meta.NextCallback, Kind: Activity, Attempt: p.Attempt + 1, At: unixTime(at)}
	t.Waits = []Pending{next}
	m.emit(Effect{Kind: EffectRunActivity, Thread: t.ID, Path: n.Path, Callback: next.Callback,
		At: m.time(at), Attempt: next.Attempt, Timeout: n.Timeout, Data: input})
}

// resolve answers t's pending callback i: the wait's other callbacks are
// torn down, as is the answered one if it had a setup, and t continues in the
// event's body (or after the Call).
func (m *machine) resolve(t *thread, i int) {
	p := t.Waits[i]
	for j, q := range t.Waits {
		if j != i || q.Setup {
			m.teardown(t, q)
		}
	}
	t.Waits = nil
	if t.node.Kind == ast.Wait {
		t.node, t.Phase = onNamed(t.node, p.Event), PhaseEnter
		return
	}
	t.Phase = PhaseExit
}

func (m *machine) pending(id uint64) (*thread, int) {
	for _, t := range m.threads {
		for i, p := range t.Waits {
			if p.Callback == id {
				return t, i
			}
		}
	}
	return nil, 0
}

func (m *machine) classify(id uint64) error {
	switch {
	case id == 0 || id > m.meta.NextCallback:
		return ErrUnknownCallback
	case slices.Contains(m.meta.Recent, id):
		return ErrDuplicateCallback
	}
	return ErrStaleCallback
}
