package defgen

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Kind names a statement or trigger kind the generator covers; [Stats]
// counts them so a test can assert that none silently goes missing.
type Kind string

// The kinds the generator covers.
const (
	KStep         Kind = "Step"
	KStepError    Kind = "Step error+retry"
	KStepPanic    Kind = "Step panic"
	KIf           Kind = "If"
	KElseIf       Kind = "ElseIf"
	KElse         Kind = "Else"
	KSwitch       Kind = "Switch"
	KCase         Kind = "Case"
	KDefault      Kind = "Default"
	KFor          Kind = "For"
	KWhile        Kind = "While"
	KBreak        Kind = "Break"
	KContinue     Kind = "Continue"
	KWait         Kind = "Wait"
	KAfter        Kind = "After"
	KAt           Kind = "At"
	KSignal       Kind = "Signal"
	KCustom       Kind = "Custom"
	KCustomSetup  Kind = "Custom with Setup"
	KCall         Kind = "Call"
	KWaitFor      Kind = "WaitFor"
	KGo           Kind = "Go"
	KGoEach       Kind = "GoEach"
	KJoin         Kind = "Join"
	KSection      Kind = "Section"
	KSectionReuse Kind = "Section reused"
	KReturn       Kind = "Return"
	KFail         Kind = "Fail"
	KOnCancel     Kind = "OnCancel"
)

// AllKinds lists every kind, in the order statistics print them.
var AllKinds = []Kind{KStep, KStepError, KStepPanic, KIf, KElseIf, KElse, KSwitch, KCase, KDefault,
	KFor, KWhile, KBreak, KContinue, KWait, KAfter, KAt, KSignal, KCustom, KCustomSetup, KCall,
	KWaitFor, KGo, KGoEach, KJoin, KSection, KSectionReuse, KReturn, KFail, KOnCancel}

// cond is a generated condition over the state.
type cond struct {
	op, slot, k int
}

// condOps is the number of ops g.cond draws from; op condOps (C%7 == k)
// is kept for failures.
const condOps = 5

func (c cond) eval(s *State) bool {
	switch c.op {
	case 0:
		return s.C[c.slot] > c.k
	case 1:
		return s.C[c.slot]%2 == c.k%2
	case 2:
		return s.F[c.slot%Flags]
	case 3:
		return !s.F[c.slot%Flags]
	case 4:
		return s.C[c.slot] < c.k
	default:
		return s.C[c.slot]%7 == c.k
	}
}

func (c cond) String() string {
	switch c.op {
	case 0:
		return fmt.Sprintf("C[%d] > %d", c.slot, c.k)
	case 1:
		return fmt.Sprintf("C[%d]%%2 == %d", c.slot, c.k%2)
	case 2:
		return fmt.Sprintf("F[%d]", c.slot%Flags)
	case 3:
		return fmt.Sprintf("!F[%d]", c.slot%Flags)
	case 4:
		return fmt.Sprintf("C[%d] < %d", c.slot, c.k)
	default:
		return fmt.Sprintf("C[%d]%%7 == %d", c.slot, c.k)
	}
}

// op is a generated state change.
type op struct {
	kind, slot, k int
}

const opKinds = 3

func (o op) apply(s *State) {
	switch o.kind {
	case 0:
		s.C[o.slot] += o.k
	case 1:
		s.F[o.slot%Flags] = !s.F[o.slot%Flags]
	default:
		s.C[o.slot] = s.C[o.k%Slots] + 1
	}
}

func (o op) String() string {
	switch o.kind {
	case 0:
		return fmt.Sprintf("C[%d] += %d", o.slot, o.k)
	case 1:
		return fmt.Sprintf("F[%d] = !F[%d]", o.slot%Flags, o.slot%Flags)
	default:
		return fmt.Sprintf("C[%d] = C[%d]+1", o.slot, o.k%Slots)
	}
}

// stmt is one generated statement before it is built into a dsl.Stmt: plain
// data, so a definition can be printed and rebuilt.
type stmt struct {
	kind Kind
	name string
	body []*stmt

	// Step, Call
	op     op
	fail   *cond // a step or activity fails when it holds
	panics bool  // a failing step panics instead of returning an error
	retry  *dsl.RetryPolicy

	// If, Switch
	arms []*arm

	// For, While: loop is the counter's key, bound the iterations allowed.
	loop  string
	bound int
	cond  *cond // While: an extra condition; WaitFor: the condition

	// Wait
	events []*event

	// Call: the result is C[slot]+k, stored into C[op.slot].
	slot, k int
	timeout time.Duration

	// GoEach: the ID repeats (C[slot]%3) instead of counting up, so a
	// second start of a running ID fails the workflow.
	dupID bool

	// Join
	threads []string

	// Return, Fail: computed from the state.
	fromState bool
}

// arm is one arm of an If or Switch; cond nil is Else or Default.
type arm struct {
	kind Kind // KIf (the "then" arm), KElseIf, KElse, KCase, KDefault
	name string
	cond *cond
	body []*stmt
}

// event is one event of a Wait.
type event struct {
	kind  Kind // KAfter, KAt, KSignal, KCustom, KCustomSetup
	name  string
	after time.Duration
	slot  int // At: minutes after the epoch from C[slot]; handlers: the counter they add to
	// handlers reject payloads below reject and panic on payload 13 when panics is set
	reject int
	panics bool
	typ    string
	body   []*stmt
}
