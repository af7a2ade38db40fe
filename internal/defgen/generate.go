package defgen

import (
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"pgregory.net/rapid"
)

// Config bounds what [Generator] draws.
type Config struct {
	// Panics lets steps and event handlers panic. The simulator reports
	// every panic of user code as a bug (InvPanic), so leave it off for
	// definitions meant for simulate.Check.
	Panics bool
	// MaxDepth bounds the nesting of compound statements (default 6).
	MaxDepth int
	// MaxStmts bounds the statements generated (default 60); past it only
	// leaves are drawn, so the tree closes quickly.
	MaxStmts int
	// Setups favors waits, and events with a setup and a teardown in them,
	// for tests of how effects are performed rather than of the
	// interpreter.
	Setups bool
}

func (c Config) withDefaults() Config {
	if c.MaxDepth <= 0 {
		c.MaxDepth = 6
	}
	if c.MaxStmts <= 0 {
		c.MaxStmts = 60
	}
	return c
}

// Generator draws random well-formed definitions. Each compiles with
// dsl.Compile; if one does not, the draw fails the test (t.Fatalf) with the
// compile errors and the definition, as a bug of the generator.
func Generator(cfg Config) *rapid.Generator[*Def] {
	cfg = cfg.withDefaults()
	return rapid.Custom(func(t *rapid.T) *Def {
		g := &gen{t: t, cfg: cfg}
		d := &Def{Budget: rapid.SampledFrom([]int{1000, 1, 2, 3, 5, 8, 20}).Draw(t, "budget")}
		d.main = g.body(ctx{}, 0, 3, 8, "main")
		if len(g.goNames) > 0 && !chance(t, "no join all", 25) {
			// The main body ending completes the workflow; joining keeps
			// it going while its threads run.
			g.kind(KJoin)
			d.main = append(d.main, &stmt{kind: KJoin, name: g.name("join"), threads: g.goNames})
		}
		if rapid.IntRange(0, 2).Draw(t, "has cancel") > 0 {
			g.kind(KOnCancel)
			d.cancel = g.body(ctx{}, 1, 1, 3, "cancel")
		}
		d.Static = g.stats
		if err := d.compile(); err != nil {
			t.Fatalf("defgen: a generated definition does not compile (a generator bug): %v\n%s", err, d.Source())
		}
		return d
	})
}

// ctx is where a statement is generated.
type ctx struct {
	inLoop bool // Break and Continue are allowed
	thread bool // inside a Go body
}

type gen struct {
	t        *rapid.T
	cfg      Config
	n        int // names drawn so far
	stmts    int
	goNames  []string
	sections []*section
	stats    Stats
}

// section is a generated section that may be used again elsewhere.
type section struct {
	s        *stmt
	needLoop bool // holds a Break or Continue of an enclosing loop
}

func (g *gen) name(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%d", prefix, g.n)
}

func (g *gen) kind(k Kind) {
	if g.stats.Kinds == nil {
		g.stats.Kinds = map[Kind]int{}
	}
	g.stats.Kinds[k]++
}

func (g *gen) cond(label string) *cond {
	return &cond{
		op:   rapid.IntRange(0, condOps-1).Draw(g.t, label+" op"),
		slot: rapid.IntRange(0, Slots-1).Draw(g.t, label+" slot"),
		k:    rapid.IntRange(0, 6).Draw(g.t, label+" k"),
	}
}

// failCond is the condition of a failing step or activity: C[slot]%7 == k,
// which holds now and then as the counters move.
func (g *gen) failCond(label string) *cond {
	return &cond{op: condOps, slot: rapid.IntRange(0, Slots-1).Draw(g.t, label+" slot"), k: rapid.IntRange(1, 6).Draw(g.t, label+" k")}
}

// blocking draws a statement that parks: a one-event wait or a WaitFor.
func (g *gen) blocking(label string) *stmt {
	g.stmts++
	if rapid.Bool().Draw(g.t, label) {
		g.kind(KWaitFor)
		return &stmt{kind: KWaitFor, name: g.name("waitfor"), cond: g.cond(label)}
	}
	g.kind(KWait)
	e := &event{kind: KSignal, name: g.name("ev"), slot: rapid.IntRange(0, Slots-1).Draw(g.t, label+" slot")}
	g.kind(KSignal)
	return &stmt{kind: KWait, name: g.name("wait"), events: []*event{e}}
}

func (g *gen) op(label string) op {
	return op{
		kind: rapid.IntRange(0, opKinds-1).Draw(g.t, label+" kind"),
		slot: rapid.IntRange(0, Slots-1).Draw(g.t, label+" slot"),
		k:    rapid.IntRange(1, 5).Draw(g.t, label+" k"),
	}
}

func (g *gen) retry(label string) *dsl.RetryPolicy {
	if !rapid.Bool().Draw(g.t, label+" own retry") {
		return nil
	}
	return &dsl.RetryPolicy{
		MaxAttempts: rapid.IntRange(1, 4).Draw(g.t, label+" attempts"),
		Initial:     time.Duration(rapid.IntRange(0, 90).Draw(g.t, label+" initial")) * time.Second,
		Multiplier:  float64(rapid.IntRange(1, 3).Draw(g.t, label+" multiplier")),
		Max:         time.Duration(rapid.IntRange(0, 5).Draw(g.t, label+" max")) * time.Minute,
	}
}

// body draws a statement list of min to max statements at depth.
func (g *gen) body(c ctx, depth, min, max int, label string) []*stmt {
	if g.stmts >= g.cfg.MaxStmts {
		max = min
	}
	names := map[string]bool{}
	i := 0
	// A slice generator, not a drawn length and a loop: rapid's shrinker
	// can then delete any one statement of a failing definition.
	one := rapid.Custom(func(t *rapid.T) *stmt {
		s := g.stmt(c, depth, names, fmt.Sprintf("%s.%d", label, i))
		i++
		if s.name != "" {
			names[s.name] = true
		}
		return s
	})
	return rapid.SliceOfN(one, min, max).Draw(g.t, label)
}

// stmt draws one statement; names holds the names of its siblings so far.
func (g *gen) stmt(c ctx, depth int, names map[string]bool, label string) *stmt {
	g.stmts++
	if depth+1 > g.stats.Depth {
		g.stats.Depth = depth + 1
	}
	// Repeats weight the draw. Threads are drawn often inside loops, where
	// GoEach starts many; Return and Fail are offered only now and then,
	// so that runs do not end after a few events.
	kinds := []Kind{KStep, KStep, KStep}
	compound := depth < g.cfg.MaxDepth-1 && g.stmts < g.cfg.MaxStmts
	if compound {
		kinds = append(kinds, KIf, KSwitch, KFor, KWhile, KWait, KWait, KSection, KGoEach)
		if g.cfg.Setups {
			kinds = append(kinds, KWait, KWait, KWait)
		}
		// A Go run twice while its thread runs fails the workflow ("already
		// running"): fine now and then, but not in most loops and threads.
		if !(c.inLoop || c.thread) || chance(g.t, label+" static go", 10) {
			kinds = append(kinds, KGo)
		}
		if c.inLoop {
			kinds = append(kinds, KGoEach, KGoEach, KGoEach)
		}
	}
	kinds = append(kinds, KCall, KWaitFor)
	if len(g.goNames) > 0 {
		kinds = append(kinds, KJoin)
	}
	if c.inLoop {
		kinds = append(kinds, KBreak, KContinue)
	}
	if depth > 0 && chance(g.t, label+" may end", 20) {
		kinds = append(kinds, KReturn, KFail)
	}
	for _, sec := range g.sections {
		if !names[sec.s.name] && (c.inLoop || !sec.needLoop) {
			kinds = append(kinds, KSectionReuse)
			break
		}
	}
	k := rapid.SampledFrom(kinds).Draw(g.t, label)
	s := &stmt{kind: k}
	switch k {
	case KStep:
		s.name = g.name("step")
		s.op = g.op(label)
		s.retry = g.retry(label)
		g.kind(KStep)
		if chance(g.t, label+" fails", 25) {
			s.fail = g.failCond(label + " fail")
			g.kind(KStepError)
			if g.cfg.Panics && rapid.Bool().Draw(g.t, label+" panics") {
				s.panics = true
				g.kind(KStepPanic)
			}
		}
	case KIf:
		s.name = g.name("if")
		g.kind(KIf)
		s.arms = append(s.arms, &arm{kind: KIf, name: "then", cond: g.cond(label), body: g.body(c, depth+1, 0, 3, label+" then")})
		for i := range rapid.IntRange(0, 2).Draw(g.t, label+" elseifs") {
			g.kind(KElseIf)
			s.arms = append(s.arms, &arm{kind: KElseIf, name: g.name("elif"), cond: g.cond(label), body: g.body(c, depth+1, 0, 3, fmt.Sprintf("%s elif%d", label, i))})
		}
		if rapid.Bool().Draw(g.t, label+" else") {
			g.kind(KElse)
			s.arms = append(s.arms, &arm{kind: KElse, name: "else", body: g.body(c, depth+1, 0, 3, label+" else")})
		}
	case KSwitch:
		s.name = g.name("switch")
		g.kind(KSwitch)
		for i := range rapid.IntRange(1, 3).Draw(g.t, label+" cases") {
			g.kind(KCase)
			s.arms = append(s.arms, &arm{kind: KCase, name: g.name("case"), cond: g.cond(label), body: g.body(c, depth+1, 0, 3, fmt.Sprintf("%s case%d", label, i))})
		}
		if rapid.Bool().Draw(g.t, label+" default") {
			g.kind(KDefault)
			s.arms = append(s.arms, &arm{kind: KDefault, name: "default", body: g.body(c, depth+1, 0, 3, label+" default")})
		}
	case KFor, KWhile:
		s.name = g.name("loop")
		s.loop = s.name
		s.bound = rapid.SampledFrom([]int{4, 8, 1, 2, 6}).Draw(g.t, label+" bound")
		g.kind(k)
		if k == KWhile && rapid.Bool().Draw(g.t, label+" extra cond") {
			s.cond = g.cond(label)
		}
		s.body = g.body(ctx{inLoop: true, thread: c.thread}, depth+1, 1, 4, label+" body")
		if depth == 0 && !chance(g.t, label+" no fan out", 25) {
			// A loop at the top that starts a parked thread per iteration
			// is what gets many threads live at once.
			fan := &stmt{kind: KGoEach}
			g.thread(fan, depth+1, label+" fan")
			fan.body = append([]*stmt{g.blocking(label + " fan first")}, fan.body...)
			s.body = append([]*stmt{fan}, s.body...)
		}
	case KBreak, KContinue:
		g.kind(k)
	case KWait:
		s.name = g.name("wait")
		g.kind(KWait)
		triggers := []Kind{KAfter, KAt, KSignal, KCustom, KCustomSetup}
		if g.cfg.Setups {
			triggers = append(triggers, KCustomSetup, KCustomSetup, KCustomSetup)
		}
		for i := range rapid.IntRange(1, 4).Draw(g.t, label+" events") {
			l := fmt.Sprintf("%s ev%d", label, i)
			e := &event{kind: rapid.SampledFrom(triggers).Draw(g.t, l), name: g.name("ev")}
			g.kind(e.kind)
			switch e.kind {
			case KAfter:
				e.after = rapid.SampledFrom([]time.Duration{0, time.Second, time.Minute, time.Hour, 24 * time.Hour}).Draw(g.t, l+" after")
			case KAt:
				e.slot = rapid.IntRange(0, Slots-1).Draw(g.t, l+" slot")
			default:
				e.slot = rapid.IntRange(0, Slots-1).Draw(g.t, l+" slot")
				e.reject = rapid.IntRange(-1, 2).Draw(g.t, l+" reject below")
				e.panics = g.cfg.Panics && chance(g.t, l+" panics", 25)
				if e.kind != KSignal {
					e.typ = rapid.SampledFrom([]string{"mail", "hook", ""}).Draw(g.t, l+" type")
				}
			}
			e.body = g.body(c, depth+1, 0, 3, l+" body")
			s.events = append(s.events, e)
		}
	case KCall:
		s.name = g.name("call")
		g.kind(KCall)
		s.op = op{slot: rapid.IntRange(0, Slots-1).Draw(g.t, label+" store")}
		s.slot = rapid.IntRange(0, Slots-1).Draw(g.t, label+" slot")
		s.k = rapid.IntRange(0, 5).Draw(g.t, label+" k")
		s.retry = g.retry(label)
		s.timeout = rapid.SampledFrom([]time.Duration{0, time.Second, time.Minute}).Draw(g.t, label+" timeout")
		if chance(g.t, label+" fails", 25) {
			s.fail = g.failCond(label + " fail")
		}
	case KWaitFor:
		s.name = g.name("waitfor")
		g.kind(KWaitFor)
		s.cond = g.cond(label)
	case KGo, KGoEach:
		g.thread(s, depth, label)
		if rapid.Bool().Draw(g.t, label+" blocks first") {
			// A thread that parks first stays live while its parent goes on.
			s.body = append([]*stmt{g.blocking(label + " first")}, s.body...)
		}
	case KJoin:
		s.name = g.name("join")
		g.kind(KJoin)
		for i := range rapid.IntRange(1, 2).Draw(g.t, label+" threads") {
			s.threads = append(s.threads, rapid.SampledFrom(g.goNames).Draw(g.t, fmt.Sprintf("%s thread%d", label, i)))
		}
	case KSection:
		s.name = g.name("sec")
		g.kind(KSection)
		s.body = g.body(c, depth+1, 1, 3, label+" body")
		if !hasGo(s.body) {
			g.sections = append(g.sections, &section{s: s, needLoop: freeBreak(s.body)})
		}
	case KSectionReuse:
		var fits []*section
		for _, sec := range g.sections {
			if !names[sec.s.name] && (c.inLoop || !sec.needLoop) {
				fits = append(fits, sec)
			}
		}
		g.kind(KSectionReuse)
		return rapid.SampledFrom(fits).Draw(g.t, label+" which").s
	case KReturn, KFail:
		g.kind(k)
		s.fromState = rapid.Bool().Draw(g.t, label+" from state")
	}
	return s
}

// thread fills in a Go or GoEach statement s at depth.
func (g *gen) thread(s *stmt, depth int, label string) {
	s.name = g.name("go")
	g.kind(s.kind)
	s.dupID = s.kind == KGoEach && chance(g.t, label+" repeating id", 15)
	g.goNames = append(g.goNames, s.name)
	s.body = g.body(ctx{thread: true}, depth+1, 1, 4, label+" body")
}

// hasGo reports whether ss start a thread: such a section cannot be used
// twice, as thread names are unique in a definition.
func hasGo(ss []*stmt) bool {
	for _, s := range ss {
		if s.kind == KGo || s.kind == KGoEach || hasGo(s.body) {
			return true
		}
		for _, a := range s.arms {
			if hasGo(a.body) {
				return true
			}
		}
		for _, e := range s.events {
			if hasGo(e.body) {
				return true
			}
		}
	}
	return false
}

// freeBreak reports whether ss hold a Break or Continue of a loop around
// them: such a section can only be used inside a loop.
func freeBreak(ss []*stmt) bool {
	for _, s := range ss {
		switch s.kind {
		case KBreak, KContinue:
			return true
		case KFor, KWhile, KGo, KGoEach:
			continue
		}
		if freeBreak(s.body) {
			return true
		}
		for _, a := range s.arms {
			if freeBreak(a.body) {
				return true
			}
		}
		for _, e := range s.events {
			if freeBreak(e.body) {
				return true
			}
		}
	}
	return false
}

// chance draws true about pct times in a hundred. rapid draws small
// integers far more often than large ones, so the rare outcome is put at
// the top of the range; it also shrinks towards false.
func chance(t *rapid.T, label string, pct int) bool {
	return rapid.IntRange(0, 99).Draw(t, label) >= 100-pct
}
