package journal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
	"github.com/weftflow/weft/storage/memory"
)

type Order struct {
	Paid    int
	Shipped bool
}

func pay(s *Order, n int) (int, error)        { s.Paid += n; return s.Paid, nil }
func ship(s *Order, _ struct{}) (bool, error) { s.Shipped = true; return true, nil }

// orderV1 waits for payments until "ship".
var orderV1 = dsl.MustCompile[Order]("order", dsl.For("loop",
	dsl.Wait("next",
		dsl.On("pay", dsl.Signal(pay)),
		dsl.On("ship", dsl.Signal(ship), dsl.Return(true)))))

// run starts an order and sends it events, with a journal under policy.
func run(t *testing.T, policy journal.Policy, pays int, shipIt bool) *memory.Store {
	t.Helper()
	ctx := context.Background()
	store := memory.New()
	clock := engine.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	e, err := engine.New(store, engine.WithClock(clock), engine.WithJournal("order", policy))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(orderV1); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, orderV1, "o", Order{}); err != nil {
		t.Fatal(err)
	}
	for i := range pays {
		clock.Advance(time.Minute)
		if err := e.Send(ctx, "o", "pay", i+1, nil); err != nil {
			t.Fatal(err)
		}
	}
	if shipIt {
		if err := e.Send(ctx, "o", "ship", struct{}{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return store
}

func TestReplaySameDefinition(t *testing.T) {
	store := run(t, journal.Policy{}, 5, true)
	n, div, err := journal.ReplayStored(context.Background(), store, orderV1, "o")
	if err != nil || div != nil || n != 7 {
		t.Fatalf("replayed %d, divergence %v, error %v; want 7 alike", n, div, err)
	}
}

// From a trimmed journal, the replay starts at the kept snapshot.
func TestReplayFromSnapshot(t *testing.T) {
	store := run(t, journal.Policy{Keep: 4}, 30, true)
	entries, base, err := journal.ReadAll(context.Background(), store, "o")
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Seq == 1 || len(base) == 0 {
		t.Fatalf("journal not trimmed to a snapshot: first entry %d, base %d bytes", entries[0].Seq, len(base))
	}
	n, div, err := journal.Replay(orderV1, "o", base, entries)
	if err != nil || div != nil || n != len(entries) {
		t.Fatalf("replayed %d of %d, divergence %v, error %v", n, len(entries), div, err)
	}
	// Without its snapshot, a trimmed window cannot be replayed.
	if _, _, err := journal.Replay(orderV1, "o", nil, entries); !errors.Is(err, journal.ErrNoJournal) {
		t.Fatalf("replay without the snapshot: %v", err)
	}
}

// A new version that handles the recorded traffic otherwise is caught at
// the first entry where it does.
func TestReplayFindsDivergence(t *testing.T) {
	store := run(t, journal.Policy{}, 3, true)
	ctx := context.Background()

	// v2 caps payments: the third is rejected.
	capped := dsl.MustCompile[Order]("order", dsl.For("loop",
		dsl.Wait("next",
			dsl.On("pay", dsl.Signal(func(s *Order, n int) (int, error) {
				if s.Paid+n > 3 {
					return 0, errors.New("over the cap")
				}
				return pay(s, n)
			})),
			dsl.On("ship", dsl.Signal(ship), dsl.Return(true)))), dsl.Version(2))
	_, div, err := journal.ReplayStored(ctx, store, capped, "o")
	if err != nil || div == nil || div.Reason != "rejected" || div.Seq != 4 {
		t.Fatalf("capped: divergence %v, error %v; want rejected at entry 4", div, err)
	}

	// v3 no longer ends at "ship": it waits for a delivery after it.
	longer := dsl.MustCompile[Order]("order", dsl.S(
		dsl.For("loop",
			dsl.Wait("next",
				dsl.On("pay", dsl.Signal(pay)),
				dsl.On("ship", dsl.Signal(ship), dsl.Break()))),
		dsl.Wait("delivered", dsl.On("delivered", dsl.Signal(func(*Order, struct{}) (bool, error) { return true, nil })))), dsl.Version(2))
	_, div, err = journal.ReplayStored(ctx, store, longer, "o")
	if err != nil || div == nil || div.Seq != 5 || (div.Reason != "effects differ" && div.Reason != "status differs") {
		t.Fatalf("longer: divergence %v, error %v; want a difference at entry 5", div, err)
	}

	// v4 renamed the event: no thread waits for "pay" any more.
	renamed := dsl.MustCompile[Order]("order", dsl.For("loop",
		dsl.Wait("next",
			dsl.On("payment", dsl.Signal(pay)),
			dsl.On("ship", dsl.Signal(ship), dsl.Return(true)))), dsl.Version(2))
	_, div, err = journal.ReplayStored(ctx, store, renamed, "o")
	if err != nil || div == nil || div.Reason != "no such wait" || div.Seq != 2 {
		t.Fatalf("renamed: divergence %v, error %v; want no such wait at entry 2", div, err)
	}

	// v5 renamed the wait (loop/next is now loop/await) with no
	// migration. Started by v5 too, the order behaves alike (effects are
	// compared by kind, event and thread); started by v1, as a deploy
	// meets it, the order parked at loop/next has lost its position.
	moved := dsl.MustCompile[Order]("order", dsl.For("loop",
		dsl.Wait("await",
			dsl.On("pay", dsl.Signal(pay)),
			dsl.On("ship", dsl.Signal(ship), dsl.Return(true)))), dsl.Version(2))
	if n, div, err := journal.ReplayStored(ctx, store, moved, "o"); err != nil || div != nil || n != 5 {
		t.Fatalf("moved, started by itself: replayed %d, divergence %v, error %v; want 5 alike", n, div, err)
	}
	_, div, err = journal.ReplayStored(ctx, store, moved, "o", journal.StartedBy(orderV1))
	if err != nil || div == nil || div.Reason != "position lost" || div.Seq != 2 || !errors.Is(div.Err, interp.ErrPositionLost) {
		t.Fatalf("moved: divergence %v, error %v; want position lost at entry 2", div, err)
	}
	if msg := div.Error(); !strings.HasPrefix(msg, "entry #2: position lost: ") || !strings.Contains(msg, "loop/next") {
		t.Errorf("moved: divergence reads %q, want the entry, the reason and the lost position", msg)
	}
}

// A payload the journal did not keep stops the replay, saying so.
func TestReplayStopsAtUnkeptPayload(t *testing.T) {
	store := run(t, journal.Policy{Redact: journal.RedactFields("Paid")}, 2, false)
	n, div, err := journal.ReplayStored(context.Background(), store, orderV1, "o")
	if err != nil || div == nil || div.Reason != "payload not kept" || n != 0 {
		t.Fatalf("replayed %d, divergence %v, error %v", n, div, err)
	}
	if _, _, err := journal.ReplayStored(context.Background(), memory.New(), orderV1, "o"); !errors.Is(err, journal.ErrNoJournal) {
		t.Fatalf("no journal: %v", err)
	}
}

// Events sent before their wait opens (buffered) and a signal-with-start
// are journaled and replay alike.
func TestReplayBufferedAndSignalWithStart(t *testing.T) {
	ctx := context.Background()
	type Gate struct{ Opened, Paid int }
	gate := dsl.MustCompile[Gate]("gate", dsl.S(
		dsl.Wait("open", dsl.On("open", dsl.Signal(func(s *Gate, n int) (int, error) { s.Opened = n; return n, nil }))),
		dsl.Wait("pay", dsl.On("pay", dsl.Signal(func(s *Gate, n int) (int, error) { s.Paid = n; return n, nil })))))
	store := memory.New()
	e, err := engine.New(store, engine.WithJournal("", journal.Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(gate); err != nil {
		t.Fatal(err)
	}
	// "pay" arrives first: buffered until its wait opens.
	if err := e.SignalWithStart(ctx, gate, "g", Gate{}, "pay", 5); err != nil {
		t.Fatal(err)
	}
	if err := e.Send(ctx, "g", "open", 1, nil); err != nil {
		t.Fatal(err)
	}
	entries, base, err := journal.ReadAll(ctx, store, "g")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Seq != 2 || entries[0].Start == nil || entries[0].Event.Kind != "signal" || entries[0].Event.Name != "pay" || base != nil {
		t.Fatalf("journal %v", entries)
	}
	if s := entries[0].String(); !strings.Contains(s, `started with`) || !strings.Contains(s, `event "pay" sent`) {
		t.Fatalf("entry text %q", s)
	}
	n, div, err := journal.ReplayStored(ctx, store, gate, "g")
	if err != nil || div != nil || n != 2 {
		t.Fatalf("replayed %d, divergence %v, error %v", n, div, err)
	}
	// A version that no longer waits for "pay" handles the buffered event otherwise.
	noPay := dsl.MustCompile[Gate]("gate", dsl.Wait("open", dsl.On("open", dsl.Signal(func(s *Gate, n int) (int, error) { s.Opened = n; return n, nil }))), dsl.Version(2))
	if _, div, err := journal.ReplayStored(ctx, store, noPay, "g"); err != nil || div == nil {
		t.Fatalf("v2 without pay: divergence %v, error %v", div, err)
	}
}

// A terminated instance and new runs of its ID (engine.WithIDReuse) are
// journaled, and the journal replays alike.
func TestReplayTerminateAndReuse(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e, err := engine.New(store, engine.WithJournal("", journal.Policy{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(orderV1); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Start(ctx, orderV1, "o", Order{}))
	must(e.Send(ctx, "o", "pay", 3, nil))
	must(e.Terminate(ctx, "o", "customer left"))
	must(e.Start(ctx, orderV1, "o", Order{Paid: 1}, engine.WithIDReuse(engine.IDReuseAfterFinished)))
	must(e.Send(ctx, "o", "pay", 2, nil))
	must(e.Start(ctx, orderV1, "o", Order{}, engine.WithIDReuse(engine.IDReuseTerminateRunning)))
	must(e.Send(ctx, "o", "ship", struct{}{}, nil))
	entries, _, err := journal.ReadAll(ctx, store, "o")
	must(err)
	var kinds []string
	for _, en := range entries {
		kinds = append(kinds, en.Event.Kind)
	}
	if got := strings.Join(kinds, " "); got != "start callback terminate start callback start callback" {
		t.Fatalf("journal kinds %q", got)
	}
	n, div, err := journal.ReplayStored(ctx, store, orderV1, "o")
	if err != nil || div != nil || n != len(entries) {
		t.Fatalf("replayed %d of %d, divergence %v, error %v", n, len(entries), div, err)
	}
}

// A journal turned on while the instance ran is replayed from its first
// snapshot; before one, there is nothing to replay from.
func TestReplayJournalTurnedOnLate(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	clock := engine.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	plain, err := engine.New(store, engine.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Register(orderV1); err != nil {
		t.Fatal(err)
	}
	if err := plain.Start(ctx, orderV1, "o", Order{}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := plain.Send(ctx, "o", "pay", i+1, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Keep 6: a snapshot every 3 entries, at #4, #7, #10...
	journaled, err := engine.New(store, engine.WithClock(clock), engine.WithJournal("", journal.Policy{Keep: 6}))
	if err != nil {
		t.Fatal(err)
	}
	if err := journaled.Register(orderV1); err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		t.Helper()
		if err := journaled.Send(ctx, "o", "pay", n, nil); err != nil {
			t.Fatal(err)
		}
	}
	send(1) // #5
	send(2) // #6
	if _, _, err := journal.ReplayStored(ctx, store, orderV1, "o"); !errors.Is(err, journal.ErrNoJournal) {
		t.Fatalf("before a snapshot: %v, want ErrNoJournal", err)
	}
	send(3) // #7, with a snapshot
	send(4) // #8
	n, div, err := journal.ReplayStored(ctx, store, orderV1, "o")
	if err != nil || div != nil || n != 2 {
		t.Fatalf("after a snapshot: replayed %d, divergence %v, error %v; want #7 and #8 alike", n, div, err)
	}
}

// With the version that started the instance (StartedBy), a new version
// meets it at its next event, through its migration; without, the new
// version starts it too, and one that begins differently differs at once.
func TestReplayStartedBy(t *testing.T) {
	store := run(t, journal.Policy{}, 2, true)
	ctx := context.Background()
	// v2 greets new orders with a one-hour intro before the same loop.
	v2 := dsl.MustCompile[Order]("order", dsl.S(
		dsl.Wait("intro", dsl.On("skip", dsl.Signal(func(*Order, struct{}) (bool, error) { return true, nil })),
			dsl.On("later", dsl.After(time.Hour))),
		dsl.For("loop", dsl.Wait("next",
			dsl.On("pay", dsl.Signal(pay)),
			dsl.On("ship", dsl.Signal(ship), dsl.Return(true))))), dsl.Version(2))
	_, div, err := journal.ReplayStored(ctx, store, v2, "o")
	if err != nil || div == nil || div.Seq != 1 || div.Reason != "effects differ" {
		t.Fatalf("v2 starting the order: divergence %v, error %v; want effects differ at #1", div, err)
	}
	n, div, err := journal.ReplayStored(ctx, store, v2, "o", journal.StartedBy(orderV1))
	if err != nil || div != nil || n != 4 {
		t.Fatalf("v1 starting, v2 going on: replayed %d, divergence %v, error %v; want 4 alike", n, div, err)
	}
}
