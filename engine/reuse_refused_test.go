package engine_test

import (
	"bytes"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// reuseCases are the two ways a Start replaces a run: over a finished one
// (the journal canceled first), and over a running one, terminated in the
// same commit.
var reuseCases = []struct {
	name   string
	policy engine.IDReusePolicy
	finish bool // cancel the old run first
}{
	{"after-finished", engine.IDReuseAfterFinished, true},
	{"terminate-running", engine.IDReuseTerminateRunning, false},
}

// A new run that cannot start (its state is over the limit) is refused
// with a *TooLargeError, and the old run is left as it was: a running one
// is not terminated, a finished one not replaced, and nothing is added to
// the outbox.
func TestIDReuseNewRunTooLarge(t *testing.T) {
	const limit = 1 << 10
	for _, c := range reuseCases {
		t.Run(c.name, func(t *testing.T) {
			v := newEnv(t, []*dsl.Definition{journalWF}, engine.WithMaxState(limit), engine.WithMaxPayload(1<<20))
			v.start(journalWF, "j", Journal{Items: []string{"old"}})
			if c.finish {
				if err := v.e.Cancel(v.ctx, "j"); err != nil {
					t.Fatal(err)
				}
			}
			before := v.snapshot("j")
			big := Journal{Items: []string{string(bytes.Repeat([]byte{'x'}, 2*limit))}}
			wantTooLarge(t, v.e.Start(v.ctx, journalWF, "j", big, engine.WithIDReuse(c.policy)), "state", limit)
			v.unchanged("j", before)
			if got := v.get("j").Meta.Status; got != before.inst.Meta.Status {
				t.Fatalf("status %s after the refused start, want %s", got, before.inst.Meta.Status)
			}
			if !c.finish { // the old run still takes events
				if err := v.e.Send(v.ctx, "j", "item", "after", nil); err != nil {
					t.Fatal(err)
				}
				if got := v.items("j"); len(got) != 2 || got[1] != "after" {
					t.Fatalf("items %q", got)
				}
			}
			// Within the limit, the same Start replaces it.
			if err := v.e.Start(v.ctx, journalWF, "j", Journal{Items: []string{"new"}}, engine.WithIDReuse(c.policy)); err != nil {
				t.Fatal(err)
			}
			if got := v.items("j"); len(got) != 1 || got[0] != "new" {
				t.Fatalf("items of the new run %q", got)
			}
		})
	}
}

// A Start over a run whose commit's outcome is unknown: lost, the old run
// is as it was (and a later Start replaces it); applied, the new run is in
// place, and what the engine caches agrees with the store either way.
func TestIDReuseUnknownOutcome(t *testing.T) {
	for _, c := range reuseCases {
		for _, fault := range []outcome{writeLost, writeApplied} {
			t.Run(c.name+"/"+fault.String(), func(t *testing.T) {
				v, fs := newFaultyEnv(t, journalWF)
				v.start(journalWF, "j", Journal{Items: []string{"old"}})
				if c.finish {
					if err := v.e.Cancel(v.ctx, "j"); err != nil {
						t.Fatal(err)
					}
				}
				before := v.get("j")
				fs.then(writeOK, fault) // the Create that finds the ID taken, then the Commit over it
				wantUnknown(t, v.e.Start(v.ctx, journalWF, "j", Journal{Items: []string{"new"}}, engine.WithIDReuse(c.policy)), "start")
				// A second engine on the store reads what was committed;
				// the first must agree with it.
				other := newEngine(t, v.store, engine.WithClock(v.clock))
				if err := other.Register(journalWF); err != nil {
					t.Fatal(err)
				}
				for _, e := range []*engine.Engine{v.e, other} {
					inst, err := e.Get(v.ctx, "j")
					if err != nil {
						t.Fatal(err)
					}
					s, err := engine.Query[Journal](v.ctx, e, "j")
					if err != nil {
						t.Fatal(err)
					}
					switch fault {
					case writeLost:
						if inst.Version != before.Version || len(s.Items) != 1 || s.Items[0] != "old" {
							t.Fatalf("after a lost commit: version %d (was %d), items %q", inst.Version, before.Version, s.Items)
						}
					case writeApplied:
						if inst.Version != before.Version+1 || inst.Meta.Status != interp.StatusRunning || len(s.Items) != 1 || s.Items[0] != "new" {
							t.Fatalf("after an applied commit: version %d (was %d), %s, items %q", inst.Version, before.Version, inst.Meta.Status, s.Items)
						}
					}
				}
				// The documented recipe: under IDReuseAfterFinished a retry
				// is refused with ErrExists if the first one committed (its
				// run is running), and starts the new run if not.
				if c.policy == engine.IDReuseAfterFinished {
					err := v.e.Start(v.ctx, journalWF, "j", Journal{Items: []string{"new"}}, engine.WithIDReuse(c.policy))
					if fault == writeApplied {
						wantErr(t, err, engine.ErrExists)
					} else if err != nil {
						t.Fatalf("retry after a lost commit: %v", err)
					}
					if got := v.items("j"); len(got) != 1 || got[0] != "new" {
						t.Fatalf("items after the retry %q", got)
					}
				}
			})
		}
	}
}

// A store that panics in the Commit of a Start over a run: the Start
// returns a *PanicError, the old run is untouched and the engine goes on.
func TestIDReuseStorePanic(t *testing.T) {
	for _, c := range reuseCases {
		t.Run(c.name, func(t *testing.T) {
			v, bomb := newBombEnv(t, "j", journalWF)
			v.start(journalWF, "j", Journal{Items: []string{"old"}})
			if c.finish {
				if err := v.e.Cancel(v.ctx, "j"); err != nil {
					t.Fatal(err)
				}
			}
			before := v.snapshot("j")
			bomb.arm("Commit", 1)
			wantErr(t, v.e.Start(v.ctx, journalWF, "j", Journal{Items: []string{"new"}}, engine.WithIDReuse(c.policy)), engine.ErrPanic)
			v.unchanged("j", before)
			if err := v.e.Start(v.ctx, journalWF, "j", Journal{Items: []string{"new"}}, engine.WithIDReuse(c.policy)); err != nil {
				t.Fatalf("Start once the store behaves: %v", err)
			}
			if got := v.items("j"); len(got) != 1 || got[0] != "new" {
				t.Fatalf("items of the new run %q", got)
			}
		})
	}
}
