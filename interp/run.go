package interp

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/ast"
)

// run advances t until it blocks, ends, or the budget or the instance ends.
func (m *machine) run(t *thread) {
	for !m.done && !t.ended {
		n := t.node
		switch t.Phase {
		case PhaseStart:
			if len(n.Body) == 0 {
				m.endThread(t, n)
				return
			}
			t.node, t.Phase = n.Body[0], PhaseEnter
		case PhaseExit:
			m.next(t, n)
		case PhaseIterate:
			if !m.spend(t) {
				return
			}
			ok := true
			if n.Cond != nil {
				var err error
				if ok, err = m.cond(n); err != nil {
					m.fail(t, n.Path, err)
					return
				}
			}
			if ok {
				m.enterBody(t, n)
			} else {
				t.Phase = PhaseExit
			}
		case PhaseEnter:
			if !m.enter(t, n) {
				return
			}
		default: // PhaseWaiting, PhaseRetry: parked
			return
		}
	}
}

// spend takes one statement from the budget; false means the thread must
// yield where it is.
func (m *machine) spend(t *thread) bool {
	if m.budget == 0 {
		m.yielded, m.yieldedBy = true, t.ID
		return false
	}
	m.budget--
	return true
}

func (m *machine) enterBody(t *thread, n *ast.Node) {
	if len(n.Body) > 0 {
		t.node, t.Phase = n.Body[0], PhaseEnter
		return
	}
	t.node, t.Phase = n, PhaseExit
}

// next moves t past the finished statement n, deriving the continuation from
// the current tree: the next sibling, else the enclosing loop's next
// iteration, else the end of the enclosing statement, up to the thread's root.
func (m *machine) next(t *thread, n *ast.Node) {
	for {
		p := n.Parent
		if p == nil {
			m.endThread(t, n)
			return
		}
		if n.InBody && n.Index+1 < len(p.Body) {
			t.node, t.Phase = p.Body[n.Index+1], PhaseEnter
			return
		}
		switch p.Kind {
		case ast.Loop:
			t.node, t.Phase = p, PhaseIterate
			return
		case ast.Go, ast.Root:
			if n.InBody {
				m.endThread(t, p)
				return
			}
		}
		n = p
	}
}

// endThread ends t, whose body (rooted at root) has run to its end.
func (m *machine) endThread(t *thread, root *ast.Node) {
	switch root {
	case m.tree.Main:
		m.complete(nil)
	case m.tree.Cancel:
		m.finish(StatusCanceled, nil, nil)
	default:
		t.ended = true
	}
}

// enter runs statement n for t; false means t stopped (parked, yielded,
// ended, or the instance finished).
func (m *machine) enter(t *thread, n *ast.Node) bool {
	switch n.Kind {
	case ast.Block, ast.Branch, ast.On:
		m.enterBody(t, n)
	case ast.Step:
		return m.step(t, n)
	case ast.If:
		for _, b := range n.Branches {
			ok := true
			if b.Cond != nil {
				var err error
				if ok, err = m.cond(b); err != nil {
					m.fail(t, b.Path, err)
					return false
				}
			}
			if ok {
				m.enterBody(t, b)
				return true
			}
		}
		t.Phase = PhaseExit
	case ast.Loop:
		t.Phase = PhaseIterate
	case ast.Break:
		t.node, t.Phase = n.Target, PhaseExit
	case ast.Continue:
		t.node, t.Phase = n.Target, PhaseIterate
	case ast.Wait:
		return m.park(t, n)
	case ast.Call:
		return m.call(t, n)
	case ast.Child:
		return m.startChild(t, n)
	case ast.WaitFor:
		ok, err := m.cond(n)
		if err != nil {
			m.fail(t, n.Path, err)
			return false
		}
		if ok {
			t.Phase = PhaseExit
			return true
		}
		t.Phase = PhaseWaiting
		return false
	case ast.Join:
		if m.joined(n) {
			t.Phase = PhaseExit
			return true
		}
		t.Phase = PhaseWaiting
		return false
	case ast.Go:
		return m.spawn(t, n)
	case ast.Return:
		out, err := m.output(n)
		if err != nil {
			m.fail(t, n.Parent.Path, err)
			return false
		}
		m.complete(out)
		return false
	case ast.Fail:
		err := m.failErr(n)
		m.fail(t, n.Parent.Path, err)
		return false
	default:
		m.fail(t, n.Path, fmt.Errorf("cannot run a %s here", n.Kind))
		return false
	}
	return true
}

func (m *machine) step(t *thread, n *ast.Node) bool {
	if !m.spend(t) {
		return false
	}
	// A failed attempt's changes must not leak into the next one, so the
	// state is snapshotted first, unless this is the last attempt (whose
	// failure ends the workflow, keeping the state for inspection).
	var snap []byte
	var saved any // the snapshot as a deep copy (see ast.Tree.Copy)
	if int(t.Attempt)+1 < n.Retry.MaxAttempts {
		if m.clean {
			snap = m.input
		} else if saved = m.copyState(); saved == nil {
			var err error
			if snap, err = encodeState(m.tree, m.s); err != nil {
				m.fail(t, n.Path, fmt.Errorf("snapshot state: %w", err))
				return false
			}
		}
	}
	m.clean = false
	err := m.runStep(n)
	if err == nil {
		t.Attempt, t.Phase = 0, PhaseExit
		if saved != nil {
			m.spare = saved // unused now: the next snapshot may overwrite it
		}
		return true
	}
	if saved != nil {
		m.s = saved
	} else if snap != nil {
		s, derr := decodeState(m.tree, snap)
		if derr != nil {
			m.fail(t, n.Path, fmt.Errorf("restore state: %w", derr))
			return false
		}
		m.s = s
	}
	t.Attempt++
	if int(t.Attempt) >= n.Retry.MaxAttempts {
		m.fail(t, n.Path, fmt.Errorf("step failed after %d attempts: %w", t.Attempt, err))
		return false
	}
	at := m.now + int64(n.Retry.Delay(int(t.Attempt)))
	t.Phase, t.At = PhaseRetry, unixTime(at)
	m.emit(Effect{Kind: EffectResumeAt, Thread: t.ID, Path: n.Path, At: m.time(at), Attempt: t.Attempt + 1})
	return false
}

// Timer times are kept as Unix nanoseconds, and zero means "none": a time
// outside (1970, 2262] cannot be represented.
var (
	minTime = time.Unix(0, 1).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

// park enters a Wait: one callback per event, timers started, setups emitted.
func (m *machine) park(t *thread, n *ast.Node) bool {
	if len(m.meta.Inbox) > 0 && m.takeBuffered(t, n) {
		return !m.done
	}
	waits := make([]Pending, 0, len(n.Branches))
	start := len(m.effects)
	for _, on := range n.Branches {
		m.meta.NextCallback++
		p := Pending{Callback: m.meta.NextCallback, Event: on.Name, Kind: TriggerKind(on.Trigger.Kind)}
		e := Effect{Thread: t.ID, Path: n.Path, Event: on.Name, Callback: p.Callback}
		switch on.Trigger.Kind {
		case ast.Timer:
			ns := m.now + int64(on.Trigger.After)
			if on.Trigger.At != nil {
				at, err := m.at(on)
				if err != nil {
					m.effects = m.effects[:start]
					m.fail(t, on.Path, err)
					return false
				}
				if at.Before(minTime) || at.After(maxTime) {
					m.effects = m.effects[:start]
					m.fail(t, on.Path, fmt.Errorf("timer time %v is outside the supported range [%v, %v]", at, minTime, maxTime))
					return false
				}
				ns = at.UnixNano()
			}
			p.At = unixTime(ns)
			e.Kind, e.At = EffectStartTimer, m.time(ns)
		case ast.Custom:
			if on.Trigger.Setup == nil {
				waits = append(waits, p)
				continue
			}
			data, err := m.setup(on)
			if err != nil {
				m.effects = m.effects[:start]
				m.fail(t, on.Path, err)
				return false
			}
			p.Setup, p.Type = true, on.Trigger.Type
			e.Kind, e.Type, e.Data = EffectSetup, on.Trigger.Type, data
		}
		waits = append(waits, p)
		m.emit(e)
	}
	t.Waits, t.Phase = waits, PhaseWaiting
	return false
}

// call enters a Call: the activity's first attempt leaves as an effect.
func (m *machine) call(t *thread, n *ast.Node) bool {
	input, err := encodeState(m.tree, m.s)
	if err != nil {
		m.fail(t, n.Path, fmt.Errorf("encode activity input: %w", err))
		return false
	}
	m.meta.NextCallback++
	p := Pending{Callback: m.meta.NextCallback, Kind: Activity, At: unixTime(m.now), Attempt: 1}
	t.Waits, t.Phase = []Pending{p}, PhaseWaiting
	m.emit(Effect{Kind: EffectRunActivity, Thread: t.ID, Path: n.Path, Callback: p.Callback,
		At: m.time(m.now), Attempt: 1, Timeout: n.Timeout, Data: input})
	return false
}

func (m *machine) spawn(t *thread, n *ast.Node) bool {
	id := n.Name
	if n.ThreadID != nil {
		sub, err := m.threadID(n)
		if err != nil {
			m.fail(t, n.Path, err)
			return false
		}
		id = n.Name + "[" + sub + "]"
	}
	i := sort.Search(len(m.threads), func(i int) bool { return m.threads[i].ID >= id })
	if i < len(m.threads) && m.threads[i].ID == id {
		if !m.threads[i].ended {
			m.fail(t, n.Path, fmt.Errorf("thread %s is already running", id))
			return false
		}
		m.threads = append(m.threads[:i], m.threads[i+1:]...)
	}
	nt := &thread{Thread: Thread{ID: id, Phase: PhaseStart}, node: n}
	m.threads = append(m.threads, nil)
	copy(m.threads[i+1:], m.threads[i:])
	m.threads[i] = nt
	m.queue = append(m.queue, nt)
	t.Phase = PhaseExit
	return true
}

// The wrappers below call user code and turn a panic into a *PanicError
// carrying the statement's path.

// Every wrapper marks the state unclean: user code may change it.

func recovered(path string, err *error) {
	if r := recover(); r != nil {
		*err = &PanicError{Path: path, Value: r}
	}
}

func (m *machine) runStep(n *ast.Node) (err error) {
	defer recovered(n.Path, &err)
	m.clean = false
	return n.Run(m.s)
}

func (m *machine) cond(n *ast.Node) (ok bool, err error) {
	defer recovered(n.Path, &err)
	m.clean = false
	return n.Cond(m.s), nil
}

func (m *machine) at(on *ast.Node) (at time.Time, err error) {
	defer recovered(on.Path, &err)
	m.clean = false
	return on.Trigger.At(m.s), nil
}

func (m *machine) setup(on *ast.Node) (b []byte, err error) {
	defer recovered(on.Path, &err)
	m.clean = false
	return on.Trigger.Setup(m.s)
}

func (m *machine) threadID(n *ast.Node) (id string, err error) {
	defer recovered(n.Path, &err)
	m.clean = false
	return n.ThreadID(m.s), nil
}

func (m *machine) output(n *ast.Node) (out any, err error) {
	defer recovered(n.Parent.Path, &err)
	m.clean = false
	return n.Output(m.s)
}

func (m *machine) failErr(n *ast.Node) (err error) {
	defer recovered(n.Parent.Path, &err)
	m.clean = false
	if e := n.Err(m.s); e != nil {
		return e
	}
	return errors.New("failed with a nil error")
}

func (m *machine) handle(on *ast.Node, payload []byte) (reply []byte, err error) {
	defer recovered(on.Path, &err)
	m.clean = false
	return on.Trigger.Handle(m.s, payload)
}

func (m *machine) applyResult(n *ast.Node, output []byte) (err error) {
	defer recovered(n.Path, &err)
	m.clean = false
	return n.Result(m.s, output)
}

// The codec calls user code too: a state type's own CBOR marshalling
// methods, and a migration's upcaster. A panic there is the user's, so it
// becomes an error where it is handled, not an internal error.

func encodeState(t *ast.Tree, s any) (b []byte, err error) {
	defer recovered("(encode state)", &err)
	return t.Encode(s)
}

func decodeState(t *ast.Tree, b []byte) (s any, err error) {
	defer recovered("(decode state)", &err)
	return t.Decode(b)
}

func marshalOutput(v any) (b []byte, err error) {
	defer recovered("(encode output)", &err)
	return codec.Marshal(v)
}

func upcast(mig ast.Migration, state []byte) (b []byte, err error) {
	defer recovered(fmt.Sprintf("(migration from version %d)", mig.From), &err)
	return mig.State(state)
}

// copyState returns a deep copy of the state for a snapshot, or nil when
// the state type has no copier or the value is too deep (the snapshot is
// then CBOR). A copy is the snapshot's CBOR round trip without the
// encoding (internal/statecopy says for which types).
func (m *machine) copyState() any {
	if m.tree.Copy == nil {
		return nil
	}
	c, ok := m.tree.Copy(m.spare, m.s)
	m.spare = nil
	if !ok {
		return nil
	}
	return c
}
