package interp

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/weftflow/weft/internal/ast"
)

// DefaultInboxLimit is how many buffered events an instance's inbox holds
// when a [EventSignal] event does not say (Event.InboxLimit is 0).
const DefaultInboxLimit = 100

// Errors of a [EventSignal] event that cannot be accepted. Like every error of
// [Apply], they mean nothing changed.
var (
	// ErrInboxFull: no thread waits for the event and the instance's inbox
	// already holds as many events as the Signal's limit allows.
	ErrInboxFull = errors.New("interp: inbox full")
	// ErrUnknownEvent: no wait anywhere in the definition takes a custom
	// event of that name, so no wait could ever take it from the inbox.
	ErrUnknownEvent = errors.New("interp: no wait in the definition takes the event")
)

// Buffered is one event in an instance's inbox: a custom event sent (by a
// [EventSignal] event) while no thread waited for it.
//
// # Delivery
//
// The inbox is first in, first out. When a thread parks at a Wait, before
// any timer is started or setup emitted, it takes the oldest buffered event
// that one of its custom Ons accepts: that On's handler runs on the payload
// (its reply leaves as a Reply effect nobody waits for) and the thread
// continues in that On's body, so the Wait's timers and setups are never
// created. Threads park in the interpreter's deterministic run order, so
// which wait takes an event is a function of the instance's history: the
// first wait to open, after the event was buffered, that accepts its name.
// A thread already parked when a buffered event becomes acceptable to it
// (a migration renamed its wait's event to the buffered name) takes it in
// the transition that migrates the instance, in thread-ID order.
//
// A handler that refuses a buffered payload (an error from Handle, or a
// payload that does not decode) cannot tell its sender: the event is
// removed from the inbox and reported as a [EffectDropped] effect, the state is
// left as it was before the handler ran, and the next buffered event, if
// any, is tried.
//
// # Dropping
//
// When the instance finishes (completed, failed or canceled), the events
// still in its inbox are dropped: one Dropped effect each, in inbox order,
// before the finishing effect (Temporal, likewise, drops signals a
// completed workflow did not handle). A cancel keeps the inbox: the
// cleanup section's waits take buffered events too. After a migration, a
// buffered event whose name no wait of the new version accepts is dropped
// the same way (see [Upgrade]); events are matched by name, so one renamed
// by a migration's Paths at one wait keeps its old name in the inbox.
type Buffered struct {
	Event   string    `cbor:"1,keyasint"`           // the custom event's name
	Payload []byte    `cbor:"2,keyasint,omitempty"` // CBOR of the payload
	At      time.Time `cbor:"3,keyasint,omitempty"` // when it was buffered
}

// signal handles a Signal event: it returns the Callback event it stands
// for when a thread waits for the event, or ev itself, checked, when it is
// to be buffered.
func (m *machine) signal(ev Event) (Event, error) {
	if ev.Name == "" {
		return Event{}, fmt.Errorf("%w: signal with no event name", ErrBadEvent)
	}
	for _, th := range m.meta.Threads {
		for _, p := range th.Waits {
			if p.Kind == Custom && p.Event == ev.Name {
				return Event{Kind: EventCallback, Time: ev.Time, Callback: p.Callback, Payload: ev.Payload}, nil
			}
		}
	}
	if !takesEvent(m.tree, ev.Name) {
		return Event{}, fmt.Errorf("%w: %q (instance %q, %s version %d)", ErrUnknownEvent, ev.Name, m.meta.Instance, m.tree.Name, m.tree.Version)
	}
	limit := ev.InboxLimit
	if limit <= 0 {
		limit = DefaultInboxLimit
	}
	if len(m.meta.Inbox) >= limit {
		return Event{}, fmt.Errorf("%w: instance %q holds %d buffered events (limit %d); event %q refused",
			ErrInboxFull, m.meta.Instance, len(m.meta.Inbox), limit, ev.Name)
	}
	return ev, nil
}

// buffer puts ev in the inbox. The meta's inbox is the caller's: it is
// copied, never appended to in place.
func (m *machine) buffer(ev Event) {
	m.meta.Inbox = append(slices.Clip(m.meta.Inbox), Buffered{Event: ev.Name, Payload: ev.Payload, At: unixTime(m.now)})
}

// takesEvent reports whether a custom On of that name exists anywhere in t.
func takesEvent(t *ast.Tree, name string) bool {
	for _, n := range t.Index {
		if n.Kind == ast.On && n.Trigger.Kind == ast.Custom && n.Name == name {
			return true
		}
	}
	return false
}

// customOn returns the custom On of wait named name, or nil.
func customOn(wait *ast.Node, name string) *ast.Node {
	for _, on := range wait.Branches {
		if on.Name == name && on.Trigger.Kind == ast.Custom {
			return on
		}
	}
	return nil
}

// takeBuffered gives t, about to park at wait n, the oldest buffered event
// one of n's custom Ons accepts. It reports whether t took one (it then
// continues in that On's body) or the instance failed; false means t parks.
func (m *machine) takeBuffered(t *thread, n *ast.Node) bool {
	for i := 0; i < len(m.meta.Inbox); {
		b := m.meta.Inbox[i]
		on := customOn(n, b.Event)
		if on == nil {
			i++
			continue
		}
		m.meta.NextCallback++
		cb := m.meta.NextCallback
		reply, ok := m.handleBuffered(t, n, on, b, i, cb)
		if m.done {
			return true
		}
		if !ok {
			continue // dropped: the next one is now at i
		}
		m.accepted(cb)
		m.emit(Effect{Kind: EffectReply, Thread: t.ID, Path: n.Path, Event: b.Event, Callback: cb, Data: reply})
		t.node, t.Phase = on, PhaseEnter
		return true
	}
	return false
}

// handleBuffered runs on's handler on buffered event b (the inbox's i-th)
// for callback cb and removes b from the inbox. A refusal restores the
// state and emits a Dropped effect; ok is false then. If the state cannot
// be snapshotted or restored, the instance fails (m.done).
func (m *machine) handleBuffered(t *thread, wait, on *ast.Node, b Buffered, i int, cb uint64) (reply []byte, ok bool) {
	var snap []byte
	if m.clean {
		snap = m.input
	} else {
		var err error
		if snap, err = encodeState(m.tree, m.s); err != nil {
			m.fail(t, on.Path, fmt.Errorf("snapshot state: %w", err))
			return nil, false
		}
	}
	m.meta.Inbox = slices.Delete(slices.Clone(m.meta.Inbox), i, i+1)
	if len(m.meta.Inbox) == 0 {
		m.meta.Inbox = nil
	}
	reply, err := m.handle(on, b.Payload)
	if err == nil {
		return reply, true
	}
	s, derr := decodeState(m.tree, snap)
	if derr != nil {
		m.fail(t, on.Path, fmt.Errorf("restore state: %w", derr))
		return nil, false
	}
	m.s = s
	m.emit(Effect{Kind: EffectDropped, Thread: t.ID, Path: wait.Path, Event: b.Event, Callback: cb, Data: b.Payload,
		Error: "the handler refused the buffered event: " + err.Error()})
	return nil, false
}

// deliverParked gives buffered events to threads already parked at a Wait
// with a callback for them (a migration can rename a parked wait's event
// to a buffered name), in thread-ID order. It reports whether a thread woke.
func (m *machine) deliverParked() bool {
	woke := false
	for _, t := range m.threads {
		if len(m.meta.Inbox) == 0 || m.done {
			break
		}
		if t.ended || t.Phase != PhaseWaiting || t.node.Kind != ast.Wait {
			continue
		}
		for i := 0; i < len(m.meta.Inbox); {
			b := m.meta.Inbox[i]
			w := slices.IndexFunc(t.Waits, func(p Pending) bool { return p.Kind == Custom && p.Event == b.Event })
			on := customOn(t.node, b.Event)
			if w < 0 || on == nil {
				i++
				continue
			}
			cb := t.Waits[w].Callback
			reply, ok := m.handleBuffered(t, t.node, on, b, i, cb)
			if m.done {
				return woke
			}
			if !ok {
				continue
			}
			m.accepted(cb)
			m.emit(Effect{Kind: EffectReply, Thread: t.ID, Path: t.node.Path, Event: b.Event, Callback: cb, Data: reply})
			m.resolve(t, w)
			m.queue = append(m.queue, t)
			woke = true
			break
		}
	}
	return woke
}

// dropInbox drops every buffered event, with a Dropped effect each.
func (m *machine) dropInbox(why string) {
	for _, b := range m.meta.Inbox {
		m.emit(Effect{Kind: EffectDropped, Event: b.Event, Data: b.Payload, Error: why})
	}
	m.meta.Inbox = nil
}

// dropUnknown drops the buffered events no wait of the current definition
// accepts (after a migration).
func (m *machine) dropUnknown() {
	if len(m.meta.Inbox) == 0 {
		return
	}
	var keep []Buffered
	for _, b := range m.meta.Inbox {
		if takesEvent(m.tree, b.Event) {
			keep = append(keep, b)
			continue
		}
		m.emit(Effect{Kind: EffectDropped, Event: b.Event, Data: b.Payload,
			Error: "version " + strconv.Itoa(m.tree.Version) + " of " + strconv.Quote(m.tree.Name) + " has no wait for the event"})
	}
	m.meta.Inbox = keep
}
