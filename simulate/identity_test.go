package simulate_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage/bolt"
)

type team struct{ Helped, Pinged, Joined bool }

// teamVersion is a workflow whose main thread joins a helper thread, while
// another thread it does not join waits for a ping. Later versions rename
// the helper's Go statement.
func teamVersion(helper string, opts ...dsl.Option) *dsl.Definition {
	signal := func(f func(*team)) dsl.Trigger {
		return dsl.Signal(func(s *team, _ bool) (bool, error) { f(s); return true, nil })
	}
	return dsl.MustCompile[team]("team", dsl.S(
		dsl.Section("crew",
			dsl.Go(helper, dsl.Wait("w", dsl.On("go", signal(func(s *team) { s.Helped = true })))),
		),
		dsl.Go("other", dsl.Wait("o", dsl.On("ping", signal(func(s *team) { s.Pinged = true })))),
		dsl.Join("j", helper),
		dsl.Step("joined", func(s *team) error { s.Joined = true; return nil }),
	), opts...)
}

var (
	teamRename1 = dsl.Migration{From: 1, Paths: map[string]string{"crew/helper": "crew/aide"}}
	teamV2      = teamVersion("aide", dsl.Version(2), dsl.Migrate(teamRename1))
	teamV3      = teamVersion("mate", dsl.Version(3), dsl.Migrate(teamRename1,
		dsl.Migration{From: 2, Paths: map[string]string{"crew/aide": "crew/mate"}}))
)

// The simulator deploys v2 at a random moment: a join on the renamed
// helper must still wait for it, whichever event comes next (a ping to the
// other thread used to let the join pass at once).
func TestUpgradeRenamingAJoinedThread(t *testing.T) {
	simulate.Check(t, teamVersion("helper"), simulate.Options[team]{
		Upgrade: teamV2,
		Invariant: func(s *team) error {
			if s.Joined && !s.Helped {
				return errors.New("joined before the helper thread ended")
			}
			return nil
		},
	})
}

// Verify over stored version 1 instances: the two renames (1 -> 2 -> 3)
// keep every instance, simulated forward; migrations that move a thread
// where it cannot run, or make two threads one, are reported.
func TestVerifyRenamedThreads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "team.db")
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v1 := teamVersion("helper")
	e := newEngine(t, st)
	if err := e.Register(v1); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := e.Start(ctx, v1, id, team{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Send(ctx, "b", "ping", true, nil); err != nil {
		t.Fatal(err)
	}

	verify := func(def *dsl.Definition) []simulate.InstanceReport {
		t.Helper()
		var out []simulate.InstanceReport
		if _, err := simulate.Verify(ctx, st, def, simulate.VerifyOptions{Schedules: 5, Seed: 7},
			func(r simulate.InstanceReport) error { out = append(out, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(out) != 2 {
			t.Fatalf("%d reports, want 2", len(out))
		}
		return out
	}
	for _, def := range []*dsl.Definition{teamV2, teamV3} {
		for _, r := range verify(def) {
			if !r.OK || len(r.Migrated) != def.Version()-1 {
				t.Fatalf("v%d: %+v", def.Version(), r)
			}
		}
	}

	// The helper's wait moved into the main body: the helper thread cannot
	// run there.
	intoMain := dsl.MustCompile[team]("team", dsl.S(
		dsl.Wait("w", dsl.On("go", dsl.Signal(func(s *team, _ bool) (bool, error) { s.Helped = true; return true, nil }))),
		dsl.Go("other", dsl.Wait("o", dsl.On("ping", dsl.Signal(func(s *team, _ bool) (bool, error) { return true, nil })))),
		dsl.Join("j", "other"),
	), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"crew/helper/w": "w"}}))
	for _, r := range verify(intoMain) {
		if r.OK || r.Cause != simulate.CausePosition || r.Path != "w" || !strings.Contains(r.Detail, "belongs to the main thread") {
			t.Fatalf("helper moved into the main body: %+v", r)
		}
	}
	// The helper's wait moved into the other thread's body, which is still
	// running in a but not in b (pinged).
	merged := dsl.MustCompile[team]("team", dsl.S(
		dsl.Go("other",
			dsl.Wait("o", dsl.On("ping", dsl.Signal(func(s *team, _ bool) (bool, error) { return true, nil }))),
			dsl.Wait("w", dsl.On("go", dsl.Signal(func(s *team, _ bool) (bool, error) { s.Helped = true; return true, nil })))),
		dsl.Join("j", "other"),
		dsl.Step("joined", func(s *team) error { s.Joined = true; return nil }),
	), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"crew/helper/w": "other/w"}}))
	reports := verify(merged)
	if r := reports[0]; r.ID != "a" || r.OK || r.Cause != simulate.CauseMigration || !strings.Contains(r.Detail, "two threads have the ID other") {
		t.Fatalf("a, two threads made one: %+v", r)
	}
	if r := reports[1]; r.ID != "b" || !r.OK {
		t.Fatalf("b, the helper becomes the only thread named other: %+v", r)
	}
}
