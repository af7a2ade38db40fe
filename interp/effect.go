package interp

import (
	"strconv"
	"time"
)

// EffectKind says what the host must do for an effect.
type EffectKind uint8

// Effect kinds. The engine keeps EffectSetup, EffectTeardown, EffectRunActivity and the
// finishing effects in its outbox; timers and EffectResumeAt are folded into
// Meta.Due, so a host with its own scheduler may use them instead.
const (
	EffectSetup          EffectKind = iota + 1 // create the outside task of a custom event (Data: setup data)
	EffectTeardown                             // undo a Setup (same Callback)
	EffectStartTimer                           // a timer pending until At
	EffectCancelTimer                          // a timer no longer needed
	EffectRunActivity                          // run the Call at Path on Data (state snapshot), not before At
	EffectCancelActivity                       // the Call's result is no longer wanted
	EffectResumeAt                             // send Resume at At (budget ran out, or a step retry)
	EffectReply                                // the reply to an accepted custom event (Data)
	EffectCompleted                            // the instance completed (Data: output)
	EffectFailed                               // the instance failed (Error)
	EffectCanceled                             // the instance was canceled and cleaned up
	EffectTerminated                           // the instance was terminated (Error: the reason)
	EffectDropped                              // a buffered event was dropped (Event, Data: payload, Error: why); see [Buffered]
	EffectStartChild                           // start instance Child of workflow Type with input Data; its end answers Callback
	EffectEndChild                             // the parent no longer waits for child Child (of workflow Type): end it by OnEnd
)

var effectNames = [...]string{"", "setup", "teardown", "start-timer", "cancel-timer", "run-activity",
	"cancel-activity", "resume-at", "reply", "completed", "failed", "canceled", "terminated", "dropped",
	"start-child", "end-child"}

// String names the effect kind, as in the effect catalogue.
func (k EffectKind) String() string {
	if int(k) < len(effectNames) && k > 0 {
		return effectNames[k]
	}
	return "effect?"
}

// Effect is one thing the outside world must do because of a transition.
//
// # Ordering contract
//
// Like raft's Ready: the host must persist the new state, meta and effects
// atomically BEFORE performing any effect, then perform them (in slice
// order, or in parallel where order does not matter), retrying each until it
// succeeds. Effects are therefore delivered at least once; ID is stable
// across retries and crashes so receivers can de-duplicate. A Teardown
// always follows its Setup in the effect stream.
type Effect struct {
	ID       EffectID
	Kind     EffectKind
	Thread   string        // the thread concerned
	Path     string        // the Wait or Call statement
	Event    string        // the On name (Setup, Teardown, timers)
	Type     string        // Setup, Teardown: the custom event's type, for routing; StartChild, EndChild: the child's workflow
	Callback uint64        // the callback that answers it, or the one being torn down
	At       time.Time     // StartTimer: deadline; RunActivity: not before; ResumeAt: when
	Attempt  uint32        // RunActivity: 1-based attempt
	Timeout  time.Duration // RunActivity: per-attempt timeout (0: none)
	Data     []byte        // CBOR: setup data, activity input, reply or output
	Error    string        // Failed: the failure message
	Child    string        // StartChild, EndChild: the child instance's ID
	OnEnd    uint8         // EndChild: the dsl.ParentEndPolicy (cancel or terminate)
}

// EffectID identifies an effect: the instance, the transition's sequence
// number (Meta.Seq after it) and the effect's index in it.
type EffectID struct {
	Instance string
	Seq      uint64
	Index    uint32
}

// String renders the ID as "instance/seq/index", the form stores use as key.
func (id EffectID) String() string {
	return string(id.Append(make([]byte, 0, len(id.Instance)+24)))
}

// Append appends the ID's String form to b, for a caller that compares
// or builds keys without a string of its own.
func (id EffectID) Append(b []byte) []byte {
	b = append(b, id.Instance...)
	b = append(b, '/')
	b = strconv.AppendUint(b, id.Seq, 10)
	b = append(b, '/')
	return strconv.AppendUint(b, uint64(id.Index), 10)
}
