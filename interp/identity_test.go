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

// helper builds a definition of one Go statement named thread (inside
// section sec when sec is not ""), waiting for "go", and a join on it
// followed by a "joined" step.
func helper(thread, sec string, opts ...dsl.Option) *dsl.Definition {
	var g dsl.Stmt = dsl.Go(thread, dsl.Wait("w", dsl.On("go", goSignal())), logStep("helped", "helped"))
	if sec != "" {
		g = dsl.Section(sec, g)
	}
	return dsl.MustCompile[counter]("helper", dsl.S(g, dsl.Join("j", thread), logStep("joined", "joined")), opts...)
}

func ids(m interp.Meta) []string {
	var out []string
	for _, th := range m.Threads {
		out = append(out, th.ID+"@"+th.Path)
	}
	return out
}

// A migration that renames a Go statement renames its threads: a v2 Join
// on the new name waits for them instead of passing at once.
func TestRenamedGoRenamesItsThreads(t *testing.T) {
	for _, c := range []struct {
		name   string
		v2     *dsl.Definition
		thread string // the thread's ID under v2
		want   []string
	}{
		{"rename the Go statement", helper("new", "sec", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"sec/old": "sec/new"}})),
			"new", []string{"main@j", "new@sec/new/w"}},
		{"rename the section holding it", helper("old", "block", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"sec": "block"}})),
			"old", []string{"main@j", "old@block/old/w"}},
		{"rename both", helper("new", "block", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"sec": "block", "sec/old": "block/new"}})),
			"new", []string{"main@j", "new@block/new/w"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := start(t, helper("old", "sec"), nil)
			up, err := interp.Upgrade(c.v2, i.state, i.meta)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, ids(up.Meta)); diff != "" {
				t.Fatalf("threads after Upgrade (-want +got):\n%s", diff)
			}
			i.def = c.v2
			i.mustApply(interp.Event{Kind: interp.EventResume}) // migrate only
			if diff := cmp.Diff(c.want, ids(i.meta)); diff != "" {
				t.Fatalf("threads after the migrating Resume (-want +got):\n%s", diff)
			}
			i.wantStatus(interp.StatusRunning) // the join still waits
			i.callback(c.thread, "go")
			i.send("go", 1)
			i.wantStatus(interp.StatusCompleted)
			if diff := cmp.Diff([]string{"go", "helped", "joined"}, decodeState[counter](i).Log); diff != "" {
				t.Fatalf("log (-want +got):\n%s", diff)
			}
		})
	}
}

// Dynamic IDs keep their suffix: worker[3] becomes task[3].
func TestRenamedGoEachKeepsSuffixes(t *testing.T) {
	v2 := dsl.MustCompile[fan]("fan", dsl.S(
		dsl.While("spawn", func(s *fan) bool { return s.I < s.N },
			dsl.GoEach("task", func(s *fan) string { return fmt.Sprint(s.I) },
				dsl.Wait("job",
					dsl.On("finish", dsl.Signal(func(s *fan, _ int) (int, error) { s.Done++; return s.Done, nil })),
					dsl.On("late", dsl.After(time.Hour)))),
			dsl.Step("next", func(s *fan) error { s.I++; return nil }),
		),
		dsl.Join("all", "task"),
	), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"spawn/worker": "spawn/task"}}))
	i := start(t, fanOut("spawn"), fan{N: 6})
	i.def = v2
	i.mustApply(interp.Event{Kind: interp.EventResume})
	var want []string
	want = append(want, "main@all")
	for k := range 6 {
		want = append(want, fmt.Sprintf("task[%d]@spawn/task/job", k))
	}
	if diff := cmp.Diff(want, ids(i.meta)); diff != "" {
		t.Fatalf("threads (-want +got):\n%s", diff)
	}
	for k := range 6 {
		p := i.callback(fmt.Sprintf("task[%d]", k), "finish")
		i.wantStatus(interp.StatusRunning)
		one, _ := marshal(1)
		i.mustApply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: one})
	}
	i.wantStatus(interp.StatusCompleted)
}

// Two renames chained over versions 1 -> 2 -> 3: a version 1 instance goes
// straight to version 3, a version 2 one takes the second step only.
func TestRenamedGoChain(t *testing.T) {
	migs := dsl.Migrate(
		dsl.Migration{From: 1, Paths: map[string]string{"old": "mid"}},
		dsl.Migration{From: 2, Paths: map[string]string{"mid": "new"}},
	)
	v2 := helper("mid", "", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"old": "mid"}}))
	v3 := helper("new", "", dsl.Version(3), migs)
	from1 := start(t, helper("old", ""), nil)
	from2 := start(t, helper("old", ""), nil)
	from2.def = v2
	from2.mustApply(interp.Event{Kind: interp.EventResume})
	if diff := cmp.Diff([]string{"main@j", "mid@mid/w"}, ids(from2.meta)); diff != "" {
		t.Fatalf("version 2 threads (-want +got):\n%s", diff)
	}
	for name, i := range map[string]*inst{"from 1": from1, "from 2": from2} {
		t.Run(name, func(t *testing.T) {
			i.def = v3
			i.mustApply(interp.Event{Kind: interp.EventResume})
			if diff := cmp.Diff([]string{"main@j", "new@new/w"}, ids(i.meta)); diff != "" {
				t.Fatalf("version 3 threads (-want +got):\n%s", diff)
			}
			i.wantStatus(interp.StatusRunning)
			i.send("go", 1)
			i.wantStatus(interp.StatusCompleted)
		})
	}
}

// Meta.Yielded names a thread too: it follows the rename.
func TestRenamedGoRenamesYielded(t *testing.T) {
	spin := func(name string, opts ...dsl.Option) *dsl.Definition {
		return dsl.MustCompile[counter]("spin", dsl.S(
			dsl.Go(name, dsl.While("loop", func(s *counter) bool { return s.N < 30 }, add("inc"))),
			dsl.Join("j", name),
		), append(opts, dsl.Budget(8))...)
	}
	i := start(t, spin("a"), nil)
	if i.meta.Yielded != "a" {
		t.Fatalf("Yielded = %q, want a", i.meta.Yielded)
	}
	v2 := spin("b", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"a": "b"}}))
	up, err := interp.Upgrade(v2, i.state, i.meta)
	if err != nil {
		t.Fatal(err)
	}
	if up.Meta.Yielded != "b" || !strings.HasPrefix(ids(up.Meta)[0], "b@b/loop") {
		t.Fatalf("upgraded: Yielded %q, threads %v", up.Meta.Yielded, ids(up.Meta))
	}
	i.def = v2
	for range 10 {
		if i.meta.Status != interp.StatusRunning {
			break
		}
		if err := i.resume(0); err != nil {
			t.Fatal(err)
		}
	}
	i.wantStatus(interp.StatusCompleted)
}

// What the identity rule refuses: a rename that makes two threads one, and
// a migration that moves a thread out of the kind of body it runs in.
func TestThreadIdentityRefusals(t *testing.T) {
	two := dsl.MustCompile[counter]("two", dsl.S(
		dsl.Go("a", dsl.Wait("wa", dsl.On("go", goSignal()))),
		dsl.Go("b", dsl.Wait("wb", dsl.On("go", goSignal()))),
		dsl.Join("j", "a", "b"),
	))
	i := start(t, two, nil)
	merged := dsl.MustCompile[counter]("two", dsl.S(
		dsl.Go("b", dsl.Wait("wb", dsl.On("go", goSignal())), dsl.Wait("wa", dsl.On("go", goSignal()))),
		dsl.Join("j", "b"),
	), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"a/wa": "b/wa"}}))
	_, err := interp.Upgrade(merged, i.state, i.meta)
	if !errors.Is(err, interp.ErrMigration) || !strings.Contains(err.Error(), "two threads have the ID b") {
		t.Fatalf("merging two running threads: %v", err)
	}

	for _, c := range []struct {
		name, reason string
		v2           *dsl.Definition
	}{
		{"a Go thread moved into the main body", "belongs to the main thread", dsl.MustCompile[counter]("two", dsl.S(
			dsl.Wait("wa", dsl.On("go", goSignal())),
			dsl.Go("b", dsl.Wait("wb", dsl.On("go", goSignal()))),
			dsl.Join("j", "b"),
		), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"a/wa": "wa"}}))},
		{"the main thread moved into a Go body", "main thread cannot run here", dsl.MustCompile[counter]("two", dsl.S(
			dsl.Go("a", dsl.Wait("wa", dsl.On("go", goSignal())), dsl.Step("x", func(*counter) error { return nil })),
			dsl.Go("b", dsl.Wait("wb", dsl.On("go", goSignal()))),
			dsl.WaitFor("j", func(*counter) bool { return false }),
		), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Removed: map[string]string{"j": "a/x"}}))},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := interp.Upgrade(c.v2, i.state, i.meta)
			var lost *interp.PositionLostError
			if !errors.As(err, &lost) || !strings.Contains(lost.Reason, c.reason) {
				t.Fatalf("err = %v, want position lost: %s", err, c.reason)
			}
		})
	}
}

// Instances stored before thread IDs followed renames hold the old ID at
// the new path; the next event gives the thread its name.
func TestStaleThreadIDIsRenamedOnLoad(t *testing.T) {
	v2 := helper("new", "", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"old": "new"}}))
	i := start(t, v2, nil)
	for k := range i.meta.Threads {
		if i.meta.Threads[k].ID == "new" {
			i.meta.Threads[k].ID = "old" // as the interpreter wrote it before
		}
	}
	if err := interp.Resolve(v2, i.meta); err != nil {
		t.Fatal(err)
	}
	up, err := interp.Upgrade(v2, i.state, i.meta)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"main@j", "new@new/w"}, ids(up.Meta)); diff != "" {
		t.Fatalf("threads (-want +got):\n%s", diff)
	}
	i.send("go", 1)
	i.wantStatus(interp.StatusCompleted)
}
