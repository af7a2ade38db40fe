package simulate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/lint"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage/memory"
)

// lint.Upgrade, simulate.Verify and interp.Apply decide "is this position
// still there" with one rule. For event-level changes lint used to miss,
// all three must name the same position as lost.
func TestLintVerifyAndApplyAgreeOnEventChanges(t *testing.T) {
	type St struct{ Got bool }
	sig := dsl.Signal(func(s *St, _ bool) (bool, error) { s.Got = true; return true, nil })
	after := dsl.Step("after", func(*St) error { return nil })
	v1 := dsl.MustCompile[St]("events", dsl.S(dsl.Wait("w", dsl.On("go", sig), dsl.On("late", dsl.After(time.Hour))), after))
	v2 := func(w dsl.Stmt, opts ...dsl.Option) *dsl.Definition {
		return dsl.MustCompile[St]("events", dsl.S(w, after), append([]dsl.Option{dsl.Version(2)}, opts...)...)
	}
	for _, c := range []struct {
		name    string
		v2      *dsl.Definition
		lost    string // the lost path interp and Verify report; "" for none
		lintsAt string // the old position lint reports
	}{
		{"an event removed", v2(dsl.Wait("w", dsl.On("go", sig))), "w/late", "w"},
		{"a timer turned into a custom event", v2(dsl.Wait("w", dsl.On("go", sig), dsl.On("late", sig))), "w/late", "w"},
		{"an event renamed without a migration", v2(dsl.Wait("w", dsl.On("start", sig), dsl.On("late", dsl.After(time.Hour)))), "w/go", "w"},
		{"an event renamed with a migration", v2(dsl.Wait("w", dsl.On("start", sig), dsl.On("late", dsl.After(time.Hour))),
			dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"w/go": "w/start"}})), "", ""},
		{"the wait removed via Removed", dsl.MustCompile[St]("events", after, dsl.Version(2),
			dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"w": "after"}})), "", ""},
		{"the wait turned into a call", v2(dsl.Call("w", func(context.Context, St) (int, error) { return 1, nil }, nil)), "w", "w"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st := memory.New()
			e := newEngine(t, st)
			if err := e.Register(v1); err != nil {
				t.Fatal(err)
			}
			if err := e.Start(ctx, v1, "i", St{}); err != nil {
				t.Fatal(err)
			}
			inst, err := e.Get(ctx, "i")
			if err != nil {
				t.Fatal(err)
			}

			_, err = interp.Apply(c.v2, inst.State, inst.Meta, interp.Event{Kind: interp.EventResume, Time: time.Now()})
			var lost *interp.PositionLostError
			if got := errors.As(err, &lost); got != (c.lost != "") || (got && lost.Path != c.lost) {
				t.Fatalf("Apply: %v, want lost at %q", err, c.lost)
			}

			var rep simulate.InstanceReport
			if _, err := simulate.Verify(ctx, st, c.v2, simulate.VerifyOptions{},
				func(r simulate.InstanceReport) error { rep = r; return nil }); err != nil {
				t.Fatal(err)
			}
			if rep.OK != (c.lost == "") || (c.lost != "" && (rep.Cause != simulate.CausePosition || rep.Path != c.lost)) {
				t.Fatalf("Verify: %+v, want lost at %q", rep, c.lost)
			}

			var at []string
			for _, f := range lint.Upgrade(v1, c.v2) {
				if f.Check == "lost-position" {
					at = append(at, f.Path)
				}
			}
			if (len(at) > 0) != (c.lintsAt != "") || (len(at) > 0 && at[0] != c.lintsAt) {
				t.Fatalf("lint.Upgrade lost positions at %v, want %q", at, c.lintsAt)
			}
		})
	}
}
