package interp_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

type fan struct {
	N, I, Done, Late int
}

// fanOut starts N workers with dynamic IDs (worker[0] .. worker[N-1]), each
// waiting for "finish" or a one-hour "late" timer, and joins them. name
// renames the spawning loop, to build later versions.
func fanOut(loop string, opts ...dsl.Option) *dsl.Definition {
	return dsl.MustCompile[fan]("fan", dsl.S(
		dsl.While(loop, func(s *fan) bool { return s.I < s.N },
			dsl.GoEach("worker", func(s *fan) string { return fmt.Sprint(s.I) },
				dsl.Wait("job",
					dsl.On("finish", dsl.Signal(func(s *fan, _ int) (int, error) { s.Done++; return s.Done, nil })),
					dsl.On("late", dsl.After(time.Hour), dsl.Step("count late", func(s *fan) error { s.Late++; return nil })),
				)),
			dsl.Step("next", func(s *fan) error { s.I++; return nil }),
		),
		dsl.Join("all", "worker"),
	), opts...)
}

// liveThreads are the thread counts that broke the load path (five was the
// first past the inline buffer) and some well past it.
var liveThreads = []int{5, 6, 32, 200}

// An instance with many live threads accepts events one by one, then a
// Resume that fires every remaining timer at once.
func TestManyLiveThreads(t *testing.T) {
	for _, n := range liveThreads {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			i := start(t, fanOut("spawn"), fan{N: n})
			if got := len(i.meta.Threads); got != n+1 {
				t.Fatalf("%d live threads, want %d workers and main", got, n+1)
			}
			done := finishSome(t, i, n)
			i.wantStatus(interp.StatusCompleted)
			s := decodeState[fan](i)
			if s.Done != done || s.Late != n-done {
				t.Fatalf("done %d late %d, want %d and %d", s.Done, s.Late, done, n-done)
			}
		})
	}
}

// finishSome sends "finish" to some workers (every other one, or every
// tenth of many, so threads are removed from the middle of the list), each
// through a transition that loads all live threads, then fires the others'
// timers in one Resume. It returns how many it finished.
func finishSome(t *testing.T, i *inst, n int) int {
	t.Helper()
	step := 2
	if n > 32 {
		step = 10
	}
	done := 0
	for k := 0; k < n; k += step {
		p := i.callback(fmt.Sprintf("worker[%d]", k), "finish")
		one, _ := marshal(1)
		i.mustApply(interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Payload: one})
		done++
		if got, want := len(i.meta.Threads), n+1-done; got != want {
			t.Fatalf("after finishing worker[%d]: %d live threads, want %d", k, got, want)
		}
	}
	if err := i.resume(time.Hour); err != nil {
		t.Fatalf("resume after an hour: %v", err)
	}
	return done
}

// The same through Upgrade and a migration: version 2 renames the loop
// that holds the Go statement, which moves every worker but keeps its ID.
func TestManyLiveThreadsUpgrade(t *testing.T) {
	v2 := fanOut("fanout", dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1, Paths: map[string]string{"spawn": "fanout"}}))
	for _, n := range liveThreads {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			i := start(t, fanOut("spawn"), fan{N: n})
			up, err := interp.Upgrade(v2, i.state, i.meta)
			if err != nil {
				t.Fatalf("Upgrade: %v", err)
			}
			if len(up.Meta.Threads) != n+1 || up.Meta.Version != 2 {
				t.Fatalf("upgraded meta: %d threads, version %d", len(up.Meta.Threads), up.Meta.Version)
			}
			for _, th := range up.Meta.Threads {
				if th.ID != "main" && th.Path != "fanout/worker/job" {
					t.Fatalf("thread %s at %q, want fanout/worker/job", th.ID, th.Path)
				}
			}
			if err := interp.Resolve(v2, i.meta); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			i.def = v2
			finishSome(t, i, n)
			i.wantStatus(interp.StatusCompleted)
		})
	}
}

// Nil definitions and panics of the interpreter's own code come back as
// ErrInternal; a panicking upcaster is user code and fails the migration.
func TestApplyNeverPanics(t *testing.T) {
	ev := interp.Event{Kind: interp.EventStart, Time: t0, Instance: "x"}
	_, err := interp.Apply(nil, nil, interp.Meta{}, ev)
	var ie *interp.InternalError
	if !errors.Is(err, interp.ErrInternal) || !errors.As(err, &ie) || ie.Op != "Apply" || ie.Instance != "" {
		t.Fatalf("Apply(nil): %v", err)
	}
	if _, err := interp.Upgrade(nil, nil, interp.Meta{Instance: "y"}); !errors.As(err, &ie) || ie.Op != "Upgrade" || ie.Instance != "y" {
		t.Fatalf("Upgrade(nil): %v", err)
	}
	if err := interp.Resolve(nil, interp.Meta{}); !errors.Is(err, interp.ErrInternal) {
		t.Fatalf("Resolve(nil): %v", err)
	}

	i := start(t, v1, nil)
	boom := dsl.MustCompile[counter]("up", dsl.S(dsl.Wait("w", dsl.On("go", goSignal()))), dsl.Version(2),
		dsl.Migrate(dsl.Migration{From: 1, State: func([]byte) ([]byte, error) { panic("upcaster bug") }}))
	i.def = boom
	err = i.apply(interp.Event{Kind: interp.EventResume})
	var pe *interp.PanicError
	if !errors.Is(err, interp.ErrMigration) || !errors.As(err, &pe) || errors.Is(err, interp.ErrInternal) {
		t.Fatalf("panicking upcaster: %v", err)
	}
}
