package planted_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// Every check here is meant to fail; keep rapid from saving fail files.
	if err := flag.Set("rapid.nofailfile", "true"); err != nil {
		panic(err)
	}
	// A planted test asserts which invariant fires, not how small rapid
	// makes the failing run: minimizing each failure for up to rapid's
	// default 30 seconds was most of this package's time under -race
	// (5m58s against 2m14s with 2 seconds, every test still caught).
	if f := flag.Lookup("rapid.shrinktime"); f.Value.String() == f.DefValue {
		if err := flag.Set("rapid.shrinktime", "2s"); err != nil {
			panic(err)
		}
	}
	// Each planted bug must be found within rapid's default budget of 100
	// checks, which -short would cut to 20.
	if testing.Short() && flag.Lookup("rapid.checks").Value.String() == "100" {
		if err := flag.Set("rapid.checks", "500"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// wantCaught runs check and asserts it failed with invariant inv.
func wantCaught(t *testing.T, inv string, check func(tb *simulate.Recorder)) {
	t.Helper()
	r := &simulate.Recorder{TestName: t.Name()}
	check(r)
	if !r.Failed() {
		t.Fatalf("the simulator missed the planted bug (want %q to fire)", inv)
	}
	msg := r.Report()
	if !strings.Contains(msg, "invariant broken: "+inv) {
		t.Fatalf("the simulator reported the wrong invariant; want %q, got:\n%s", inv, msg)
	}
	t.Logf("caught, as expected:\n%s", firstLines(msg, 12))
}

func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

type tally struct {
	Votes map[string]int
	Order []string
	Seen  int
}

func vote() dsl.Trigger {
	return dsl.Signal(func(s *tally, who string) (int, error) {
		if s.Votes == nil {
			s.Votes = map[string]int{}
		}
		s.Votes[who+"x"]++
		return len(s.Votes), nil
	})
}

// A step that iterates a map and writes the order into the state.
func TestMapIteration(t *testing.T) {
	def := dsl.MustCompile[tally]("map order", dsl.S(
		dsl.Step("seed", func(s *tally) error {
			s.Votes = map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8}
			return nil
		}),
		dsl.For("rounds",
			dsl.Wait("ballot", dsl.On("vote", vote()), dsl.On("close", dsl.After(time.Hour), dsl.Break())),
			dsl.Step("rank", func(s *tally) error {
				s.Order = s.Order[:0]
				for k := range s.Votes { // the bug: Go randomises map order
					s.Order = append(s.Order, k)
				}
				return nil
			}),
		),
	))
	wantCaught(t, simulate.InvDeterminism, func(tb *simulate.Recorder) {
		simulate.Check(tb, def, simulate.Options[tally]{})
	})

	// The fix passes.
	fixed := dsl.MustCompile[tally]("map order", dsl.S(
		dsl.For("rounds",
			dsl.Wait("ballot", dsl.On("vote", vote()), dsl.On("close", dsl.After(time.Hour), dsl.Break())),
			dsl.Step("rank", func(s *tally) error {
				s.Order = s.Order[:0]
				for k := range s.Votes {
					s.Order = append(s.Order, k)
				}
				sort.Strings(s.Order)
				return nil
			}),
		),
	))
	simulate.Check(t, fixed, simulate.Options[tally]{})
}

type stamp struct {
	At    int64
	Count int
}

// A step that reads the wall clock.
func TestWallClock(t *testing.T) {
	def := dsl.MustCompile[stamp]("clock", dsl.S(
		dsl.Wait("go", dsl.On("go", dsl.Signal(func(s *stamp, _ bool) (bool, error) { s.Count++; return true, nil }))),
		dsl.Step("stamp", func(s *stamp) error { s.At = time.Now().UnixNano(); return nil }),
	))
	wantCaught(t, simulate.InvDeterminism, func(tb *simulate.Recorder) {
		simulate.Check(tb, def, simulate.Options[stamp]{})
	})
}

// A handler that keeps state outside the interpreter's copy: a package
// counter instead of a field of the state.
var calls int

func TestHandlerStateOutsideTheInterpreter(t *testing.T) {
	def := dsl.MustCompile[stamp]("leak", dsl.For("loop",
		dsl.Wait("tick", dsl.On("tick", dsl.Signal(func(s *stamp, _ int) (int, error) {
			calls++ // the bug: this survives across transitions and replays
			s.Count = calls
			return s.Count, nil
		})), dsl.On("stop", dsl.After(time.Hour), dsl.Break())),
	))
	wantCaught(t, simulate.InvDeterminism, func(tb *simulate.Recorder) {
		simulate.Check(tb, def, simulate.Options[stamp]{})
	})
}

type order struct {
	Items []string
	Paid  bool
}

func add() dsl.Trigger {
	return dsl.Signal(func(s *order, item string) (int, error) { s.Items = append(s.Items, item); return len(s.Items), nil })
}

// A definition change that removes a wait where instances are parked,
// without a migration.
func TestUpgradeRemovesParkedWait(t *testing.T) {
	v1 := dsl.MustCompile[order]("shop", dsl.S(
		dsl.Wait("cart", dsl.On("add", add())),
		dsl.Wait("payment", dsl.On("pay", dsl.Signal(func(s *order, ok bool) (bool, error) { s.Paid = ok; return ok, nil }))),
	))
	v2 := dsl.MustCompile[order]("shop", dsl.S( // "cart" is gone
		dsl.Wait("payment", dsl.On("pay", dsl.Signal(func(s *order, ok bool) (bool, error) { s.Paid = ok; return ok, nil }))),
	))
	wantCaught(t, simulate.InvPositions, func(tb *simulate.Recorder) {
		simulate.Check(tb, v1, simulate.Options[order]{Upgrade: v2})
	})
	// Inserting a step instead is safe.
	v3 := dsl.MustCompile[order]("shop", dsl.S(
		dsl.Wait("cart", dsl.On("add", add())),
		dsl.Step("audit", func(*order) error { return nil }),
		dsl.Wait("payment", dsl.On("pay", dsl.Signal(func(s *order, ok bool) (bool, error) { s.Paid = ok; return ok, nil }))),
	))
	simulate.Check(t, v1, simulate.Options[order]{Upgrade: v3})
}

type request struct{ Answer string }

type asker struct{}

func (asker) Handle(s *request, a string) (string, error) { s.Answer = a; return "ok", nil }
func (asker) Setup(s *request) any                        { return "please answer" }

var askWF = dsl.MustCompile[request]("ask", dsl.S(
	dsl.Wait("question",
		dsl.On("answer", dsl.Custom[request, string, string]("ask", asker{})),
		dsl.On("expire", dsl.After(time.Hour)),
	),
	dsl.Call("record", func(ctx context.Context, s request) (string, error) { return "recorded " + s.Answer, nil },
		func(s *request, r string) { s.Answer = r }),
))

// lossy is a storage adapter that loses the outbox entries of its last
// commit when the process crashes, as one that acknowledged a commit before
// its outbox write was durable would.
type lossy struct {
	storage.Store
	last []string
}

func (l *lossy) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	v, err := l.Store.Commit(ctx, c)
	if err == nil {
		l.last = l.last[:0]
		for _, e := range c.Effects {
			l.last = append(l.last, e.ID)
		}
	}
	return v, err
}

func (l *lossy) Crash() { _ = l.Store.Ack(context.Background(), l.last...) }

func TestAdapterDropsOutboxOnCrash(t *testing.T) {
	wantCaught(t, simulate.InvEffects, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Store: func(s storage.Store) storage.Store { return &lossy{Store: s} },
		})
	})
}

// ackFirst is a host that tells the caller an event is accepted before it
// is committed: when the commit then fails, the caller has been lied to.
type ackFirst struct{ simulate.Host }

func (h ackFirst) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	res, err := h.Host.Apply(ctx, id, ev)
	if errors.Is(err, simulate.ErrCrash) {
		return res, nil // the bug: the acknowledgement went out before the commit
	}
	return res, err
}

func TestHostAcknowledgesBeforeCommit(t *testing.T) {
	wantCaught(t, simulate.InvLostEvent, func(tb *simulate.Recorder) {
		simulate.Check(tb, askWF, simulate.Options[request]{
			Host: func(h simulate.Host) simulate.Host { return ackFirst{h} },
		})
	})
}

// A handler that panics on some payloads: the panic rejects the event, and
// the simulator reports it rather than treating it as a validation error.
func TestPanickingHandler(t *testing.T) {
	def := dsl.MustCompile[stamp]("panics", dsl.For("loop",
		dsl.Wait("tick", dsl.On("tick", dsl.Signal(func(s *stamp, n int) (int, error) {
			if n > 5 {
				var m map[int]int
				m[n] = n // the bug: a nil map
			}
			s.Count += n
			return s.Count, nil
		})), dsl.On("stop", dsl.After(time.Hour), dsl.Break())),
	))
	wantCaught(t, simulate.InvPanic, func(tb *simulate.Recorder) {
		simulate.Check(tb, def, simulate.Options[stamp]{})
	})
}

// A step that reads a package variable the process sets at startup (a
// config loaded once, a build number): each run is deterministic on its
// own, but a restart with another value changes what the workflow does.
// Only the replay on a fresh host sees it.
var generation int

func TestStartupStateOutsideTheWorkflow(t *testing.T) {
	def := dsl.MustCompile[stamp]("config", dsl.S(
		dsl.Wait("go", dsl.On("go", dsl.Signal(func(s *stamp, _ bool) (bool, error) { return true, nil }))),
		dsl.Step("read config", func(s *stamp) error { s.Count = generation; return nil }),
	))
	wantCaught(t, simulate.InvReplay, func(tb *simulate.Recorder) {
		simulate.Check(tb, def, simulate.Options[stamp]{
			// Every simulated host starts a new "process".
			Store: func(s storage.Store) storage.Store { generation++; return s },
		})
	})
}
