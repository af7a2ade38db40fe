package interp_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

func effectLines(es []interp.Effect) []string {
	var out []string
	for _, e := range es {
		s := e.Kind.String()
		if e.Event != "" {
			s += " " + e.Event
		}
		out = append(out, s)
	}
	return out
}

// Events sent before their wait opens are buffered in order and taken by
// the waits that open later, oldest first; the wait's timer is never
// started when a buffered event answers it at once.
func TestSignalBuffersUntilAWaitOpens(t *testing.T) {
	def := dsl.MustCompile[ledger]("inbox", dsl.S(
		dsl.Wait("first", dsl.On("first", ledgerSignal("first"))),
		dsl.For("twice", dsl.Wait("second", dsl.On("late", ledgerSignal("late")), dsl.On("timeout", dsl.After(time.Hour))),
			dsl.If("enough", func(s *ledger) bool { return len(s.Log) >= 3 }, dsl.Break())),
	))
	i := start(t, def, nil)
	i.mustSignal("late", 2)
	i.mustSignal("late", 3)
	if got := len(i.meta.Inbox); got != 2 {
		t.Fatalf("inbox holds %d events, want 2", got)
	}
	i.mustSignal("first", 1) // a wait takes it directly; the loop then takes both buffered events
	if diff := cmp.Diff([]string{"reply first", "reply late", "reply late", "completed"}, effectLines(i.effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	var s ledger
	if err := decodeInto(i.state, &s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"first", "late", "late"}, s.Log); diff != "" {
		t.Errorf("handlers ran (-want +got):\n%s", diff)
	}
	if s.N != 6 {
		t.Errorf("N = %d, want 6 (1, then 2 and 3 in order)", s.N)
	}
	i.wantStatus(interp.StatusCompleted)
}

// The first of several waits to open takes the buffered event: here the
// thread started first parks first.
func TestBufferedEventGoesToTheFirstWaitToOpen(t *testing.T) {
	def := dsl.MustCompile[ledger]("inbox-threads", dsl.S(
		dsl.Wait("gate", dsl.On("open", ledgerSignal("open"))),
		dsl.Go("b", dsl.Wait("wb", dsl.On("x", ledgerSignal("b")))),
		dsl.Go("a", dsl.Wait("wa", dsl.On("x", ledgerSignal("a")))),
		dsl.Join("all", "a", "b"),
	))
	i := start(t, def, nil)
	i.mustSignal("x", 1)
	i.mustSignal("open", 0)
	var s ledger
	if err := decodeInto(i.state, &s); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"open", "b"}, s.Log); diff != "" {
		t.Errorf("handlers ran (-want +got):\n%s", diff)
	}
	i.wantPositions("a@a/wa:waiting", "main@all:waiting")
}

func TestSignalRefusals(t *testing.T) {
	i := start(t, inboxDef(), nil)
	if err := i.signal("nobody", 1); !errors.Is(err, interp.ErrUnknownEvent) {
		t.Errorf("unknown event: got %v, want ErrUnknownEvent", err)
	}
	if err := i.apply(interp.Event{Kind: interp.EventSignal}); !errors.Is(err, interp.ErrBadEvent) {
		t.Errorf("no name: got %v, want ErrBadEvent", err)
	}
	for range 2 {
		if err := i.apply(interp.Event{Kind: interp.EventSignal, Name: "late", InboxLimit: 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := i.apply(interp.Event{Kind: interp.EventSignal, Name: "late", InboxLimit: 2}); !errors.Is(err, interp.ErrInboxFull) {
		t.Errorf("third event with a limit of 2: got %v, want ErrInboxFull", err)
	}
	// A waiting thread takes the event whatever the inbox holds.
	one, _ := codec.Marshal(1)
	if err := i.apply(interp.Event{Kind: interp.EventSignal, Name: "first", InboxLimit: 2, Payload: one}); err != nil {
		t.Errorf("event a thread waits for, inbox full: %v", err)
	}
}

// A buffered payload the handler refuses is dropped and reported, and
// the state is as before the handler ran; the next buffered event is taken.
func TestBufferedEventRefusedByTheHandlerIsDropped(t *testing.T) {
	def := dsl.MustCompile[ledger]("inbox-refuse", dsl.S(
		dsl.Wait("first", dsl.On("first", ledgerSignal("first"))),
		dsl.Wait("second", dsl.On("n", dsl.Signal(func(s *ledger, n int) (int, error) {
			s.N += 100
			if n < 0 {
				return 0, errors.New("negative")
			}
			s.N += n - 100
			return s.N, nil
		}))),
	))
	i := start(t, def, nil)
	i.mustSignal("n", -1)
	i.mustSignal("n", 5)
	i.mustSignal("first", 1)
	if diff := cmp.Diff([]string{"reply first", "dropped n", "reply n", "completed"}, effectLines(i.effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if e := i.effects[1]; !strings.Contains(e.Error, "negative") {
		t.Errorf("dropped effect's error %q does not say why", e.Error)
	}
	var s ledger
	if err := decodeInto(i.state, &s); err != nil {
		t.Fatal(err)
	}
	if s.N != 6 {
		t.Errorf("N = %d, want 6: the refused handler's change must be undone", s.N)
	}
}

// Events left in the inbox when the instance finishes are dropped with a
// dropped effect each, before the finishing effect.
func TestFinishDropsTheInbox(t *testing.T) {
	def := dsl.MustCompile[ledger]("inbox-finish", dsl.S(
		dsl.Wait("first", dsl.On("first", ledgerSignal("first")), dsl.On("quit", ledgerSignal("quit"), dsl.Return("quit"))),
		dsl.Wait("second", dsl.On("late", ledgerSignal("late"))),
	))
	i := start(t, def, nil)
	i.mustSignal("late", 1)
	i.mustSignal("late", 2)
	i.mustSignal("quit", 0)
	if diff := cmp.Diff([]string{"reply quit", "dropped late", "dropped late", "completed"}, effectLines(i.effects)); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if len(i.meta.Inbox) != 0 {
		t.Errorf("a finished instance keeps %d buffered events", len(i.meta.Inbox))
	}
}

// After a migration, buffered events no wait of the new version takes are
// dropped; one a parked wait now takes (its event was renamed to the
// buffered name) is delivered to it.
func TestMigrationAndTheInbox(t *testing.T) {
	v1 := dsl.MustCompile[ledger]("inbox-mig", dsl.S(
		dsl.Wait("first", dsl.On("first", ledgerSignal("first"))),
		dsl.Wait("second", dsl.On("gone", ledgerSignal("gone")), dsl.On("kept", ledgerSignal("kept"))),
	))
	v2 := dsl.MustCompile[ledger]("inbox-mig", dsl.S(
		dsl.Wait("first", dsl.On("kept", ledgerSignal("kept early"))),
		dsl.Wait("second", dsl.On("kept", ledgerSignal("kept"))),
	), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"first/first": "first/kept"}}))
	i := start(t, v1, nil)
	i.mustSignal("gone", 1)
	i.mustSignal("kept", 2)
	up, err := interp.Upgrade(v2, i.state, i.meta)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"dropped gone"}, effectLines(up.Effects)); diff != "" {
		t.Errorf("upgrade effects (-want +got):\n%s", diff)
	}
	i.def = v2
	if err := i.resume(0); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"dropped gone", "reply kept"}, effectLines(i.effects)); diff != "" {
		t.Errorf("effects of the migrating resume (-want +got):\n%s", diff)
	}
	i.wantPositions("main@second:waiting")
}

func decodeInto(state []byte, s *ledger) error { return codec.Unmarshal(state, s) }
