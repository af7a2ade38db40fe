package interp

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/ast"
	"github.com/weftflow/weft/internal/position"
)

// Result is what an accepted event produces: the state and meta to persist
// and the effects to perform after persisting them (see [Effect]).
type Result struct {
	State   []byte
	Meta    Meta
	Effects []Effect
}

// Apply is the interpreter: a pure function of its arguments. It decodes
// state, resolves every thread's position in def, handles ev, runs threads
// until each blocks, ends or the statement budget runs out, and encodes the
// new state.
//
// On error the event was not accepted and nothing changed: the caller keeps
// state and meta as they were (Apply never modifies its arguments). Errors
// match the sentinels in this package: [ErrUnknownCallback],
// [ErrDuplicateCallback], [ErrStaleCallback], [ErrNotDue], [ErrRejected],
// [ErrFinished], [ErrPositionLost], [ErrMigration], [ErrBadEvent],
// [ErrCorrupt], [ErrInternal], and for a [EventSignal] [ErrUnknownEvent] and
// [ErrInboxFull]; a new state too large to encode matches
// [codec.ErrTooLarge] (and not ErrCorrupt: nothing stored is damaged). A
// callback that no thread waits for is refused from meta alone, before the
// state is decoded, and a Resume decodes it only once it finds something
// due, so a state that does not decode gives ErrCorrupt only for events
// that need it (for a Resume, after [ErrPositionLost] and [ErrNotDue]).
//
// Failures of the workflow itself (a Fail statement, a step out of
// attempts, a panic in a condition) are not errors of Apply: they are
// accepted transitions to the Failed status, recorded in Meta.Failure.
//
// Apply never panics. A panic in user code is handled as above; a panic
// anywhere else (a bug in weft, met by some input) is recovered at this
// boundary and returned as an *[InternalError] matching [ErrInternal], with
// nothing changed, so a host serving many instances loses only this event.
func Apply(def *dsl.Definition, state []byte, meta Meta, ev Event) (Result, error) {
	return ApplyWith(nil, def, state, meta, ev)
}

// apply is Apply, with the machine's buffers in sc if it is not nil.
func apply(def *dsl.Definition, state []byte, meta Meta, ev Event, sc *Scratch) (Result, error) {
	t := ast.TreeOf(def)
	// The machine lives on apply's stack (nothing keeps its address); the
	// buffers it points into come in one allocation, made only once the
	// event is past the checks that refuse it from the meta alone; the
	// effects come in another, when the first is emitted (see effectsCap).
	m := &machine{tree: t, meta: meta, now: ev.Time.UnixNano(), budget: t.Budget, input: state}
	if ev.Time.IsZero() {
		return Result{}, fmt.Errorf("%w: %s event has no time", ErrBadEvent, ev.Kind)
	}
	switch {
	case ev.Kind == EventStart:
		if meta.Seq != 0 {
			return Result{}, fmt.Errorf("%w: start of instance %q that has already started", ErrBadEvent, meta.Instance)
		}
	case ev.Kind < EventStart || ev.Kind > EventTerminate:
		return Result{}, fmt.Errorf("%w: unknown event kind %d", ErrBadEvent, ev.Kind)
	case meta.Seq == 0:
		return Result{}, fmt.Errorf("%w: %s event for an instance that has not started", ErrBadEvent, ev.Kind)
	case meta.Status.Finished():
		return Result{}, finishedError(meta)
	}
	if ev.Kind == EventTerminate {
		return m.terminate(state, ev), nil // before migrating or resolving anything: see terminate.go
	}
	var err error
	if ev.Kind != EventStart {
		if state, err = m.migrate(state); err != nil {
			return Result{}, err
		}
		m.input = state // the rollback snapshot is of the migrated state
	}
	if ev.Kind == EventSignal {
		// A Signal some thread waits for is that thread's Callback.
		if ev, err = m.signal(ev); err != nil {
			return Result{}, err
		}
	}
	if ev.Kind == EventCallback && !m.upgraded && !awaited(m.meta.Threads, ev.Callback) {
		// Refused by the meta alone (as m.callback would refuse it): a
		// host sends many such events, and the state need not be decoded.
		return Result{}, callbackError(CallbackError{Callback: ev.Callback, Reason: m.classify(ev.Callback)})
	}
	m.bufs = newBuffers(t, sc)
	m.queue = m.bufs.queue[:0]
	if ev.Kind == EventStart && len(state) == 0 {
		m.s = t.NewState()
	} else if ev.Kind != EventResume {
		// A Resume decodes the state once it knows something is due.
		if err := m.decode(state); err != nil {
			return Result{}, err
		}
	}
	if err := m.load(); err != nil {
		return Result{}, err
	}
	switch ev.Kind {
	case EventStart:
		m.meta = Meta{Instance: ev.Instance, Started: unixTime(m.now), Version: uint32(t.Version)}
		m.bufs.threads[0] = thread{Thread: Thread{ID: "main", Phase: PhaseStart}, node: t.Main} // a started instance has no threads to load
		main := &m.bufs.threads[0]
		m.threads = append(m.bufs.ptrs[:0], main)
		m.queue = append(m.queue, main)
	case EventResume:
		// A Resume that only migrates the instance to the definition's
		// version is accepted: it is how a host moves instances on after a
		// deploy (engine.MigrateAll).
		if !m.resume() && !m.upgraded {
			return Result{}, &notDueErr{at: ev.Time, instance: meta.Instance}
		}
		if err := m.decode(state); err != nil {
			return Result{}, err
		}
	case EventCallback:
		if err := m.callback(ev); err != nil {
			return Result{}, err
		}
	case EventCancel:
		if meta.Status == StatusCanceling {
			return Result{}, fmt.Errorf("%w: instance %q is already canceling", ErrBadEvent, meta.Instance)
		}
		m.cancel()
	case EventSignal:
		m.buffer(ev)
	}
	m.runAll()
	return m.result()
}

// decode sets the machine's state to the decoded state.
func (m *machine) decode(state []byte) error {
	s, err := decodeState(m.tree, state)
	if err != nil {
		return fmt.Errorf("%w: instance %q: %w", ErrCorrupt, m.meta.Instance, err)
	}
	m.s, m.clean = s, true
	return nil
}

// awaited reports whether a thread waits for callback.
func awaited(threads []Thread, callback uint64) bool {
	for _, th := range threads {
		for _, p := range th.Waits {
			if p.Callback == callback {
				return true
			}
		}
	}
	return false
}

// thread is a Thread while a transition runs: its position resolved to a node.
type thread struct {
	Thread
	node  *ast.Node
	ended bool
}

type machine struct {
	tree      *ast.Tree
	s         any // *S
	meta      Meta
	threads   []*thread // sorted by ID
	queue     []*thread
	effects   []Effect
	now       int64
	budget    int
	yielded   bool   // the budget ran out: runnable threads wait for Resume
	yieldedBy string // the thread that ran out
	done      bool   // the instance finished in this transition
	upgraded  bool   // the instance was written by an older definition version

	// input is the state as given; while clean (no user code has run on the
	// decoded state) it doubles as the snapshot a failing step rolls back to.
	input []byte
	clean bool
	// spare is a step snapshot no longer in use, which the next one may
	// reuse (ast.Tree.Copy).
	spare any

	// bufs holds small buffers for the slices above, nil until the event
	// is past the refusals that need no thread (see apply).
	bufs *buffers
}

// buffers are a machine's small inline buffers: most transitions touch one
// or two threads and emit one effect. They are apart from the machine so that it can stay on
// apply's stack: a pointer into the machine stored in the machine would
// move it to the heap.
type buffers struct {
	threads [2]thread
	ptrs    [4]*thread
	queue   [4]*thread
	// effects is the room for the first effects, in the array of the
	// plainBuffers or setupBuffers that holds these buffers (empty for
	// Resolve's); Result.Effects may keep it.
	effects []Effect
}

// plainBuffers are the buffers of a definition without setups: room for
// one effect (most transitions emit one, a reply).
type plainBuffers struct {
	buffers
	one [1]Effect
}

// setupBuffers are the buffers of a definition with setups, where the
// effects have room for effectsCap in the same allocation: an event that
// answers a wait with a setup emits three (the reply, the Teardown and
// the next wait's Setup), and the slice's growth was an allocation of its
// own in every such transition. (The array is the only room for effects:
// a second one-effect array here would be 216 unused bytes in every
// transition.)
type setupBuffers struct {
	buffers
	wide [effectsCap]Effect
}

// newBuffers returns the buffers of a transition of t: new ones, or sc's
// emptied if sc is not nil.
func newBuffers(t *ast.Tree, sc *Scratch) *buffers {
	var plain **plainBuffers
	var setup **setupBuffers
	if sc != nil {
		plain, setup = &sc.plain, &sc.setup
	}
	if !t.Setups {
		b := buffersIn(plain)
		b.effects = b.one[:0]
		return &b.buffers
	}
	b := buffersIn(setup)
	b.effects = b.wide[:0]
	return &b.buffers
}

// buffersIn returns the buffers *slot emptied (made first if *slot is
// nil), or new ones if slot is nil.
func buffersIn[B plainBuffers | setupBuffers](slot **B) *B {
	switch {
	case slot == nil:
		return new(B)
	case *slot == nil:
		*slot = new(B)
	default:
		var empty B
		**slot = empty
	}
	return *slot
}

// effectsCap is the capacity of a transition's effects once it has more
// than one: an accepted event most often emits one (a reply), or three or
// four (a teardown or two and the setups of the next wait), and growing
// the slice one at a time would allocate three times for three.
const effectsCap = 4

// load resolves every thread's position in the current definition with the
// shared position rule, which also gives each thread its ID there: a thread
// whose Go statement a migration renamed takes the new name.
func (m *machine) load() error {
	if len(m.meta.Threads) == 0 {
		return nil
	}
	if m.bufs == nil {
		m.bufs = new(buffers) // Resolve
	}
	buf := m.bufs.threads[:0]
	if len(m.meta.Threads) > len(m.bufs.threads) {
		buf = make([]thread, len(m.meta.Threads))
	}
	buf = buf[:len(m.meta.Threads)]
	// Check the length before slicing the inline buffer: slicing it past its
	// capacity panicked on an instance with five or more live threads.
	if len(buf) <= len(m.bufs.ptrs) {
		m.threads = m.bufs.ptrs[:len(buf)]
	} else {
		m.threads = make([]*thread, len(buf), len(buf)+1)
	}
	renamed := false
	for i, th := range m.meta.Threads {
		n, id, lost := position.Resolve(m.tree, th.ID, th.Path, position.Phase(th.Phase), pendings(th.Waits))
		if lost != nil {
			return &PositionLostError{Workflow: m.tree.Name, Thread: th.ID, Path: lost.Path, Reason: lost.Reason}
		}
		if id != th.ID {
			if m.meta.Yielded == th.ID {
				m.meta.Yielded = id
			}
			th.ID, renamed = id, true
		}
		buf[i] = thread{Thread: th, node: n}
		m.threads[i] = &buf[i]
	}
	return m.checkIDs(renamed)
}

// checkIDs keeps m.threads sorted by ID with no ID twice. Threads come
// sorted from the meta unless a migration renamed one; two threads with one
// ID cannot both be joined or answered, so that is refused.
func (m *machine) checkIDs(renamed bool) error {
	ts := m.threads
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].ID < ts[j-1].ID; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
	for i := 1; i < len(ts); i++ {
		if ts[i].ID != ts[i-1].ID {
			continue
		}
		if renamed {
			return fmt.Errorf("%w: instance %q: after the migration two threads have the ID %s (at %q and %q): the renamed Go statement's threads meet threads already running under that name",
				ErrMigration, m.meta.Instance, ts[i].ID, ts[i-1].Path, ts[i].Path)
		}
		return fmt.Errorf("%w: instance %q: two threads have the ID %s", ErrCorrupt, m.meta.Instance, ts[i].ID)
	}
	if renamed {
		// Upgrade and Resolve return m.meta: it must show the new IDs.
		out := make([]Thread, len(ts))
		for i, t := range ts {
			out[i] = t.Thread
		}
		m.meta.Threads = out
	}
	return nil
}

// pendings shows a thread's waits to the position rule without copying.
type pendings []Pending

func (ps pendings) Len() int { return len(ps) }

func (ps pendings) Wait(i int) (string, ast.TriggerKind) {
	return ps[i].Event, ast.TriggerKind(ps[i].Kind)
}

func onNamed(wait *ast.Node, name string) *ast.Node {
	for _, on := range wait.Branches {
		if on.Name == name {
			return on
		}
	}
	return nil
}

// resume queues runnable threads, steps whose retry is due and threads with
// a due timer. It reports whether anything was due.
func (m *machine) resume() bool {
	// Round robin: threads after the one that ran out of budget go first,
	// so a thread that spins without blocking cannot starve the others.
	first := sort.Search(len(m.threads), func(i int) bool { return m.threads[i].ID > m.meta.Yielded })
	if m.meta.Yielded == "" {
		first = 0
	}
	for k := range m.threads {
		t := m.threads[(first+k)%len(m.threads)]
		switch {
		case t.Phase.Runnable():
			m.queue = append(m.queue, t)
		case t.Phase == PhaseRetry && unixNano(t.At) <= m.now:
			t.Phase, t.At = PhaseEnter, time.Time{}
			m.queue = append(m.queue, t)
		case t.Phase == PhaseWaiting:
			best, bestAt := -1, int64(0)
			for i, p := range t.Waits {
				if at := unixNano(p.At); p.Kind == Timer && at <= m.now && (best < 0 || at < bestAt) {
					best, bestAt = i, at
				}
			}
			if best >= 0 {
				m.accepted(t.Waits[best].Callback)
				m.resolve(t, best)
				m.queue = append(m.queue, t)
			}
		}
	}
	return len(m.queue) > 0
}

func (m *machine) cancel() {
	m.teardownAll()
	m.threads = m.threads[:0]
	if m.tree.Cancel == nil {
		m.finish(StatusCanceled, nil, nil)
		return
	}
	m.meta.Status = StatusCanceling
	c := &thread{Thread: Thread{ID: "cancel", Phase: PhaseStart}, node: m.tree.Cancel}
	m.threads = append(m.threads, c)
	m.queue = append(m.queue, c)
}

// runAll runs queued threads in order until every one blocks or ends, then
// wakes WaitFor and Join statements whose condition now holds, until none
// does. It stops early when the budget runs out or the instance finishes.
func (m *machine) runAll() {
	for {
		for len(m.queue) > 0 && !m.done && !m.yielded {
			t := m.queue[0]
			m.queue = m.queue[1:]
			if !t.ended {
				m.run(t)
			}
		}
		// After a yield, waking still marks threads runnable for the next
		// Resume, so a spinning thread cannot hide that a Join now holds.
		if m.done || !m.wake() || m.yielded {
			return
		}
	}
}

func (m *machine) wake() bool {
	woke := len(m.meta.Inbox) > 0 && m.deliverParked()
	if m.done {
		return false
	}
	for _, t := range m.threads {
		if t.ended || t.Phase != PhaseWaiting {
			continue
		}
		ready := false
		switch t.node.Kind {
		case ast.WaitFor:
			ok, err := m.cond(t.node)
			if err != nil {
				m.fail(t, t.node.Path, err)
				return false
			}
			ready = ok
		case ast.Join:
			ready = m.joined(t.node)
		}
		if ready {
			t.Phase = PhaseExit
			m.queue = append(m.queue, t)
			woke = true
		}
	}
	return woke
}

// joined reports whether no live thread was started by the join's Go names.
func (m *machine) joined(n *ast.Node) bool {
	for _, t := range m.threads {
		if t.ended {
			continue
		}
		for _, name := range n.Threads {
			if t.ID == name || (len(t.ID) > len(name) && t.ID[:len(name)] == name && t.ID[len(name)] == '[') {
				return false
			}
		}
	}
	return true
}

// result finishes the transition: due time, sequence number, effect IDs,
// encoded state and the new meta.
func (m *machine) result() (Result, error) {
	state, err := encodeState(m.tree, m.s)
	if err != nil {
		if tooLarge := (*codec.TooLargeError)(nil); errors.As(err, &tooLarge) {
			// The state grew past what the codec stores: nothing is corrupt,
			// and the caller's state is untouched.
			return Result{}, fmt.Errorf("interp: encode state of %q: %w", m.meta.Instance, err)
		}
		return Result{}, fmt.Errorf("%w: encode state of %q: %w", ErrCorrupt, m.meta.Instance, err)
	}
	m.meta.Seq++
	m.meta.Yielded = m.yieldedBy
	if m.yielded {
		m.emit(Effect{Kind: EffectResumeAt, At: time.Unix(0, m.now).UTC()})
	}
	var due int64
	// The new meta's threads get an array of their own: the meta outlives
	// the machine (hosts cache it), which should not keep the machine.
	var threads []Thread
	if live := m.live(); live > 0 {
		threads = make([]Thread, 0, live)
	}
	for _, t := range m.threads {
		if t.ended {
			continue
		}
		if t.node.Path != t.Path {
			t.Path = t.node.Path
		}
		threads = append(threads, t.Thread)
		due = minDue(due, m.threadDue(t))
	}
	m.meta.Due = unixTime(due)
	m.meta.Threads = threads
	for i := range m.effects {
		m.effects[i].ID = EffectID{Instance: m.meta.Instance, Seq: m.meta.Seq, Index: uint32(i)}
	}
	return Result{State: state, Meta: m.meta, Effects: m.effects}, nil
}

func (m *machine) live() int {
	n := 0
	for _, t := range m.threads {
		if !t.ended {
			n++
		}
	}
	return n
}

func (m *machine) threadDue(t *thread) int64 {
	switch {
	case t.Phase.Runnable():
		return m.now
	case t.Phase == PhaseRetry:
		return unixNano(t.At)
	}
	var due int64
	for _, p := range t.Waits {
		if p.Kind == Timer {
			due = minDue(due, unixNano(p.At))
		}
	}
	return due
}

func minDue(a, b int64) int64 {
	if a == 0 || (b != 0 && b < a) {
		return b
	}
	return a
}

func (m *machine) emit(e Effect) {
	switch {
	case m.effects == nil && m.bufs != nil && m.bufs.effects != nil:
		m.effects = m.bufs.effects
	case len(m.effects) == 1 && cap(m.effects) == 1:
		m.effects = append(make([]Effect, 0, effectsCap), m.effects[0])
	}
	m.effects = append(m.effects, e)
}

// finish ends the instance: every pending wait is torn down, threads end.
func (m *machine) finish(s Status, output []byte, f *Failure) {
	m.teardownAll()
	for _, t := range m.threads {
		t.ended = true
	}
	m.meta.Status, m.meta.Output, m.meta.Failure = s, output, f
	m.done = true
	if len(m.meta.Inbox) > 0 {
		m.dropInbox("the instance " + s.String() + " before a wait took the event")
	}
	switch s {
	case StatusCompleted:
		m.emit(Effect{Kind: EffectCompleted, Data: output})
	case StatusFailed:
		m.emit(Effect{Kind: EffectFailed, Thread: f.Thread, Path: f.Path, Error: f.Message})
	case StatusCanceled:
		m.emit(Effect{Kind: EffectCanceled})
	}
}

func (m *machine) fail(t *thread, path string, err error) {
	var pe *PanicError
	m.finish(StatusFailed, nil, &Failure{Path: path, Thread: t.ID, Message: err.Error(), Panic: errors.As(err, &pe)})
}

func (m *machine) complete(output any) {
	b, err := marshalOutput(output)
	if err != nil {
		m.finish(StatusFailed, nil, &Failure{Message: "encode output: " + err.Error()})
		return
	}
	m.finish(StatusCompleted, b, nil)
}

func (m *machine) teardownAll() {
	for _, t := range m.threads {
		if t.ended {
			continue
		}
		for _, p := range t.Waits {
			m.teardown(t, p)
		}
		t.Waits = nil
	}
}

// teardown undoes what parking emitted for p.
func (m *machine) teardown(t *thread, p Pending) { m.teardownAt(t.ID, t.node.Path, p) }

// teardownAt needs no node: a migration tears down waits that are gone.
func (m *machine) teardownAt(thread, path string, p Pending) {
	e := Effect{Thread: thread, Path: path, Event: p.Event, Callback: p.Callback, Type: p.Type}
	switch {
	case p.Kind == Timer:
		e.Kind = EffectCancelTimer
	case p.Kind == Activity:
		e.Kind = EffectCancelActivity
	case p.Kind == Child:
		ec, ok := endChild(thread, path, p)
		if !ok {
			return
		}
		e = ec
	case p.Setup:
		e.Kind = EffectTeardown
	default:
		return
	}
	m.emit(e)
}

// accepted records a callback in the recent window used to tell duplicates
// from stale callbacks.
func (m *machine) accepted(id uint64) {
	keep := m.meta.Recent
	if n := len(keep); n >= recentCallbacks {
		keep = keep[n-recentCallbacks+1:]
	}
	// A new array of the exact size: the meta's is shared with the caller,
	// and the next transition copies again.
	r := make([]uint64, len(keep)+1)
	copy(r, keep)
	r[len(keep)] = id
	m.meta.Recent = r
}

func (m *machine) time(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// Resolve checks, without applying anything, that every thread position
// and pending wait recorded in meta resolves in def. It returns nil or a
// *[PositionLostError]: what the next event would fail with. Upgrade
// checks use it before moving instances to a new definition. It also
// returns an [ErrMigration] error for an instance written by a newer
// version, or whose migration would give two threads one ID, and an
// [ErrCorrupt] error for a meta with two threads of one ID.
//
// Like Apply, it never panics: see [ErrInternal].
func Resolve(def *dsl.Definition, meta Meta) (err error) {
	defer barrier("Resolve", def, meta, nil, &err)
	if def == nil {
		return nilDefinition("Resolve", meta)
	}
	m := &machine{tree: ast.TreeOf(def), meta: meta}
	if _, err := m.migratePositions(); err != nil {
		return err
	}
	return m.load()
}

// notDueErr is a Resume's error when nothing is due. Its text is built when
// read: hosts resume instances leased for their effects to find out, and
// rarely print it.
type notDueErr struct {
	at       time.Time
	instance string
}

func (e *notDueErr) Error() string {
	return fmt.Sprintf("%v: nothing is due at %v for instance %q", ErrNotDue, e.at, e.instance)
}

func (e *notDueErr) Unwrap() error { return ErrNotDue }
