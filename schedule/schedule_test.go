package schedule_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/enginetest"
	"github.com/weftflow/weft/schedule"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/memory"
)

// Job is the state of the workflows the tests schedule.
type Job struct{ Note string }

// quick ends as soon as it starts; long runs until it gets "finish".
var (
	quick = dsl.MustCompile[Job]("quick", dsl.Return("done"))
	long  = dsl.MustCompile[Job]("long", dsl.Wait("work",
		dsl.On("finish", dsl.Signal(func(s *Job, _ bool) (bool, error) { return true, nil }))))
)

// env is an engine over store with a fake clock, and its scheduler.
type env struct {
	t     *testing.T
	ctx   context.Context
	store storage.Store
	clock *engine.FakeClock
	e     *engine.Engine
	s     *schedule.Scheduler
}

func newEnv(t *testing.T, store storage.Store, clock *engine.FakeClock, opts ...engine.Option) *env {
	t.Helper()
	e := enginetest.New(t, store, append([]engine.Option{engine.WithClock(clock), engine.WithRetryBackoff(time.Second, time.Second)}, opts...)...)
	if err := e.Register(quick, long); err != nil {
		t.Fatal(err)
	}
	s, err := schedule.New(e, []*dsl.Definition{quick, long}, schedule.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: t.Context(), store: store, clock: clock, e: e, s: s}
}

func (v *env) drain() {
	v.t.Helper()
	if err := v.e.Drain(v.ctx); err != nil {
		v.t.Fatalf("drain: %v", err)
	}
}

func (v *env) create(spec schedule.Spec) {
	v.t.Helper()
	if err := v.s.Create(v.ctx, spec); err != nil {
		v.t.Fatalf("create %q: %v", spec.Name, err)
	}
	v.drain()
}

func (v *env) info(name string) schedule.Info {
	v.t.Helper()
	info, err := v.s.Get(v.ctx, name)
	if err != nil {
		v.t.Fatalf("get %q: %v", name, err)
	}
	return info
}

// until moves the clock from fire to fire of schedule name, draining at
// each, up to t, then to t.
func (v *env) until(name string, t time.Time) {
	v.t.Helper()
	for range 1000 {
		next := v.info(name).Next
		if next.IsZero() || next.After(t) {
			break
		}
		v.clock.Set(next)
		v.drain()
	}
	if t.After(v.clock.Now()) {
		v.clock.Set(t)
	}
	v.drain()
}

// runs lists the IDs of the runs schedule name started.
func (v *env) runs(name string) []string {
	v.t.Helper()
	var ids []string
	page, err := v.e.List(v.ctx, name+"@", 1000)
	if err != nil {
		v.t.Fatal(err)
	}
	for _, inst := range page {
		if strings.HasPrefix(inst.ID, name+"@") {
			ids = append(ids, strings.TrimPrefix(inst.ID, name+"@"))
		}
	}
	return ids
}

func (v *env) finish(run string) {
	v.t.Helper()
	if err := v.e.Send(v.ctx, run, "finish", true, nil); err != nil {
		v.t.Fatalf("finish %s: %v", run, err)
	}
}

func wantRuns(t *testing.T, v *env, name string, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, v.runs(name)); diff != "" {
		t.Errorf("runs of %q (-want +got):\n%s", name, diff)
	}
}

var day0 = time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC) // noon in New York

// A cron spec fires at its wall times in its time zone, across both
// daylight-saving changes: 02:30 does not exist on 8 March 2026 in New
// York (no fire that day), and 01:30 occurs twice on 1 November (two
// fires).
func TestCronInTimeZone(t *testing.T) {
	v := newEnv(t, memory.New(), engine.NewFakeClock(day0))
	v.create(schedule.Spec{Name: "nightly", Cron: "30 2 * * *", TimeZone: "America/New_York", Workflow: quick, Input: Job{Note: "n"}})
	if got, want := v.info("nightly").Next, time.Date(2026, 3, 7, 7, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("first fire %v, want %v (02:30 EST)", got, want)
	}
	v.until("nightly", time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC))
	wantRuns(t, v, "nightly", "2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z")

	v.clock.Set(time.Date(2026, 10, 30, 16, 0, 0, 0, time.UTC))
	v.create(schedule.Spec{Name: "early", Cron: "30 1 * * *", TimeZone: "America/New_York", Workflow: quick})
	v.until("early", time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))
	wantRuns(t, v, "early", "2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z")
	info := v.info("early")
	if info.Started != 4 || info.Missed != 0 || info.Skipped != 0 || len(info.Recent) != 4 {
		t.Errorf("counts %+v", info)
	}
	// The run got the spec's input.
	s, err := engine.Query[Job](v.ctx, v.e, "nightly@2026-03-07T07:30:00Z")
	if err != nil || s.Note != "n" {
		t.Errorf("run state %+v, %v; want the input", s, err)
	}
}

var hour0 = time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)

// The overlap policies while the last run still runs: skip drops the fire,
// buffer one keeps one and starts it when the run ends, allow all starts
// every fire.
func TestOverlap(t *testing.T) {
	for _, c := range []struct {
		policy  schedule.OverlapPolicy
		runs    []string // by 12:30, when the first run is finished
		after   []string // once the buffer poll has passed
		skipped int
	}{
		{schedule.OverlapSkip, []string{"2026-05-04T10:00:00Z"}, []string{"2026-05-04T10:00:00Z"}, 2},
		{schedule.OverlapBufferOne, []string{"2026-05-04T10:00:00Z"}, []string{"2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z"}, 1},
		{schedule.OverlapAllowAll, []string{"2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z", "2026-05-04T12:00:00Z"},
			[]string{"2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z", "2026-05-04T12:00:00Z"}, 0},
	} {
		t.Run(c.policy.String(), func(t *testing.T) {
			v := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
			v.create(schedule.Spec{Name: "hourly", Every: time.Hour, Workflow: long, Overlap: c.policy})
			v.until("hourly", hour0.Add(3*time.Hour)) // 12:30: fires at 10, 11, 12
			wantRuns(t, v, "hourly", c.runs...)
			v.finish("hourly@2026-05-04T10:00:00Z")
			v.clock.Advance(schedule.BufferPoll)
			v.drain()
			wantRuns(t, v, "hourly", c.after...)
			info := v.info("hourly")
			if info.Skipped != c.skipped || info.Buffered != nil || info.Started != len(c.after) {
				t.Errorf("skipped %d, buffered %v, started %d; want %d, none, %d", info.Skipped, info.Buffered, info.Started, c.skipped, len(c.after))
			}
			// Once nothing runs, the next fire starts its run.
			for _, r := range v.runs("hourly") {
				if r != "2026-05-04T10:00:00Z" {
					v.finish("hourly@" + r)
				}
			}
			v.until("hourly", hour0.Add(4*time.Hour))
			if runs := v.runs("hourly"); runs[len(runs)-1] != "2026-05-04T13:00:00Z" {
				t.Errorf("runs %v: the 13:00 fire did not start", runs)
			}
		})
	}
}

// After downtime, missed fires within the catch-up window run and older
// ones are skipped as missed; the schedule then goes on from now.
func TestCatchUpAfterDowntime(t *testing.T) {
	v := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
	v.create(schedule.Spec{Name: "hourly", Every: time.Hour, Workflow: quick, CatchUp: 150 * time.Minute})
	v.until("hourly", hour0.Add(time.Hour)) // the 10:00 fire
	// Down from 10:30 to 15:10: fires at 11 and 12 are older than the
	// window (from 12:40), those at 13, 14 and 15 are not.
	v.clock.Set(time.Date(2026, 5, 4, 15, 10, 0, 0, time.UTC))
	v.drain()
	wantRuns(t, v, "hourly", "2026-05-04T10:00:00Z", "2026-05-04T13:00:00Z", "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z")
	info := v.info("hourly")
	if info.Missed != 2 || info.Started != 4 || !info.Next.Equal(time.Date(2026, 5, 4, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("missed %d, started %d, next %v; want 2, 4, 16:00", info.Missed, info.Started, info.Next)
	}
	// The default window is a minute: a fire performed 30s late runs, one
	// an hour late is missed.
	v2 := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
	v2.create(schedule.Spec{Name: "strict", Every: time.Hour, Workflow: quick})
	v2.clock.Set(time.Date(2026, 5, 4, 10, 0, 30, 0, time.UTC))
	v2.drain()
	v2.clock.Set(time.Date(2026, 5, 4, 12, 0, 30, 0, time.UTC))
	v2.drain()
	wantRuns(t, v2, "strict", "2026-05-04T10:00:00Z", "2026-05-04T12:00:00Z")
	if info := v2.info("strict"); info.Missed != 1 {
		t.Errorf("missed %d, want 1 (11:00)", info.Missed)
	}
}

// A paused schedule does not fire; resumed, it fires from the next fire
// time on, without catching up the pause. Trigger fires at once, even
// while paused.
func TestPauseResumeTrigger(t *testing.T) {
	v := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
	v.create(schedule.Spec{Name: "hourly", Every: time.Hour, Workflow: quick})
	v.until("hourly", hour0.Add(time.Hour)) // 10:00
	if err := v.s.Pause(v.ctx, "hourly"); err != nil {
		t.Fatal(err)
	}
	v.drain()
	if info := v.info("hourly"); !info.Paused || !info.Next.IsZero() {
		t.Errorf("paused: %+v", info)
	}
	v.clock.Set(time.Date(2026, 5, 4, 13, 30, 0, 0, time.UTC))
	v.drain()
	if err := v.s.Trigger(v.ctx, "hourly"); err != nil {
		t.Fatal(err)
	}
	v.drain()
	wantRuns(t, v, "hourly", "2026-05-04T10:00:00Z", "manual-2026-05-04T13:30:00Z")
	if err := v.s.Resume(v.ctx, "hourly"); err != nil {
		t.Fatal(err)
	}
	v.drain()
	if info := v.info("hourly"); info.Paused || !info.Next.Equal(time.Date(2026, 5, 4, 14, 0, 0, 0, time.UTC)) {
		t.Errorf("resumed: paused %v, next %v; want 14:00", info.Paused, info.Next)
	}
	v.until("hourly", time.Date(2026, 5, 4, 15, 30, 0, 0, time.UTC))
	wantRuns(t, v, "hourly", "2026-05-04T10:00:00Z", "2026-05-04T14:00:00Z", "2026-05-04T15:00:00Z", "manual-2026-05-04T13:30:00Z")
	if info := v.info("hourly"); info.Missed != 0 {
		t.Errorf("missed %d: a pause is not downtime", info.Missed)
	}
}

// Update changes the timing from now on; Delete ends the schedule (its
// name is free again); List shows the schedules.
func TestUpdateDeleteList(t *testing.T) {
	v := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
	v.create(schedule.Spec{Name: "a", Every: time.Hour, Workflow: quick})
	v.create(schedule.Spec{Name: "b", Cron: "@daily", Workflow: quick, Paused: true})
	wantErr(t, v.s.Create(v.ctx, schedule.Spec{Name: "a", Every: time.Hour, Workflow: quick}), schedule.ErrExists)
	list, err := v.s.List(v.ctx)
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" || !list[1].Paused {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if err := v.s.Update(v.ctx, schedule.Spec{Name: "a", Every: 15 * time.Minute, Workflow: quick}); err != nil {
		t.Fatal(err)
	}
	v.drain()
	if next := v.info("a").Next; !next.Equal(hour0.Add(15 * time.Minute)) {
		t.Errorf("next after the update %v, want 09:45", next)
	}
	if err := v.s.Delete(v.ctx, "a"); err != nil {
		t.Fatal(err)
	}
	v.drain()
	v.until("b", hour0.Add(2*time.Hour))
	wantRuns(t, v, "a")
	_, err = v.s.Get(v.ctx, "a")
	wantErr(t, err, schedule.ErrNotFound)
	wantErr(t, v.s.Pause(v.ctx, "a"), schedule.ErrNotFound)
	wantErr(t, v.s.Pause(v.ctx, "nope"), schedule.ErrNotFound)
	if list, _ := v.s.List(v.ctx); len(list) != 1 || list[0].Name != "b" {
		t.Errorf("list after delete: %+v", list)
	}
	v.create(schedule.Spec{Name: "a", Every: time.Hour, Workflow: quick})
	if info := v.info("a"); info.Every != time.Hour || info.Started != 0 {
		t.Errorf("re-created: %+v", info)
	}
}

func TestInvalidSpecs(t *testing.T) {
	v := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
	other := dsl.MustCompile[Job]("other", dsl.Return("x"))
	for _, s := range []schedule.Spec{
		{Every: time.Hour, Workflow: quick},
		{Name: "a@b", Every: time.Hour, Workflow: quick},
		{Name: "x", Workflow: quick},
		{Name: "x", Every: time.Hour, Cron: "@daily", Workflow: quick},
		{Name: "x", Every: time.Millisecond, Workflow: quick},
		{Name: "x", Cron: "61 * * * *", Workflow: quick},
		{Name: "x", Cron: "@every 1h", Workflow: quick},
		{Name: "x", Cron: "0 0 30 2 *", Workflow: quick},
		{Name: "x", Cron: "@daily", TimeZone: "Mars/Olympus", Workflow: quick},
		{Name: "x", Every: time.Hour},
		{Name: "x", Every: time.Hour, Workflow: other},
		{Name: "x", Every: time.Hour, Workflow: quick, Input: "not a Job"},
		{Name: "x", Every: time.Hour, Workflow: quick, Overlap: 9},
		{Name: "x", Every: time.Hour, Workflow: quick, CatchUp: -time.Second},
	} {
		err := v.s.Create(v.ctx, s)
		var se *schedule.SpecError
		if !errors.Is(err, schedule.ErrInvalidSpec) || !errors.As(err, &se) {
			t.Errorf("Create(%+v): %v, want a *SpecError", s, err)
		}
	}
}

// Schedules live in the store: a new engine (a restart, here over a bbolt
// file) goes on firing them.
func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "weft.db")
	clock := engine.NewFakeClock(hour0)
	open := func() storage.Store {
		st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	v := newEnv(t, st, clock)
	v.create(schedule.Spec{Name: "hourly", Every: time.Hour, Workflow: quick})
	v.until("hourly", hour0.Add(time.Hour))
	st.Close()
	clock.Advance(time.Hour) // 11:30: the 11:00 fire is late by more than the window
	st = open()
	defer st.Close()
	v = newEnv(t, st, clock)
	v.drain()
	v.until("hourly", hour0.Add(3*time.Hour))
	wantRuns(t, v, "hourly", "2026-05-04T10:00:00Z", "2026-05-04T12:00:00Z")
	if info := v.info("hourly"); info.Missed != 1 || info.Started != 2 {
		t.Errorf("after the restart: missed %d, started %d; want 1, 2", info.Missed, info.Started)
	}
}

// A launch that fails after starting its run (a crash before its answer)
// is performed again: the run it started is found, none is started twice,
// and each is counted once.
func TestExactlyOnceUnderRetriedLaunch(t *testing.T) {
	v := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
	var mu sync.Mutex
	failed := map[string]bool{}
	schedule.SetAfterStart(v.s, func(id string) error {
		mu.Lock()
		defer mu.Unlock()
		if !failed[id] {
			failed[id] = true
			return errors.New("crash after the start")
		}
		return nil
	})
	v.create(schedule.Spec{Name: "hourly", Every: time.Hour, Workflow: quick, Overlap: schedule.OverlapAllowAll})
	for i := range 3 {
		v.clock.Set(hour0.Add(time.Duration(i)*time.Hour + 30*time.Minute))
		_ = v.e.Drain(v.ctx) // the first try fails
		v.clock.Advance(time.Second)
		v.drain() // the retry
	}
	wantRuns(t, v, "hourly", "2026-05-04T10:00:00Z", "2026-05-04T11:00:00Z", "2026-05-04T12:00:00Z")
	if info := v.info("hourly"); info.Started != 3 || len(failed) != 3 {
		t.Errorf("started %d (failed launches %v), want 3", info.Started, failed)
	}
}

// Two processes share a store, each with its engine (with leases) and
// scheduler, and both drive the work: every fire starts its run once.
func TestAcrossProcesses(t *testing.T) {
	clock := engine.NewFakeClock(hour0)
	m := memory.New()
	a := newEnv(t, m, clock, engine.WithLeases("a", time.Minute))
	b := newEnv(t, m.Share(), clock, engine.WithLeases("b", time.Minute))
	if err := a.s.Create(a.ctx, schedule.Spec{Name: "hourly", Every: time.Hour, Workflow: quick, Overlap: schedule.OverlapAllowAll}); err != nil {
		t.Fatal(err)
	}
	runBoth := func() {
		for range 50 {
			var wg sync.WaitGroup
			var work [2]int
			for i, v := range []*env{a, b} {
				wg.Go(func() {
					w, err := v.e.RunDue(v.ctx, 5)
					if err != nil {
						t.Errorf("RunDue: %v", err)
					}
					work[i] = w.Transitions + w.Effects
				})
			}
			wg.Wait()
			if work[0]+work[1] == 0 {
				return
			}
		}
		t.Fatal("RunDue keeps finding work")
	}
	runBoth()
	for i := range 5 {
		clock.Set(hour0.Add(time.Duration(i)*time.Hour + 30*time.Minute))
		runBoth()
	}
	want := []string{}
	for i := range 5 {
		want = append(want, hour0.Add(time.Duration(i)*time.Hour+30*time.Minute).Format(time.RFC3339))
	}
	if got := b.runs("hourly"); !slices.Equal(got, want) {
		t.Errorf("runs %v, want %v", got, want)
	}
	if info := b.info("hourly"); info.Started != 5 {
		t.Errorf("started %d, want 5", info.Started)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("error %v, want %v", err, target)
	}
}

// Under engine.Run, the production loop, a schedule fires as the clock
// reaches its fire times.
func TestUnderRun(t *testing.T) {
	v := newEnv(t, memory.New(), engine.NewFakeClock(hour0))
	if err := v.s.Create(v.ctx, schedule.Spec{Name: "hourly", Every: time.Hour, Workflow: quick}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(v.ctx)
	done := make(chan error, 1)
	go func() { done <- v.e.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	next := func() time.Time {
		info, err := v.s.Get(v.ctx, "hourly")
		if err != nil {
			t.Fatal(err)
		}
		return info.Next
	}
	for i := range 3 {
		want := hour0.Add(time.Duration(i)*time.Hour + 30*time.Minute)
		waitFor("the next fire time", func() bool { return next().Equal(want) })
		v.clock.Set(want)
		waitFor("the run", func() bool { return len(v.runs("hourly")) == i+1 })
	}
}
