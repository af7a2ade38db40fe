package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// outcome is what a faultyStore does with one write.
type outcome int

const (
	writeOK      outcome = iota
	writeLost            // not applied, reported as outcome unknown
	writeApplied         // applied, reported as outcome unknown
)

func (o outcome) String() string { return [...]string{"ok", "lost", "applied"}[o] }

// faultyStore is a memory store whose Create and Commit follow a plan: each
// write takes the next outcome (writeOK once the plan is used up). Both
// faults return an error wrapping storage.ErrOutcomeUnknown, as a store
// whose connection broke during the commit does.
type faultyStore struct {
	storage.Store
	mu   sync.Mutex
	plan []outcome
}

func (s *faultyStore) then(o ...outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan = append(s.plan, o...)
}

// replan replaces the faults still planned with o.
func (s *faultyStore) replan(o ...outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan = append(s.plan[:0], o...)
}

func (s *faultyStore) next() outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.plan) == 0 {
		return writeOK
	}
	o := s.plan[0]
	s.plan = s.plan[1:]
	return o
}

func (s *faultyStore) unknown(op, id string) error {
	return fmt.Errorf("storage: %s %q: connection reset during commit: %w", op, id, storage.ErrOutcomeUnknown)
}

func (s *faultyStore) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	switch s.next() {
	case writeLost:
		return 0, s.unknown("create", inst.ID)
	case writeApplied:
		if _, err := s.Store.Create(ctx, inst, effects); err != nil {
			return 0, err
		}
		return 0, s.unknown("create", inst.ID)
	}
	return s.Store.Create(ctx, inst, effects)
}

func (s *faultyStore) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	switch s.next() {
	case writeLost:
		return 0, s.unknown("commit", c.Instance.ID)
	case writeApplied:
		if _, err := s.Store.Commit(ctx, c); err != nil {
			return 0, err
		}
		return 0, s.unknown("commit", c.Instance.ID)
	}
	return s.Store.Commit(ctx, c)
}

// The adversarial workflow: it waits for "item" again and again, so an
// event applied twice, or applied to the next wait, shows in Items.
type Journal struct{ Items []string }

var journalWF = dsl.MustCompile[Journal]("journal", dsl.For("loop",
	dsl.Wait("next",
		dsl.On("item", dsl.Signal(func(s *Journal, item string) (int, error) {
			s.Items = append(s.Items, item)
			return len(s.Items), nil
		})),
		dsl.On("big", dsl.Signal(func(s *Journal, n int) (string, error) {
			s.Items = append(s.Items, fmt.Sprint("big ", n))
			return strings.Repeat("r", n), nil
		})),
	)))

func newFaultyEnv(t *testing.T, defs ...*dsl.Definition) (*env, *faultyStore) {
	t.Helper()
	mem := memory.New()
	fs := &faultyStore{Store: mem}
	v := &env{t: t, ctx: t.Context(), store: mem, clock: engine.NewFakeClock(t0)}
	v.e = newEngine(t, fs, engine.WithClock(v.clock))
	if err := v.e.Register(defs...); err != nil {
		t.Fatal(err)
	}
	return v, fs
}

func (v *env) items(id string) []string {
	v.t.Helper()
	s, err := engine.Query[Journal](v.ctx, v.e, id)
	if err != nil {
		v.t.Fatal(err)
	}
	return s.Items
}

// wantUnknown checks that err is an *OutcomeUnknownError of op that also
// matches storage.ErrOutcomeUnknown, and returns it.
func wantUnknown(t *testing.T, err error, op string) *engine.OutcomeUnknownError {
	t.Helper()
	var u *engine.OutcomeUnknownError
	if !errors.As(err, &u) || !errors.Is(err, engine.ErrOutcomeUnknown) || !errors.Is(err, storage.ErrOutcomeUnknown) {
		t.Fatalf("error %v (%T), want an *OutcomeUnknownError matching both sentinels", err, err)
	}
	if u.Op != op {
		t.Fatalf("OutcomeUnknownError.Op = %q, want %q", u.Op, op)
	}
	return u
}

// A keyed Send whose commit's outcome is unknown, retried with the same
// key, is applied exactly once, to the wait it was meant for, whether the
// first commit was lost or applied; the retry returns the first reply.
func TestSendKeyedRetryAfterUnknownOutcome(t *testing.T) {
	for _, fault := range []outcome{writeLost, writeApplied} {
		t.Run(fault.String(), func(t *testing.T) {
			v, fs := newFaultyEnv(t, journalWF)
			v.start(journalWF, "j", Journal{})
			want := pending(t, v.get("j"), "item").Callback

			fs.then(fault)
			var n int
			err := v.e.Send(v.ctx, "j", "item", "a", &n, engine.IdempotencyKey("item-a"))
			u := wantUnknown(t, err, "send")
			if u.Instance != "j" || u.Event != "item" || u.Callback != want || u.Key != "item-a" {
				t.Fatalf("OutcomeUnknownError = %+v, want instance j, event item, callback %d, key item-a", u, want)
			}

			if err := v.e.Send(v.ctx, "j", "item", "a", &n, engine.IdempotencyKey("item-a")); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if n != 1 {
				t.Fatalf("retry's reply = %d, want 1 (the first send's)", n)
			}
			// Retrying again changes nothing either.
			if err := v.e.Send(v.ctx, "j", "item", "a", nil, engine.IdempotencyKey("item-a")); err != nil {
				t.Fatalf("second retry: %v", err)
			}
			if err := v.e.Send(v.ctx, "j", "item", "b", &n, engine.IdempotencyKey("item-b")); err != nil {
				t.Fatal(err)
			}
			if got := v.items("j"); !slices.Equal(got, []string{"a", "b"}) || n != 2 {
				t.Fatalf("items = %q, reply %d, want [a b] and 2", got, n)
			}
		})
	}
}

// Without a key, retrying Send after an applied-but-unknown commit applies
// the event to the next wait: the hazard keys exist for. (If this test
// fails, Send has learned to de-duplicate by itself, and the docs must
// change.)
func TestSendUnkeyedRetryAppliesTwice(t *testing.T) {
	v, fs := newFaultyEnv(t, journalWF)
	v.start(journalWF, "j", Journal{})
	fs.then(writeApplied)
	wantUnknown(t, v.e.Send(v.ctx, "j", "item", "a", nil), "send")
	if err := v.e.Send(v.ctx, "j", "item", "a", nil); err != nil {
		t.Fatal(err)
	}
	if got := v.items("j"); !slices.Equal(got, []string{"a", "a"}) {
		t.Fatalf("items = %q, want the naive retry applied twice", got)
	}
}

// The keyless recipe: retry with Deliver and the error's Callback. It can
// only answer that wait: nil when the first commit was lost,
// ErrDuplicateCallback when it was applied; never the next wait.
func TestSendRetryWithDeliverAfterUnknownOutcome(t *testing.T) {
	for _, fault := range []outcome{writeLost, writeApplied} {
		t.Run(fault.String(), func(t *testing.T) {
			v, fs := newFaultyEnv(t, journalWF)
			v.start(journalWF, "j", Journal{})
			fs.then(fault)
			u := wantUnknown(t, v.e.Send(v.ctx, "j", "item", "a", nil), "send")
			err := v.e.Deliver(v.ctx, "j", u.Callback, "a", nil)
			switch fault {
			case writeLost:
				if err != nil {
					t.Fatalf("Deliver after a lost commit: %v, want nil", err)
				}
			case writeApplied:
				if !errors.Is(err, interp.ErrDuplicateCallback) {
					t.Fatalf("Deliver after an applied commit: %v, want ErrDuplicateCallback", err)
				}
			}
			if got := v.items("j"); !slices.Equal(got, []string{"a"}) {
				t.Fatalf("items = %q, want [a]", got)
			}
		})
	}
}

// Deliver itself reports an unknown outcome with its callback, and its
// retry is the same call.
func TestDeliverRetryAfterUnknownOutcome(t *testing.T) {
	for _, fault := range []outcome{writeLost, writeApplied} {
		t.Run(fault.String(), func(t *testing.T) {
			v, fs := newFaultyEnv(t, journalWF)
			v.start(journalWF, "j", Journal{})
			cb := pending(t, v.get("j"), "item").Callback
			fs.then(fault)
			err := v.e.Deliver(v.ctx, "j", cb, "a", nil)
			if u := wantUnknown(t, err, "deliver"); u.Callback != cb {
				t.Fatalf("Callback = %d, want %d", u.Callback, cb)
			}
			err = v.e.Deliver(v.ctx, "j", cb, "a", nil)
			if (fault == writeLost && err != nil) || (fault == writeApplied && !errors.Is(err, interp.ErrDuplicateCallback)) {
				t.Fatalf("retry after a %s commit: %v", fault, err)
			}
			if got := v.items("j"); !slices.Equal(got, []string{"a"}) {
				t.Fatalf("items = %q, want [a]", got)
			}
		})
	}
}

// Start and Cancel: the retry recipes of OutcomeUnknownError.
func TestStartAndCancelAfterUnknownOutcome(t *testing.T) {
	for _, fault := range []outcome{writeLost, writeApplied} {
		t.Run(fault.String(), func(t *testing.T) {
			v, fs := newFaultyEnv(t, journalWF)
			fs.then(fault)
			wantUnknown(t, v.e.Start(v.ctx, journalWF, "j", Journal{}), "start")
			err := v.e.Start(v.ctx, journalWF, "j", Journal{})
			if (fault == writeLost && err != nil) || (fault == writeApplied && !errors.Is(err, engine.ErrExists)) {
				t.Fatalf("Start again after a %s create: %v", fault, err)
			}

			fs.then(fault)
			wantUnknown(t, v.e.Cancel(v.ctx, "j"), "cancel")
			err = v.e.Cancel(v.ctx, "j")
			if fault == writeLost && err != nil {
				t.Fatalf("Cancel again after a lost commit: %v", err)
			}
			if fault == writeApplied && !errors.Is(err, interp.ErrFinished) && !errors.Is(err, interp.ErrBadEvent) {
				t.Fatalf("Cancel again after an applied commit: %v, want ErrFinished or ErrBadEvent", err)
			}
			v.wantStatus("j", interp.StatusCanceled)
		})
	}
}

// A keyed send that finished the instance: its retry still succeeds, with
// the reply, rather than report the instance finished.
func TestSendKeyedRetryAfterFinish(t *testing.T) {
	v, fs := newFaultyEnv(t, approvalWF)
	v.start(approvalWF, "r", Approval{User: "ada"})
	fs.then(writeApplied)
	var reply string
	key := engine.IdempotencyKey("decision-1")
	wantUnknown(t, v.e.Send(v.ctx, "r", "decide", Decision{Approve: true}, &reply, key), "send")
	if err := v.e.Send(v.ctx, "r", "decide", Decision{Approve: true}, &reply, key); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if reply != "noted for ada" {
		t.Fatalf("reply = %q", reply)
	}
	v.wantStatus("r", interp.StatusCompleted)
	// Another key is a new event, which a finished instance refuses.
	wantErr(t, v.e.Send(v.ctx, "r", "decide", Decision{Approve: true}, nil, engine.IdempotencyKey("decision-2")), interp.ErrFinished)
}

// Keys are checked: empty, too long, or reused for another event.
func TestIdempotencyKeyErrors(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{journalWF})
	v.start(journalWF, "j", Journal{})
	for _, k := range []string{"", strings.Repeat("k", engine.MaxKeyLen+1)} {
		wantErr(t, v.e.Send(v.ctx, "j", "item", "x", nil, engine.IdempotencyKey(k)), engine.ErrInvalidKey)
	}
	if err := v.e.Send(v.ctx, "j", "item", "x", nil, engine.IdempotencyKey(strings.Repeat("k", engine.MaxKeyLen))); err != nil {
		t.Fatal(err)
	}
	if err := v.e.Send(v.ctx, "j", "item", "y", nil, engine.IdempotencyKey("k1")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, v.e.Send(v.ctx, "j", "big", 3, nil, engine.IdempotencyKey("k1")), engine.ErrInvalidKey)
	if got := v.items("j"); !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("items = %q, want [x y]", got)
	}
	// A nil option is ignored.
	if err := v.e.Send(v.ctx, "j", "item", "z", nil, nil); err != nil {
		t.Fatal(err)
	}
}

// The instance keeps its last KeysKept keys: a retry within them is
// recognized, an older key is not (and is applied again, as documented).
func TestIdempotencyKeysKept(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{journalWF})
	v.start(journalWF, "j", Journal{})
	for i := range engine.KeysKept + 1 {
		if err := v.e.Send(v.ctx, "j", "item", fmt.Sprint(i), nil, engine.IdempotencyKey(fmt.Sprint("k", i))); err != nil {
			t.Fatal(err)
		}
	}
	n := len(v.items("j"))
	// k1 .. kKeysKept are kept: retries apply nothing.
	for i := 1; i <= engine.KeysKept; i++ {
		if err := v.e.Send(v.ctx, "j", "item", "again", nil, engine.IdempotencyKey(fmt.Sprint("k", i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(v.items("j")); got != n {
		t.Fatalf("retries of kept keys applied %d events", got-n)
	}
	// k0 was dropped.
	if err := v.e.Send(v.ctx, "j", "item", "again", nil, engine.IdempotencyKey("k0")); err != nil {
		t.Fatal(err)
	}
	if got := len(v.items("j")); got != n+1 {
		t.Fatalf("a dropped key applied %d events, want 1", got-n)
	}
	// Unkeyed events and other instances keep the keys too.
	if err := v.e.Send(v.ctx, "j", "item", "plain", nil); err != nil {
		t.Fatal(err)
	}
	if err := v.e.Send(v.ctx, "j", "item", "again", nil, engine.IdempotencyKey(fmt.Sprint("k", engine.KeysKept))); err != nil {
		t.Fatal(err)
	}
	if got := len(v.items("j")); got != n+2 {
		t.Fatalf("the key did not survive an unkeyed event: %d events", got-n)
	}
}

// A reply larger than MaxKeptReply is not kept: a retry that asks for it
// learns the event was applied (ErrReplyUndecodable), one that does not
// gets nil.
func TestIdempotencyKeyLargeReply(t *testing.T) {
	v, fs := newFaultyEnv(t, journalWF)
	v.start(journalWF, "j", Journal{})
	var small, large string
	if err := v.e.Send(v.ctx, "j", "big", 10, &small, engine.IdempotencyKey("small")); err != nil {
		t.Fatal(err)
	}
	fs.then(writeApplied)
	wantUnknown(t, v.e.Send(v.ctx, "j", "big", engine.MaxKeptReply+1, &large, engine.IdempotencyKey("large")), "send")
	small = ""
	if err := v.e.Send(v.ctx, "j", "big", 10, &small, engine.IdempotencyKey("small")); err != nil || small != strings.Repeat("r", 10) {
		t.Fatalf("retry of small = %v, reply %q", err, small)
	}
	wantErr(t, v.e.Send(v.ctx, "j", "big", engine.MaxKeptReply+1, &large, engine.IdempotencyKey("large")), engine.ErrReplyUndecodable)
	if err := v.e.Send(v.ctx, "j", "big", engine.MaxKeptReply+1, nil, engine.IdempotencyKey("large")); err != nil {
		t.Fatal(err)
	}
	if got := v.items("j"); len(got) != 2 {
		t.Fatalf("items = %q, want two", got)
	}
}

// The property: for any sequence of events, each sent with a random run
// of lost and applied commits before the store answers, retrying by the
// recipe (a keyed Send with the same key, or Deliver with the callback of
// the first unknown outcome) applies each event exactly once, in order,
// and never to another wait.
func TestPropertyRetryAfterUnknownOutcome(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		fs := &faultyStore{Store: memory.New()}
		e, err := engine.New(fs, engine.WithClock(engine.NewFakeClock(t0)))
		if err != nil {
			rt.Fatal(err)
		}
		if err := e.Register(journalWF); err != nil {
			rt.Fatal(err)
		}
		ctx := context.Background()
		if err := e.Start(ctx, journalWF, "j", Journal{}); err != nil {
			rt.Fatal(err)
		}
		genOutcome := rapid.SampledFrom([]outcome{writeLost, writeApplied})
		n := rapid.IntRange(1, 12).Draw(rt, "events")
		var want []string
		for i := range n {
			item := fmt.Sprint("item-", i)
			keyed := rapid.Bool().Draw(rt, "keyed")
			// This event's faults only: an event applied by a retry that
			// wrote nothing (a duplicate callback) leaves some unused,
			// and those piled up past the attempts allowed below.
			fs.replan(rapid.SliceOfN(genOutcome, 0, 4).Draw(rt, "faults")...)
			applied := false // by a retry's answer
			var first *engine.OutcomeUnknownError
			for attempt := 0; !applied; attempt++ {
				if attempt > 10 {
					rt.Fatalf("%s: not applied after %d attempts", item, attempt)
				}
				var err error
				var reply int
				switch {
				case keyed:
					err = e.Send(ctx, "j", "item", item, &reply, engine.IdempotencyKey(item))
				case first == nil:
					err = e.Send(ctx, "j", "item", item, &reply)
				default:
					err = e.Deliver(ctx, "j", first.Callback, item, nil)
					if errors.Is(err, interp.ErrDuplicateCallback) {
						err, reply = nil, len(want)+1
					}
				}
				var u *engine.OutcomeUnknownError
				switch {
				case errors.As(err, &u):
					if first == nil {
						first = u
					}
				case err != nil:
					rt.Fatalf("%s attempt %d: %v", item, attempt, err)
				default:
					applied = true
					if keyed && reply != len(want)+1 {
						rt.Fatalf("%s: reply %d, want %d", item, reply, len(want)+1)
					}
				}
			}
			want = append(want, item)
		}
		s, err := engine.Query[Journal](ctx, e, "j")
		if err != nil {
			rt.Fatal(err)
		}
		if !slices.Equal(s.Items, want) {
			rt.Fatalf("items = %q, want %q", s.Items, want)
		}
	})
}
