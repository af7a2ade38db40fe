package engine_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// crashable is one process's handle of a shared store that dies at its
// crashAt-th write: that write and everything after it fails, as if the
// process had been killed just before it (its leases stay until they run
// out).
type crashable struct {
	storage.Store
	writes  atomic.Int64
	crashAt int64 // 0: never
}

var errCrashed = errors.New("the process crashed")

func (c *crashable) write() error {
	if n := c.writes.Add(1); c.crashAt > 0 && n >= c.crashAt {
		return errCrashed
	}
	return nil
}

func (c *crashable) Commit(ctx context.Context, cm storage.Commit) (uint64, error) {
	if err := c.write(); err != nil {
		return 0, err
	}
	return c.Store.Commit(ctx, cm)
}

func (c *crashable) AckLeased(ctx context.Context, l storage.Lease, ids ...string) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Store.AckLeased(ctx, l, ids...)
}

func (c *crashable) Retry(ctx context.Context, l storage.Lease, id string, r storage.RetryState) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Store.Retry(ctx, l, id, r)
}

func (c *crashable) Release(ctx context.Context, ls ...storage.Lease) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Store.Release(ctx, ls...)
}

func (c *crashable) Claim(ctx context.Context, req storage.ClaimRequest) ([]storage.Lease, error) {
	if err := c.write(); err != nil {
		return nil, err
	}
	return c.Store.Claim(ctx, req)
}

func (c *crashable) Acquire(ctx context.Context, id string, req storage.ClaimRequest) (storage.Lease, error) {
	if err := c.write(); err != nil {
		return storage.Lease{}, err
	}
	return c.Store.Acquire(ctx, id, req)
}

// TestHostsProperty runs the real dispatcher of three engines sharing one
// store through random schedules: starts and sends through any host,
// RunDue and ProcessInstance on any host, handlers that fail, the clock
// moving past leases, and hosts that crash at a random write and are
// restarted. Throughout, each instance's effects are performed in order
// (setup, teardown, finish; a repeat only of the same effect, and only
// after a fault); at the end every instance has finished with each effect
// performed, and nothing is left in the outbox, dead-lettered or leased.
func TestHostsProperty(t *testing.T) {
	rapid.Check(t, hostsProperty(nil))
}

// lostAcks is a store whose AckLeased reports success and removes
// nothing: the property must find the effects performed again.
type lostAcks struct{ storage.Store }

func (lostAcks) AckLeased(context.Context, storage.Lease, ...string) error { return nil }

// TestHostsPropertyFindsLostAcks plants a store that loses
// acknowledgements under the hosts: the property must fail.
func TestHostsPropertyFindsLostAcks(t *testing.T) {
	t.Chdir(t.TempDir()) // no fail file left behind for an expected failure
	// Finding it is quick; a minimal example is not needed here.
	shrink := flag.Lookup("rapid.shrinktime")
	old := shrink.Value.String()
	if err := shrink.Value.Set("1s"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = shrink.Value.Set(old) }()
	rec := &simulate.Recorder{TestName: t.Name()}
	rapid.Check(rec, hostsProperty(func(s storage.Store) storage.Store { return lostAcks{s} }))
	if !rec.Failed() {
		t.Fatal("the hosts property passed a store that loses acknowledgements")
	}
	if r := rec.Report(); !strings.Contains(r, "twice without a fault") && !strings.Contains(r, "work never ends") {
		t.Fatalf("the failure does not name the repeated effects:\n%s", r)
	}
}

// hostsProperty is TestHostsProperty's property; wrap, if not nil, wraps
// each host's handle of the store (to plant a bug).
func hostsProperty(wrap func(storage.Store) storage.Store) func(*rapid.T) {
	return func(rt *rapid.T) {
		ctx := context.Background()
		clock := engine.NewFakeClock(t0)
		log := newEffectLog()
		var failing atomic.Int64 // the next this many handler calls fail
		log.fail = func(string, engine.EffectInfo) error {
			if failing.Add(-1) >= 0 {
				return errors.New("the receiver is down")
			}
			failing.Store(0)
			return nil
		}
		m := memory.New()
		mk := func(i int, crashAt int64) (*engine.Engine, *crashable) {
			var handle storage.Store = m.Share()
			if wrap != nil {
				handle = wrap(handle)
			}
			st := &crashable{Store: handle, crashAt: crashAt}
			e, err := engine.New(st, engine.WithClock(clock), engine.WithLeases(fmt.Sprintf("host-%d", i), time.Minute),
				engine.WithFinish(log.finish), engine.WithRetryBackoff(time.Second, 4*time.Second), engine.WithMaxAttempts(0),
				engine.WithWorkers(1))
			if err != nil {
				rt.Fatal(err)
			}
			if err := e.Register(requestWF); err != nil {
				rt.Fatal(err)
			}
			e.Handle("ask-manager", log)
			return e, st
		}
		hosts := make([]*engine.Engine, 3)
		for i := range hosts {
			hosts[i], _ = mk(i, 0)
		}
		faults := 0
		var started []string
		host := func(label string) (int, *engine.Engine) {
			i := rapid.IntRange(0, len(hosts)-1).Draw(rt, label)
			return i, hosts[i]
		}
		steps := rapid.IntRange(1, 60).Draw(rt, "steps")
		for range steps {
			switch rapid.SampledFrom([]string{"start", "send", "run", "process", "advance", "fail", "crash"}).Draw(rt, "action") {
			case "start":
				id := fmt.Sprintf("r%d", len(started))
				_, e := host("host")
				if err := e.Start(ctx, requestWF, id, Request{}); err != nil {
					rt.Fatalf("start: %v", err)
				}
				started = append(started, id)
			case "send":
				if len(started) == 0 {
					continue
				}
				id := rapid.SampledFrom(started).Draw(rt, "instance")
				_, e := host("host")
				err := e.Send(ctx, id, "answer", "yes", nil)
				if err != nil && !errors.Is(err, engine.ErrNoSuchWait) && !strings.Contains(err.Error(), "finished") &&
					!errors.Is(err, errCrashed) {
					rt.Fatalf("send: %v", err)
				}
			case "run":
				_, e := host("host")
				_, _ = e.RunDue(ctx, rapid.IntRange(1, 4).Draw(rt, "limit")) // a crashed host fails
			case "process":
				if len(started) == 0 {
					continue
				}
				_, e := host("host")
				_, _ = e.ProcessInstance(ctx, rapid.SampledFrom(started).Draw(rt, "instance"))
			case "advance":
				clock.Advance(rapid.SampledFrom([]time.Duration{time.Second, 5 * time.Second, 61 * time.Second, time.Hour}).Draw(rt, "by"))
			case "fail":
				failing.Store(int64(rapid.IntRange(1, 3).Draw(rt, "failures")))
				faults++
			case "crash":
				// The host dies at one of its next writes; the next host
				// in its place is a restarted process.
				i, _ := host("host")
				hosts[i], _ = mk(i, int64(rapid.IntRange(1, 6).Draw(rt, "write")))
				faults++
			}
			checkEffectOrder(rt, log, started)
		}

		// Heal: fresh hosts, no failures, and time enough for every lease,
		// retry and timer.
		failing.Store(0)
		for i := range hosts {
			hosts[i], _ = mk(i, 0)
		}
		for round := 0; ; round++ {
			clock.Advance(2 * time.Hour)
			work := 0
			for _, e := range hosts {
				w, err := e.RunDue(ctx, 16)
				if err != nil {
					rt.Fatalf("RunDue after healing: %v", err)
				}
				work += w.Transitions + w.Effects
			}
			if work == 0 {
				break
			}
			if round > 100 {
				rt.Fatal("work never ends")
			}
		}
		checkEffectOrder(rt, log, started)
		for _, id := range started {
			got := firstTimes(log.of(id))
			if strings.Join(got, " ") != "setup teardown finish" {
				rt.Fatalf("%s: effects %q, want setup, teardown and finish", id, log.of(id))
			}
			if faults == 0 && len(log.of(id)) != 3 {
				rt.Fatalf("%s: effects %q performed twice without a fault", id, log.of(id))
			}
		}
		if out, err := m.Outbox(ctx, 10); err != nil || len(out) != 0 {
			rt.Fatalf("outbox %v, %v", out, err)
		}
		if dead, err := m.DeadLetters(ctx, "", 10); err != nil || len(dead) != 0 {
			rt.Fatalf("dead letters %v, %v", dead, err)
		}
		if next, err := m.NextWork(ctx, clock.Now()); err != nil || !next.IsZero() {
			rt.Fatalf("next work %v, %v; want none", next, err)
		}
	}
}

// checkEffectOrder checks that each instance's effects were first
// performed in order: setup, then teardown, then finish. (After a crash a
// new lease holder performs again, in the same order, the effects whose
// acknowledgement was lost: receivers de-duplicate on the effect ID.)
func checkEffectOrder(rt *rapid.T, log *effectLog, ids []string) {
	want := []string{"setup", "teardown", "finish"}
	for _, id := range ids {
		got := firstTimes(log.of(id))
		if len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			rt.Fatalf("%s: effects %q out of order", id, log.of(id))
		}
	}
}

// firstTimes keeps the first occurrence of each element of s.
func firstTimes(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}
