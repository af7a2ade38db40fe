package crashtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// status is what the parent knows about a command.
type status int

const (
	unsent    status = iota
	inFlight         // sent, never answered: the child died; outcome unknown
	acked            // answered without error: the engine call returned nil
	recovered        // never answered, but found applied after the kill
	refused          // answered with an error (a failure of the test)
)

func (s status) done() bool { return s == acked || s == recovered }

// command is one engine call the parent wants made, and how to tell from
// the stored instance whether it has been applied.
type command struct {
	req     request
	what    string
	applied func(v *view) bool
	status  status
	sends   int
}

// script is the commands of one instance, made one at a time in order.
type script struct {
	id, workflow string
	cmds         []*command

	tokens []string // counter: the tokens, in the order they are sent
	items  []string // pizza: the items, in the order they are added
	who    string   // pizza: the customer; approval: the user
	cancel bool     // approval: canceled instead of decided
}

// next returns the first command not yet done, or nil when all are done
// or one was refused.
func (s *script) next() *command {
	for _, c := range s.cmds {
		switch {
		case c.status == refused:
			return nil
		case !c.status.done():
			return c
		}
	}
	return nil
}

// plan is the whole workload and what is known of every command.
type plan struct {
	scripts []*script
	byID    map[string]*script

	mu       sync.Mutex
	problems []string // found by the drivers
}

func (p *plan) problem(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *plan) takeProblems() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.problems
	p.problems = nil
	return out
}

// size is the shape of a workload.
type size struct {
	counters, target, pizzas, approvals, cancels int
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func newPlan(sz size, rng *rand.Rand) *plan {
	p := &plan{byID: map[string]*script{}}
	add := func(s *script) { p.scripts = append(p.scripts, s); p.byID[s.id] = s }
	start := func(s *script, input any) {
		s.cmds = append(s.cmds, &command{
			req:     request{Op: opStart, Instance: s.id, Workflow: s.workflow, Payload: mustJSON(input)},
			what:    "start " + s.id,
			applied: func(v *view) bool { return v.exists },
		})
	}
	send := func(s *script, event string, payload any, what string, applied func(v *view) bool) {
		s.cmds = append(s.cmds, &command{
			req:     request{Op: opSend, Instance: s.id, Event: event, Payload: mustJSON(payload)},
			what:    fmt.Sprintf("%s %s to %s", event, what, s.id),
			applied: applied,
		})
	}
	for i := range sz.counters {
		s := &script{id: fmt.Sprintf("counter-%02d", i), workflow: CounterName}
		start(s, Counter{Name: s.id, Target: sz.target})
		for j := range sz.target {
			tok := fmt.Sprintf("%s.%d.%04x", s.id, j, rng.Uint32()&0xffff)
			s.tokens = append(s.tokens, tok)
			send(s, "inc", Inc{Token: tok}, tok, func(v *view) bool { return v.tokens[tok] })
		}
		add(s)
	}
	for i := range sz.pizzas {
		s := &script{id: fmt.Sprintf("pizza-%02d", i), workflow: pizza.Workflow.Name(),
			who: fmt.Sprintf("cust%02d", i), items: []string{"margherita", "diavola"}}
		start(s, pizza.Order{Customer: s.who})
		for k, item := range s.items {
			send(s, "add", pizza.Add{Item: item}, item, func(v *view) bool { return len(v.order.Items) > k })
		}
		send(s, "submit", struct{}{}, "", func(v *view) bool { return v.order.Submitted })
		send(s, "confirm", pizza.Confirmation{OK: true}, "", func(v *view) bool { return v.order.Confirmed })
		send(s, "cooked", struct{}{}, "", func(v *view) bool { return v.order.Cooked })
		send(s, "delivered", struct{}{}, "", func(v *view) bool { return v.order.Delivered })
		add(s)
	}
	for i := range sz.approvals {
		s := &script{id: fmt.Sprintf("approval-%02d", i), workflow: approval.Workflow.Name(), who: fmt.Sprintf("user%02d", i)}
		start(s, approval.Request{ID: s.id, User: s.who, Amount: 100 + i})
		send(s, "decide", approval.Decision{Approve: true}, "", func(v *view) bool { return v.request.Approved })
		add(s)
	}
	for i := range sz.cancels {
		s := &script{id: fmt.Sprintf("canceled-%02d", i), workflow: approval.Workflow.Name(), who: fmt.Sprintf("user%02d", i), cancel: true}
		start(s, approval.Request{ID: s.id, User: s.who, Amount: 200 + i})
		s.cmds = append(s.cmds, &command{
			req:  request{Op: opCancel, Instance: s.id},
			what: "cancel " + s.id,
			applied: func(v *view) bool {
				return v.inst.Meta.Status == interp.StatusCanceling || v.inst.Meta.Status == interp.StatusCanceled
			},
		})
		add(s)
	}
	return p
}

// drive makes the scripts' remaining commands through c, one at a time
// per instance and all instances at once, until they are done, the pace
// runs out of commands or c dies. A nil pace sends everything as fast as c
// answers. It returns a function that waits for the drivers.
func (p *plan) drive(c caller, pace *pacer) (wait func()) {
	var wg sync.WaitGroup
	for _, s := range p.scripts {
		if s.next() == nil {
			continue
		}
		wg.Go(func() {
			for cmd := s.next(); cmd != nil; cmd = s.next() {
				if !pace.take(c.gone()) {
					return
				}
				cmd.status = inFlight
				cmd.sends++
				r, ok := c.call(cmd.req)
				if !ok {
					return // c died: the outcome is unknown
				}
				if r.Err != "" {
					cmd.status = refused
					p.problem("%s (send %d): refused: %s", cmd.what, cmd.sends, r.Err)
					return
				}
				cmd.status = acked
			}
		})
	}
	return func() {
		wg.Wait()
		pace.stop()
	}
}

// caller makes requests: a child process, or a server in this process.
type caller interface {
	// call performs req; false means the outcome is unknown (the child died).
	call(req request) (response, bool)
	// gone is closed when no more calls can succeed.
	gone() <-chan struct{}
}

// local is a caller that serves requests in this process.
type local struct {
	ctx context.Context
	srv *server
}

func (l local) call(req request) (response, bool) {
	return response{ID: req.ID, Err: errString(l.srv.serve(l.ctx, req))}, true
}

func (local) gone() <-chan struct{} { return nil }

// pacer lets quota commands go over about span, in bursts of 1 to 16, so
// that a kill finds anything from an idle child to a burst of commands in
// one group commit.
type pacer struct {
	tokens chan struct{}
	done   chan struct{}
}

func newPacer(quota int, span time.Duration, rng *rand.Rand) *pacer {
	pc := &pacer{tokens: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(pc.tokens)
		for left := quota; left > 0; {
			burst := min(1+rng.IntN(16), left)
			for range burst {
				select {
				case pc.tokens <- struct{}{}:
				case <-pc.done:
					return
				}
			}
			left -= burst
			select {
			case <-time.After(span * time.Duration(burst) / time.Duration(quota)):
			case <-pc.done:
				return
			}
		}
	}()
	return pc
}

// take waits for the pacer to let one command go; false means no more, or
// dead was closed first.
func (pc *pacer) take(dead <-chan struct{}) bool {
	if pc == nil {
		return true
	}
	select {
	case _, ok := <-pc.tokens:
		return ok
	case <-dead:
		return false
	}
}

func (pc *pacer) stop() {
	if pc != nil {
		close(pc.done)
	}
}

// count tallies the commands by status, and resends.
func (p *plan) count() (n map[status]int, resent int) {
	n = map[status]int{}
	for _, s := range p.scripts {
		for _, c := range s.cmds {
			n[c.status]++
			if c.sends > 1 {
				resent += c.sends - 1
			}
		}
	}
	return n, resent
}

// view is one stored instance as the parent reads it from the file.
type view struct {
	exists  bool
	inst    engine.Instance
	counter Counter
	tokens  map[string]bool // the counter's Tokens
	order   pizza.Order
	request approval.Request
}

// snapshot is everything durable: the store, read through the engine, and
// the receiver log.
type snapshot struct {
	views  map[string]*view
	outbox []storage.Effect
	log    []Entry
	torn   bool // the log ended in a line cut short by a kill
}

func (sn *snapshot) view(id string) *view {
	if v := sn.views[id]; v != nil {
		return v
	}
	return &view{}
}

// readSnapshot opens the file read-only, as an offline tool would, and
// reads everything with [snapshotOf].
func readSnapshot(dbPath, logPath string) (*snapshot, error) {
	store, err := bolt.Open(dbPath, bolt.WithReadOnly(), bolt.WithTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("the store does not open: %w", err)
	}
	defer store.Close()
	e, err := engine.New(store)
	if err != nil {
		return nil, err
	}
	if err := e.Register(NewCounter(nil), pizza.Workflow, approval.Workflow); err != nil {
		return nil, err
	}
	return snapshotOf(context.Background(), e, store, logPath)
}

// snapshotOf decodes every record of the store behind e: it lists the
// instances, loads each one again with Get and decodes its state with
// Query; and it reads the outbox and the receiver log.
func snapshotOf(ctx context.Context, e *engine.Engine, store storage.Store, logPath string) (*snapshot, error) {
	sn := &snapshot{views: map[string]*view{}}
	for after := ""; ; {
		page, err := e.List(ctx, after, 50)
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		for _, listed := range page {
			v, err := viewOf(ctx, e, listed.ID)
			if err != nil {
				return nil, err
			}
			sn.views[listed.ID] = v
		}
		if len(page) < 50 {
			break
		}
		after = page[len(page)-1].ID
	}
	var err error
	if sn.outbox, err = store.Outbox(ctx, 100_000); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if sn.log, sn.torn, err = ReadLog(logPath); err != nil {
		return nil, err
	}
	return sn, nil
}

// viewOf loads instance id with Get and decodes its state with Query; an
// instance that does not exist is a view with exists false.
func viewOf(ctx context.Context, e *engine.Engine, id string) (*view, error) {
	v := &view{exists: true}
	var err error
	if v.inst, err = e.Get(ctx, id); errors.Is(err, storage.ErrNotFound) {
		return &view{}, nil
	} else if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	switch v.inst.Workflow {
	case CounterName:
		v.counter, err = engine.Query[Counter](ctx, e, id)
		v.tokens = map[string]bool{}
		for _, tok := range v.counter.Tokens {
			v.tokens[tok] = true
		}
	case pizza.Workflow.Name():
		v.order, err = engine.Query[pizza.Order](ctx, e, id)
	case approval.Workflow.Name():
		v.request, err = engine.Query[approval.Request](ctx, e, id)
	default:
		err = fmt.Errorf("unknown workflow %q", v.inst.Workflow)
	}
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	return v, nil
}

// reconcile compares what the parent knows with what is stored after a
// kill. An acknowledged command must be applied (durability); a command
// never sent must not be (no invented events); an unanswered one may be
// either, and is marked to be sent again only if it is not. The state must
// show the events of an instance applied in the order they were sent, each
// once.
func (p *plan) reconcile(sn *snapshot) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for id, v := range sn.views {
		if p.byID[id] == nil {
			bad("instance %s is stored but was never started (workflow %s)", id, v.inst.Workflow)
		}
	}
	for _, s := range p.scripts {
		v := sn.view(s.id)
		if v.exists && v.inst.Workflow != s.workflow {
			bad("%s: stored as workflow %q, want %q", s.id, v.inst.Workflow, s.workflow)
			continue
		}
		for _, c := range s.cmds {
			ok := c.applied(v)
			switch c.status {
			case acked, recovered:
				if !ok {
					bad("%s: acknowledged (status %d) but not applied in the stored state: lost", c.what, c.status)
				}
			case inFlight:
				c.status = unsent
				if ok {
					c.status = recovered
				}
			case unsent:
				if ok {
					bad("%s: never sent, but applied", c.what)
				}
			}
		}
		if !v.exists {
			continue
		}
		switch s.workflow {
		case CounterName:
			if got := v.counter.Tokens; len(got) > len(s.tokens) || !slices.Equal(got, s.tokens[:len(got)]) {
				bad("%s: the tokens are not the sent tokens in order, each once: %s", s.id, diffList(got, s.tokens))
			}
			if len(v.counter.Dups) > 0 {
				bad("%s: tokens applied twice: %q", s.id, v.counter.Dups)
			}
		case pizza.Workflow.Name():
			if got := v.order.Items; len(got) > len(s.items) || !slices.Equal(got, s.items[:len(got)]) {
				bad("%s: the items are not the added items in order, each once: %s", s.id, diffList(got, s.items))
			}
		}
	}
	problems = append(problems, checkLog(sn.log)...)
	sort.Strings(problems)
	return problems
}

// checkLog checks the receiver log on its own: every effect ID handled
// once, later deliveries identical to the first.
func checkLog(log []Entry) []string {
	var problems []string
	handled := map[string]int{}
	for i, e := range log {
		switch e.Op {
		case OpHandled:
			handled[e.ID]++
			if handled[e.ID] == 2 {
				problems = append(problems, fmt.Sprintf("receiver log line %d: effect %s handled twice", i+1, e.ID))
			}
		case OpDup:
			if handled[e.ID] == 0 {
				problems = append(problems, fmt.Sprintf("receiver log line %d: duplicate of %s, never handled", i+1, e.ID))
			}
		case OpConflict:
			problems = append(problems, fmt.Sprintf("receiver log line %d: effect ID %s delivered again with different content: %+v", i+1, e.ID, e))
		default:
			problems = append(problems, fmt.Sprintf("receiver log line %d: unknown op %q", i+1, e.Op))
		}
	}
	return problems
}

// diffList describes where got first differs from want.
func diffList(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("element %d is %q, want %q (%d elements, want %d)", i, got[i], want[i], len(got), len(want))
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("%d elements, want at most %d; extra %q", len(got), len(want), got[len(want):])
	}
	return fmt.Sprintf("%d elements, want %d; missing %q", len(got), len(want), want[len(got):])
}
