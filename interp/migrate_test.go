package interp_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

func TestMigrationRenamesAndMoves(t *testing.T) {
	for _, c := range []struct {
		name string
		v2   dsl.Stmt
		mig  dsl.Migration
		want []string
	}{
		{"rename the parked wait", dsl.S(logStep("a", "a"), dsl.Wait("wait", dsl.On("go", goSignal())), logStep("b", "b")),
			dsl.Migration{From: 1, Paths: map[string]string{"w": "wait"}}, []string{"a", "go", "b"}},
		{"move the parked wait into a new branch", dsl.S(logStep("a", "a"),
			dsl.If("new", func(*counter) bool { return true }, dsl.Wait("w", dsl.On("go", goSignal())), logStep("in", "in")),
			logStep("b", "b")),
			dsl.Migration{From: 1, Paths: map[string]string{"w": "new/then/w"}}, []string{"a", "go", "in", "b"}},
		{"rename the pending event", dsl.S(logStep("a", "a"), dsl.Wait("w", dsl.On("start", goSignal())), logStep("b", "b")),
			dsl.Migration{From: 1, Paths: map[string]string{"w/go": "w/start"}}, []string{"a", "go", "b"}},
		{"remove the parked wait, continue at a step", dsl.S(logStep("a", "a"), logStep("b", "b"), logStep("c", "c")),
			dsl.Migration{From: 1, Removed: map[string]string{"w": "c"}}, []string{"a", "c"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := start(t, v1, nil)
			i.def = dsl.MustCompile[counter]("up", c.v2, dsl.Version(2), dsl.Migrate(c.mig))
			if err := interp.Resolve(i.def, i.meta); err != nil {
				t.Fatalf("Resolve after migration: %v", err)
			}
			if c.mig.Removed != nil {
				i.mustApply(interp.Event{Kind: interp.EventResume})
			} else {
				// Callback IDs survive migrations; the stored meta still names the old event.
				b, _ := marshal(1)
				i.mustApply(interp.Event{Kind: interp.EventCallback, Callback: i.meta.Threads[0].Waits[0].Callback, Payload: b})
			}
			i.wantStatus(interp.StatusCompleted)
			if diff := cmp.Diff(c.want, decodeState[counter](i).Log); diff != "" {
				t.Fatalf("log (-want +got):\n%s", diff)
			}
			if i.meta.Version != 2 || !cmp.Equal(i.meta.Migrated, []uint32{1}) {
				t.Fatalf("meta version %d migrated %v", i.meta.Version, i.meta.Migrated)
			}
		})
	}
}

func TestMigrationRemovedWaitTearsDown(t *testing.T) {
	v1 := dsl.MustCompile[counter]("rm", dsl.S(
		dsl.Wait("ask", dsl.On("m", dsl.Custom[counter, bool, string]("req", approver{})), dsl.On("t", dsl.After(time.Hour))),
		logStep("after", "after"),
	))
	i := start(t, v1, nil)
	i.def = dsl.MustCompile[counter]("rm", dsl.S(logStep("after", "after")), dsl.Version(2),
		dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"ask": "after"}}))
	r, err := interp.Upgrade(i.def, i.state, i.meta)
	if err != nil {
		t.Fatal(err)
	}
	if k := effectKinds(r.Effects); !cmp.Equal(k, []interp.EffectKind{interp.EffectTeardown, interp.EffectCancelTimer}) {
		t.Fatalf("upgrade effects %v", k)
	}
	if r.Effects[0].Type != "req" || r.Effects[0].Path != "ask" {
		t.Fatalf("teardown %+v", r.Effects[0])
	}
	i.mustApply(interp.Event{Kind: interp.EventResume})
	i.wantStatus(interp.StatusCompleted)
	if k := effectKinds(i.effects); !cmp.Equal(k, []interp.EffectKind{interp.EffectTeardown, interp.EffectCancelTimer, interp.EffectCompleted}) {
		t.Fatalf("effects %v", k)
	}
}

type oldPrice struct {
	Log   []string
	Price string
}

type newPrice struct {
	Log   []string
	Price int
}

func TestMigrationUpcastsState(t *testing.T) {
	old := dsl.MustCompile[oldPrice]("price", dsl.S(
		dsl.Wait("w", dsl.On("go", dsl.Signal(func(s *oldPrice, _ int) (int, error) { return 0, nil }))),
	))
	i := start(t, old, oldPrice{Price: "12"})
	body := dsl.S(
		dsl.Wait("w", dsl.On("go", dsl.Signal(func(s *newPrice, _ int) (int, error) { s.Price *= 2; return s.Price, nil }))),
	)
	// Without the upcaster the string does not decode into an int.
	i.def = dsl.MustCompile[newPrice]("price", body, dsl.Version(2))
	_, err := interp.Upgrade(i.def, i.state, i.meta)
	wantErr(t, err, interp.ErrCorrupt)

	i.def = dsl.MustCompile[newPrice]("price", body, dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1,
		State: dsl.Upcast(func(o oldPrice) (newPrice, error) {
			var n newPrice
			_, err := fmt.Sscan(o.Price, &n.Price)
			return n, err
		})}))
	i.send("go", 1)
	if got := decodeState[newPrice](i).Price; got != 24 {
		t.Fatalf("price %d, want 24", got)
	}
}

func TestMigrationChainAndErrors(t *testing.T) {
	i := start(t, v1, nil)
	// v3 with migrations from 1 and 2: a v1 instance goes through both.
	v3 := dsl.MustCompile[counter]("up", dsl.S(dsl.Wait("third", dsl.On("go", goSignal()))), dsl.Version(3), dsl.Migrate(
		dsl.Migration{From: 2, Paths: map[string]string{"second": "third"}},
		dsl.Migration{From: 1, Paths: map[string]string{"w": "second"}},
	))
	r, err := interp.Upgrade(v3, i.state, i.meta)
	if err != nil {
		t.Fatal(err)
	}
	if r.Meta.Threads[0].Path != "third" || !cmp.Equal(r.Meta.Migrated, []uint32{1, 2}) {
		t.Fatalf("upgraded meta %+v", r.Meta)
	}
	// An instance written by a newer version is refused, not misread.
	_, err = interp.Apply(v1, r.State, r.Meta, interp.Event{Kind: interp.EventResume, Time: t0})
	wantErr(t, err, interp.ErrMigration)
	// A failing upcaster is an error naming the version.
	bad := dsl.MustCompile[counter]("up", dsl.S(dsl.Wait("w", dsl.On("go", goSignal()))), dsl.Version(2), dsl.Migrate(
		dsl.Migration{From: 1, State: func([]byte) ([]byte, error) { return nil, errors.New("no") }}))
	_, err = interp.Upgrade(bad, i.state, i.meta)
	wantErr(t, err, interp.ErrMigration)
}

func TestMigrationCompileErrors(t *testing.T) {
	body := dsl.S(logStep("a", "a"))
	for _, c := range []struct {
		opts []dsl.Option
		want string
	}{
		{[]dsl.Option{dsl.Version(0)}, "version must be at least 1"},
		{[]dsl.Option{dsl.Version(2), dsl.Migrate(dsl.Migration{From: 2})}, "From must be between 1 and"},
		{[]dsl.Option{dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1}, dsl.Migration{From: 1})}, "two migrations from the same version"},
		{[]dsl.Option{dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"x": "nowhere"}})}, `maps "x" to "nowhere", which is not a position`},
		{[]dsl.Option{dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"x": "nowhere"}})}, `continues removed "x" at "nowhere"`},
	} {
		_, err := dsl.Compile[counter]("m", body, c.opts...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want %q", err, c.want)
		}
	}
}

// A step failing in the first transition after an upcast rolls back to the
// upcast state, not to the stored bytes of the old type.
func TestMigrationThenFailingStepRollsBack(t *testing.T) {
	retry := dsl.RetryPolicy{MaxAttempts: 3, Initial: time.Second}
	old := dsl.MustCompile[oldPrice]("price",
		dsl.Step("boom", func(s *oldPrice) error { s.Price += "!"; return errors.New("boom") }).Retry(retry))
	i := start(t, old, oldPrice{Price: "5"})
	i.wantPositions("main@boom:retry")
	i.def = dsl.MustCompile[newPrice]("price",
		dsl.Step("boom", func(s *newPrice) error { s.Price++; return errors.New("boom") }).Retry(retry),
		dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1,
			State: dsl.Upcast(func(o oldPrice) (newPrice, error) {
				var n newPrice
				_, err := fmt.Sscan(o.Price, &n.Price)
				return n, err
			})}))
	if err := i.resume(time.Second); err != nil {
		t.Fatal(err)
	}
	i.wantPositions("main@boom:retry") // failed again, and rolled back
	if got := decodeState[newPrice](i).Price; got != 5 {
		t.Fatalf("price %d, want 5: the failed attempt's change must be rolled back", got)
	}
}
