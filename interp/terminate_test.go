package interp_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

// A Terminate ends the instance whatever it waits for: every pending wait is
// torn down from the meta (a teardown for the setup, the timer and the
// activity canceled), a Terminated effect closes the stream, no workflow
// code runs (not even the cleanup section), and who and why are recorded.
func TestTerminateTearsDownEveryWait(t *testing.T) {
	cleanupRan := false
	def := dsl.MustCompile[counter]("term", dsl.S(
		dsl.Go("worker", dsl.Call("work", func(ctx context.Context, s counter) (int, error) { return 1, nil }, nil)),
		dsl.Wait("ask",
			dsl.On("m", dsl.Custom[counter, bool, string]("req", approver{})),
			dsl.On("t", dsl.After(time.Hour))),
	), dsl.OnCancel(dsl.Step("cleanup", func(s *counter) error { cleanupRan = true; return nil })))
	i := start(t, def, nil)
	before := bytes.Clone(i.state)
	i.mustApply(interp.Event{Kind: interp.EventTerminate, Reason: "stuck after deploy", By: "ops"})
	if cleanupRan {
		t.Error("the cleanup section ran for a Terminate")
	}
	i.wantStatus(interp.StatusTerminated)
	if !bytes.Equal(i.state, before) {
		t.Errorf("the state changed: %x, want %x", i.state, before)
	}
	want := &interp.Termination{Reason: "stuck after deploy", By: "ops", At: t0}
	if diff := cmp.Diff(want, i.meta.Terminated); diff != "" {
		t.Errorf("Meta.Terminated (-want +got):\n%s", diff)
	}
	if len(i.meta.Threads) != 0 || !i.meta.Due.IsZero() {
		t.Errorf("threads %v, due %v after Terminate; want none", i.meta.Threads, i.meta.Due)
	}
	var kinds []string
	for _, e := range i.effects {
		kinds = append(kinds, e.Kind.String())
	}
	if diff := cmp.Diff([]string{"teardown", "cancel-timer", "cancel-activity", "terminated"}, kinds); diff != "" {
		t.Errorf("effects (-want +got):\n%s", diff)
	}
	if last := i.effects[len(i.effects)-1]; last.Error != "stuck after deploy" {
		t.Errorf("terminated effect carries %q, want the reason", last.Error)
	}
	for _, ev := range []interp.Event{{Kind: interp.EventTerminate}, {Kind: interp.EventCancel}, {Kind: interp.EventResume}} {
		err := i.apply(ev)
		wantErr(t, err, interp.ErrFinished)
		wantErr(t, err, interp.ErrTerminated)
	}
}

// Terminate works where every other event fails: on an instance whose
// position the current definition no longer has, and one whose state no
// longer decodes.
func TestTerminateLostPosition(t *testing.T) {
	old := dsl.MustCompile[counter]("lost", dsl.Wait("ask", dsl.On("m", dsl.Custom[counter, bool, string]("req", approver{}))))
	i := start(t, old, nil)
	p := i.callback("main", "m")
	next := dsl.MustCompile[counter]("lost", dsl.Wait("renamed", dsl.On("m", dsl.Custom[counter, bool, string]("req", approver{}))))
	at := t0.Add(time.Minute)
	if _, err := interp.Apply(next, i.state, i.meta, interp.Event{Kind: interp.EventCancel, Time: at}); !errors.Is(err, interp.ErrPositionLost) {
		t.Fatalf("cancel under the new definition: %v, want ErrPositionLost", err)
	}
	for _, state := range [][]byte{i.state, {0xff}} {
		res, err := interp.Apply(next, state, i.meta, interp.Event{Kind: interp.EventTerminate, Time: at, Reason: "lost"})
		if err != nil {
			t.Fatalf("terminate of a lost instance (state %x): %v", state, err)
		}
		if res.Meta.Status != interp.StatusTerminated || len(res.Effects) != 2 ||
			res.Effects[0].Kind != interp.EffectTeardown || res.Effects[0].Callback != p.Callback || res.Effects[0].Path != "ask" {
			t.Errorf("status %v, effects %+v; want terminated with the teardown of callback %d at \"ask\"", res.Meta.Status, res.Effects, p.Callback)
		}
		if res.Effects[0].ID.Seq != i.meta.Seq+1 {
			t.Errorf("effect seq %d, want %d", res.Effects[0].ID.Seq, i.meta.Seq+1)
		}
	}
	if _, err := interp.Apply(next, nil, interp.Meta{}, interp.Event{Kind: interp.EventTerminate, Time: at}); !errors.Is(err, interp.ErrBadEvent) {
		t.Errorf("terminate of an instance never started: %v, want ErrBadEvent", err)
	}
}

// A canceling instance (its cleanup section waits) can still be
// terminated, which ends the cleanup.
func TestTerminateWhileCanceling(t *testing.T) {
	def := dsl.MustCompile[counter]("c", dsl.Wait("w", dsl.On("t", dsl.After(time.Hour))),
		dsl.OnCancel(dsl.Wait("drain", dsl.On("d", dsl.After(time.Hour)))))
	i := start(t, def, nil)
	i.mustApply(interp.Event{Kind: interp.EventCancel})
	i.wantStatus(interp.StatusCanceling)
	i.mustApply(interp.Event{Kind: interp.EventTerminate, Reason: "enough"})
	i.wantStatus(interp.StatusTerminated)
	if len(i.effects) != 2 || i.effects[0].Kind != interp.EffectCancelTimer || i.effects[0].Thread != "cancel" {
		t.Errorf("effects %+v, want the cleanup's timer canceled, then terminated", i.effects)
	}
}

// The meta codec writes Terminated as the generic encoder does and reads
// it back; a meta without it encodes as before.
func TestMetaCodecTermination(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMeta().Draw(t, "meta")
		m.Status = interp.StatusTerminated
		m.Terminated = &interp.Termination{
			Reason: rapid.String().Draw(t, "reason"),
			By:     rapid.StringMatching(`[a-z]{0,5}`).Draw(t, "by"),
			At:     unixTime(rapid.OneOf(rapid.Just(int64(0)), rapid.Int64()).Draw(t, "at")),
		}
		want, err := interp.EncodeMetaGeneric(m)
		if err != nil {
			t.Fatal(err)
		}
		got := interp.EncodeMeta(m)
		if !bytes.Equal(want, got) {
			t.Fatalf("EncodeMeta\n got %x\nwant %x", got, want)
		}
		back, err := interp.DecodeMeta(got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}
