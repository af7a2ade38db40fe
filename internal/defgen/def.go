package defgen

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weftflow/weft/dsl"
)

// Epoch is the time At timers count from and the start time [CheckInterp]
// uses; it is also the simulator's start.
var Epoch = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// Def is one generated definition: the plan it was built from (printed by
// [Def.Source]), the compiled definition and what the generator drew.
type Def struct {
	Definition *dsl.Definition
	Budget     int   // the definition's statement budget (dsl.Budget)
	Static     Stats // kinds and depth drawn

	main   []*stmt
	cancel []*stmt // nil: no cancel section

	// spent counts the statements that spend the budget (step attempts and
	// loop iterations), so a test can check the budget of a transition.
	spent atomic.Int64
	waits []string // paths of every Wait, Call, WaitFor and Join
}

// WaitPaths lists the path of every statement a thread can park at (Wait,
// Call, WaitFor, Join), sorted.
func (d *Def) WaitPaths() []string { return d.waits }

func (d *Def) compile() error {
	def, err := d.compileAt(1)
	if err != nil {
		return err
	}
	d.Definition = def
	return nil
}

// Upgraded compiles the same definition again as version v (> 1): a deploy
// that changes nothing, for the simulator's upgrade action.
func (d *Def) Upgraded(v int) (*dsl.Definition, error) { return d.compileAt(v) }

func (d *Def) compileAt(version int) (*dsl.Definition, error) {
	d.waits = d.waits[:0] // build lists them again
	opts := []dsl.Option{dsl.Budget(d.Budget), dsl.Version(version)}
	if d.cancel != nil {
		opts = append(opts, dsl.OnCancel(d.build(d.cancel, "@cancel")...))
	}
	def, err := dsl.Compile[State]("generated", dsl.S(d.build(d.main, "")...), opts...)
	sort.Strings(d.waits)
	return def, err
}

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

var errStep = errors.New("generated step failure")

// build turns a plan into statements under the position path parent.
func (d *Def) build(ss []*stmt, parent string) []dsl.Stmt {
	out := make([]dsl.Stmt, 0, len(ss))
	for _, s := range ss {
		out = append(out, d.buildOne(s, parent))
	}
	return out
}

func (d *Def) buildOne(s *stmt, parent string) dsl.Stmt {
	path := join(parent, s.name)
	switch s.kind {
	case KStep:
		st := dsl.Step(s.name, func(st *State) error {
			d.spent.Add(1)
			if s.fail != nil && s.fail.eval(st) {
				if s.panics {
					panic(fmt.Sprintf("generated panic in %s", s.name))
				}
				return errStep
			}
			s.op.apply(st)
			return nil
		})
		if s.retry != nil {
			st.Retry(*s.retry)
		}
		return st
	case KIf:
		var is *dsl.IfStmt[State]
		for _, a := range s.arms {
			body := d.build(a.body, join(path, a.name))
			switch a.kind {
			case KIf:
				is = dsl.If(s.name, a.cond.eval, body...)
			case KElseIf:
				is.ElseIf(a.name, a.cond.eval, body...)
			case KElse:
				is.Else(body...)
			}
		}
		return is
	case KSwitch:
		var cs []dsl.CaseClause
		for _, a := range s.arms {
			body := d.build(a.body, join(path, a.name))
			if a.cond == nil {
				cs = append(cs, dsl.Default(body...))
			} else {
				cs = append(cs, dsl.Case(a.name, a.cond.eval, body...))
			}
		}
		return dsl.Switch(s.name, cs...)
	case KFor, KWhile:
		tick := dsl.Step("tick"+s.name, func(st *State) error {
			d.spent.Add(1)
			st.tick(s.loop)
			return nil
		})
		body := append([]dsl.Stmt{tick}, d.build(s.body, path)...)
		if s.kind == KWhile {
			return dsl.While(s.name, func(st *State) bool {
				d.spent.Add(1)
				return st.Loops[s.loop] < s.bound && (s.cond == nil || s.cond.eval(st))
			}, body...)
		}
		guard := dsl.If("guard"+s.name, func(st *State) bool {
			d.spent.Add(1) // called once per iteration, right after the iteration spent the budget
			return st.Loops[s.loop] >= s.bound
		}, dsl.Break())
		return dsl.For(s.name, append([]dsl.Stmt{guard}, body...)...)
	case KBreak:
		return dsl.Break()
	case KContinue:
		return dsl.Continue()
	case KWait:
		d.waits = append(d.waits, path)
		var ons []dsl.OnClause
		for _, e := range s.events {
			ons = append(ons, dsl.On(e.name, e.trigger(), d.build(e.body, join(path, e.name))...))
		}
		return dsl.Wait(s.name, ons...)
	case KCall:
		d.waits = append(d.waits, path)
		c := dsl.Call(s.name, func(_ context.Context, st State) (int, error) {
			if s.fail != nil && s.fail.eval(&st) {
				return 0, errors.New("generated activity failure")
			}
			return st.C[s.slot] + s.k, nil
		}, func(st *State, out int) {
			st.C[s.op.slot] = out
			st.got(out)
		})
		if s.retry != nil {
			c.Retry(*s.retry)
		}
		return c.Timeout(s.timeout)
	case KWaitFor:
		d.waits = append(d.waits, path)
		return dsl.WaitFor(s.name, s.cond.eval)
	case KGo, KGoEach:
		// The gate keeps at most MaxThreads threads live: the count is
		// taken before the start and given back at the end of the body.
		reserve := dsl.Step("reserve"+s.name, func(st *State) error {
			d.spent.Add(1)
			st.Live++
			st.IDs++
			return nil
		})
		leave := dsl.Step("leave"+s.name, func(st *State) error {
			d.spent.Add(1)
			st.Live--
			return nil
		})
		gate := join(parent, "gate"+s.name)
		body := append(d.build(s.body, join(join(gate, "then"), s.name)), leave)
		var g dsl.Stmt
		if s.kind == KGo {
			g = dsl.Go(s.name, body...)
		} else {
			g = dsl.GoEach(s.name, func(st *State) string {
				if s.dupID {
					return strconv.Itoa(st.C[0] % 3)
				}
				return strconv.Itoa(st.IDs)
			}, body...)
		}
		return dsl.If("gate"+s.name, func(st *State) bool { return st.Live < MaxThreads-1 }, reserve, g)
	case KJoin:
		d.waits = append(d.waits, path)
		return dsl.Join(s.name, s.threads...)
	case KSection:
		return dsl.Section(s.name, d.build(s.body, path)...)
	case KReturn:
		if s.fromState {
			return dsl.ReturnWith(func(st *State) int { return st.C[0] })
		}
		return dsl.Return("done")
	case KFail:
		if s.fromState {
			return dsl.FailWith(func(st *State) error { return fmt.Errorf("failed with C[1]=%d", st.C[1]) })
		}
		return dsl.Fail(errors.New("generated failure"))
	}
	panic("defgen: unknown statement kind " + string(s.kind))
}

func (e *event) trigger() dsl.Trigger {
	switch e.kind {
	case KAfter:
		return dsl.After(e.after)
	case KAt:
		return dsl.At(func(st *State) time.Time {
			m := st.C[e.slot] % 600
			if m < 0 {
				m = -m
			}
			return Epoch.Add(time.Duration(m) * time.Minute)
		})
	case KSignal:
		return dsl.Signal(e.handle)
	case KCustom:
		return dsl.Custom[State, int, int](e.typ, dsl.HandlerFunc[State, int, int](e.handle))
	default:
		return dsl.Custom[State, int, int](e.typ, setupHandler{e})
	}
}

func (e *event) handle(st *State, p int) (int, error) {
	if p < e.reject {
		return 0, fmt.Errorf("payload %d is below %d", p, e.reject)
	}
	if e.panics && p == 13 {
		panic("generated handler panic on 13")
	}
	st.C[e.slot] += p
	st.got(p)
	return st.C[e.slot], nil
}

// setupHandler is a custom event handler with a setup (and so a teardown).
type setupHandler struct{ e *event }

func (h setupHandler) Handle(st *State, p int) (int, error) { return h.e.handle(st, p) }

func (h setupHandler) Setup(st *State) any { return st.C[h.e.slot] }

// Source prints the definition as nested dsl calls, with the generated
// conditions and state changes spelled out, for failure reports.
func (d *Def) Source() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dsl.Compile[defgen.State](\"generated\", dsl.S(\n")
	printBody(&b, d.main, 1)
	fmt.Fprintf(&b, "), dsl.Budget(%d)", d.Budget)
	if d.cancel != nil {
		b.WriteString(", dsl.OnCancel(\n")
		printBody(&b, d.cancel, 2)
		b.WriteString("\t)")
	}
	b.WriteString(")\n")
	return b.String()
}

func printBody(b *strings.Builder, ss []*stmt, depth int) {
	for _, s := range ss {
		printStmt(b, s, depth)
	}
}

func printStmt(b *strings.Builder, s *stmt, depth int) {
	ind := strings.Repeat("\t", depth)
	line := func(format string, args ...any) { b.WriteString(ind + fmt.Sprintf(format, args...) + "\n") }
	switch s.kind {
	case KStep:
		what := s.op.String()
		if s.fail != nil {
			verb := "error"
			if s.panics {
				verb = "panic"
			}
			what = fmt.Sprintf("if %v { %s }; %s", s.fail, verb, what)
		}
		line("Step(%q, %s)%s,", s.name, what, retryString(s.retry))
	case KIf, KSwitch:
		if s.kind == KIf {
			line("If(%q, ...) {", s.name)
		} else {
			line("Switch(%q) {", s.name)
		}
		for _, a := range s.arms {
			if a.cond != nil {
				line("  %s %q when %v:", a.kind, a.name, a.cond)
			} else {
				line("  %s:", a.kind)
			}
			printBody(b, a.body, depth+1)
		}
		line("},")
	case KFor:
		line("For(%q, at most %d iterations) {", s.name, s.bound)
		printBody(b, s.body, depth+1)
		line("},")
	case KWhile:
		extra := ""
		if s.cond != nil {
			extra = fmt.Sprintf(" && %v", s.cond)
		}
		line("While(%q, iterations < %d%s) {", s.name, s.bound, extra)
		printBody(b, s.body, depth+1)
		line("},")
	case KBreak, KContinue:
		line("%s(),", s.kind)
	case KWait:
		line("Wait(%q,", s.name)
		for _, e := range s.events {
			var trig string
			switch e.kind {
			case KAfter:
				trig = fmt.Sprintf("After(%v)", e.after)
			case KAt:
				trig = fmt.Sprintf("At(epoch + |C[%d]%%600| min)", e.slot)
			default:
				trig = fmt.Sprintf("%s[%q](C[%d] += payload; reject payload < %d", e.kind, e.typ, e.slot, e.reject)
				if e.panics {
					trig += "; panic on 13"
				}
				trig += ")"
			}
			line("  On(%q, %s) {", e.name, trig)
			printBody(b, e.body, depth+1)
			line("  },")
		}
		line("),")
	case KCall:
		fail := ""
		if s.fail != nil {
			fail = fmt.Sprintf("error if %v; ", s.fail)
		}
		line("Call(%q, %sreturn C[%d]+%d, store into C[%d])%s.Timeout(%v),", s.name, fail, s.slot, s.k, s.op.slot, retryString(s.retry), s.timeout)
	case KWaitFor:
		line("WaitFor(%q, %v),", s.name, s.cond)
	case KGo, KGoEach:
		id := ""
		if s.kind == KGoEach {
			id = ", id IDs"
			if s.dupID {
				id = ", id C[0]%3"
			}
		}
		line("%s(%q%s, gated on Live < %d) {", s.kind, s.name, id, MaxThreads-1)
		printBody(b, s.body, depth+1)
		line("},")
	case KJoin:
		line("Join(%q, %q),", s.name, s.threads)
	case KSection:
		line("Section(%q) {", s.name)
		printBody(b, s.body, depth+1)
		line("},")
	case KReturn:
		if s.fromState {
			line("ReturnWith(C[0]),")
		} else {
			line("Return(\"done\"),")
		}
	case KFail:
		if s.fromState {
			line("FailWith(C[1]),")
		} else {
			line("Fail(\"generated failure\"),")
		}
	}
}

func retryString(r *dsl.RetryPolicy) string {
	if r == nil {
		return ""
	}
	return fmt.Sprintf(".Retry(%d attempts, %v x%g max %v)", r.MaxAttempts, r.Initial, r.Multiplier, r.Max)
}
