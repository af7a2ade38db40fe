package crashtest

import (
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// TestWriteFailures runs the engine on a bbolt store whose writes (Create,
// Commit, Ack) fail for a while, with Run performing effects all along:
//
//   - every Start and Send made while writes fail returns an error that
//     wraps the store's (errors.Is finds ErrInjected);
//   - reads keep working, and show the call's outcome as the store left
//     it: nothing written when the write failed before writing, the whole
//     transition when it failed after (an unknown outcome, as for an I/O
//     error on the final fsync);
//   - after the writes heal, the same engine, without a restart, goes on:
//     the callers reload, resend what was not applied, and everything
//     finishes;
//   - after closing and reopening the file, every call that returned nil
//     and every failed call that was found applied is there exactly once,
//     every workflow completed with its output, the outbox is empty and
//     the receiver handled every effect once.
func TestWriteFailures(t *testing.T) {
	for _, fault := range []Fault{FailBefore, FailAfter} {
		t.Run(strings.ReplaceAll(fault.String(), " ", "_"), func(t *testing.T) { testWriteFailure(t, fault) })
	}
}

func testWriteFailure(t *testing.T, fault Fault) {
	ctx := context.Background()
	dir := t.TempDir()
	db, log := filepath.Join(dir, "weft.db"), filepath.Join(dir, "effects.log")
	bs, err := bolt.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	fs := NewFaultyStore(bs)
	recv, err := OpenReceiver(log, 1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(fs, recv,
		engine.WithWorkers(3),
		engine.WithPollInterval(20*time.Millisecond),
		engine.WithRetryBackoff(5*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- srv.e.Run(runCtx) }()
	defer func() {
		if stop != nil {
			stop()
			<-ran
			bs.Close()
			recv.Close()
		}
	}()

	p := newPlan(size{counters: 6, target: 8, pizzas: 3, approvals: 3, cancels: 2}, rand.New(rand.NewPCG(1, 2)))
	total := 0
	for _, s := range p.scripts {
		total += len(s.cmds)
	}
	l := local{ctx: ctx, srv: srv}

	// Healthy: a third of the work.
	p.drive(l, newPacer(total/3, 0, rand.New(rand.NewPCG(3, 4))))()
	if problems := p.takeProblems(); len(problems) > 0 {
		t.Fatalf("before the fault:\n%s", strings.Join(problems, "\n"))
	}

	// Failing: the next command of every instance, one at a time. Each
	// must fail with the store's error, and leave what the fault says.
	fs.Set(fault)
	failedCalls := 0
	for _, s := range p.scripts {
		c := s.next()
		if c == nil {
			continue
		}
		before, beforeErr := srv.e.Get(ctx, s.id)
		c.status, c.sends = inFlight, c.sends+1
		err := srv.serve(ctx, c.req)
		failedCalls++
		if !errors.Is(err, ErrInjected) {
			t.Errorf("%s while writes fail: got %v, want an error wrapping %v", c.what, err, ErrInjected)
			continue
		}
		after, afterErr := srv.e.Get(ctx, s.id)
		switch {
		case fault == FailBefore && c.req.Op == opStart:
			if !errors.Is(afterErr, storage.ErrNotFound) {
				t.Errorf("%s failed before writing, yet Get says %v (version %d)", c.what, afterErr, after.Version)
			}
		case fault == FailBefore:
			if afterErr != nil || after.Version != before.Version {
				t.Errorf("%s failed before writing, yet the version went %d -> %d (%v)", c.what, before.Version, after.Version, afterErr)
			}
		case c.req.Op == opStart:
			if afterErr != nil || after.Version != 1 || !errors.Is(beforeErr, storage.ErrNotFound) {
				t.Errorf("%s failed after writing, yet Get says %v (version %d)", c.what, afterErr, after.Version)
			}
		default:
			// Run's own writes succeed too, so the version may have moved
			// by more than one; reconcile checks below that c was applied.
			if afterErr != nil || after.Version <= before.Version {
				t.Errorf("%s failed after writing, yet the version went %d -> %d (%v)", c.what, before.Version, after.Version, afterErr)
			}
		}
	}
	// Let Run meet failing writes too: acknowledgements, activity results.
	time.Sleep(200 * time.Millisecond)
	injected := fs.Failed()
	if injected <= int64(failedCalls) {
		t.Logf("note: Run met no failing write (%d injected failures, %d from calls)", injected, failedCalls)
	}

	// Healed: reload, resend what is missing, finish everything.
	fs.Set(NoFault)
	sn, err := snapshotOf(ctx, srv.e, fs, log)
	if err != nil {
		t.Fatal(err)
	}
	if problems := p.reconcile(sn); len(problems) > 0 {
		t.Fatalf("after the fault:\n%s", strings.Join(problems, "\n"))
	}
	n, _ := p.count()
	switch {
	case fault == FailBefore && n[recovered] != 0:
		t.Errorf("%d calls that failed before writing were applied", n[recovered])
	case fault == FailAfter && n[recovered] != failedCalls:
		t.Errorf("%d of %d calls that failed after writing were applied, want all", n[recovered], failedCalls)
	}
	if fault == FailAfter {
		// Starting an instance whose failed Start did write it: ErrExists.
		for _, s := range p.scripts {
			if c := s.cmds[0]; c.status == recovered {
				if err := srv.serve(ctx, c.req); !errors.Is(err, engine.ErrExists) || !errors.Is(err, storage.ErrExists) {
					t.Errorf("%s again: got %v, want engine.ErrExists", c.what, err)
				}
				break
			}
		}
	}
	p.drive(l, nil)()
	if problems := p.takeProblems(); len(problems) > 0 {
		t.Fatalf("after the fault:\n%s", strings.Join(problems, "\n"))
	}
	if err := srv.idle(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	stop()
	stop = nil
	if err := errors.Join(<-ran, bs.Close(), recv.Close()); err != nil {
		t.Fatal(err)
	}

	// Reopened: everything is there, once.
	sn, err = readSnapshot(db, log)
	if err != nil {
		t.Fatal(err)
	}
	if problems := verifyFinal(p, sn); len(problems) > 0 {
		t.Fatalf("after reopening:\n%s", strings.Join(problems, "\n"))
	}
	st := statsOf(sn.log)
	n, resent := p.count()
	t.Logf("%s: %d calls failed, %d writes failed in all (calls and Run); afterwards %d found applied, %d sent again; "+
		"effects handled once: %d, duplicate deliveries: %d %v",
		fault, failedCalls, injected, n[recovered], resent, st.handled, st.dups, st.dupsByKind)
}
