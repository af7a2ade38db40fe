package engine_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// A deploy that renames a Go statement renames its running threads: the
// new version's Join on the new name waits for them, through MigrateAll, a
// Send, and a second rename (versions 1 -> 2 -> 3).
func TestRenamedThreadIsJoinedAfterDeploys(t *testing.T) {
	type St struct{ Log []string }
	note := func(name string) dsl.Stmt {
		return dsl.Step(name, func(s *St) error { s.Log = append(s.Log, name); return nil })
	}
	version := func(thread string, opts ...dsl.Option) *dsl.Definition {
		return dsl.MustCompile[St]("helper", dsl.S(
			dsl.Section("team",
				dsl.Go(thread, dsl.Wait("w", dsl.On("go", dsl.Signal(func(s *St, _ bool) (bool, error) { return true, nil }))), note("helped")),
			),
			dsl.Join("j", thread),
			note("joined"),
		), opts...)
	}
	v1 := version("old")
	m1 := dsl.Migration{From: 1, Paths: map[string]string{"team/old": "team/mid"}}
	v2 := version("mid", dsl.Version(2), dsl.Migrate(m1))
	v3 := version("new", dsl.Version(3), dsl.Migrate(m1, dsl.Migration{From: 2, Paths: map[string]string{"team/mid": "team/new"}}))

	v := newEnv(t, []*dsl.Definition{v1})
	v.start(v1, "a", St{}) // migrated 1 -> 2 -> 3
	threads := func(id string) []string {
		var out []string
		for _, th := range v.get(id).Meta.Threads {
			out = append(out, th.ID+"@"+th.Path)
		}
		return out
	}

	v.e = v.engine([]*dsl.Definition{v2})
	if n, err := v.e.MigrateAll(v.ctx); err != nil || n != 1 {
		t.Fatalf("MigrateAll to v2 = %d, %v", n, err)
	}
	if diff := cmp.Diff([]string{"main@j", "mid@team/mid/w"}, threads("a")); diff != "" {
		t.Fatalf("a under v2 (-want +got):\n%s", diff)
	}
	// b is started by a host still running v1: it goes 1 -> 3 in one step.
	if err := v.engine([]*dsl.Definition{v1}).Start(v.ctx, v1, "b", St{}); err != nil {
		t.Fatal(err)
	}
	v.e = v.engine([]*dsl.Definition{v3})
	if n, err := v.e.MigrateAll(v.ctx); err != nil || n != 2 {
		t.Fatalf("MigrateAll to v3 = %d, %v", n, err)
	}
	for _, id := range []string{"a", "b"} {
		inst := v.get(id)
		if inst.Meta.Status != interp.StatusRunning || inst.Meta.Version != 3 {
			t.Fatalf("%s: %s at version %d: the join passed without waiting for the renamed thread", id, inst.Meta.Status, inst.Meta.Version)
		}
		if diff := cmp.Diff([]string{"main@j", "new@team/new/w"}, threads(id)); diff != "" {
			t.Fatalf("%s under v3 (-want +got):\n%s", id, diff)
		}
		if err := v.e.Send(v.ctx, id, "go", true, nil); err != nil {
			t.Fatalf("send go to %s: %v", id, err)
		}
		v.drain()
		inst = v.get(id)
		var s St
		if err := codec.Unmarshal(inst.State, &s); err != nil {
			t.Fatal(err)
		}
		if inst.Meta.Status != interp.StatusCompleted || !cmp.Equal(s.Log, []string{"helped", "joined"}) {
			t.Fatalf("%s: %s, log %v", id, inst.Meta.Status, s.Log)
		}
	}
}
