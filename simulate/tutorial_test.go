package simulate_test

// The workflows and tests of docs/simulation.md. Everything here uses only
// the public API, so the file can be copied into another module as it is.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"pgregory.net/rapid"
)

// Payment is the state of the refunds workflow: an order is charged in the
// background while customer service may refund parts of it.
type Payment struct {
	Order    string
	Amount   int // cents to charge
	Captured int // cents the charge took
	Refunded int // cents refunded so far
}

// Refund is the payload of the "refund" event.
type Refund struct{ Cents int }

// Charge is the payment activity. A real one would call a payment provider
// with the order as its idempotency key.
func Charge(ctx context.Context, p Payment) (int, error) {
	if p.Amount <= 0 {
		return 0, errors.New("nothing to charge")
	}
	return p.Amount, nil
}

// refunds is the workflow around a refund handler: a capture thread charges
// the order while the main thread serves refund requests for 30 days, then
// waits for the capture to settle.
func refunds(refund func(*Payment, Refund) (int, error)) *dsl.Definition {
	return dsl.MustCompile[Payment]("refunds", dsl.S(
		dsl.Go("capture",
			dsl.Call("charge", Charge, func(s *Payment, cents int) { s.Captured = cents }).
				Timeout(10*time.Second).
				Retry(dsl.RetryPolicy{MaxAttempts: 5, Initial: time.Second, Max: time.Minute}),
		),
		dsl.For("service",
			dsl.Wait("requests",
				dsl.On("refund", dsl.Signal(refund)),
				dsl.On("closed", dsl.After(30*24*time.Hour), dsl.Break()),
			),
		),
		dsl.Join("settled", "capture"),
	))
}

// refundBuggy checks a refund against the order's amount: right once the
// charge went through, wrong while it is still in flight.
func refundBuggy(s *Payment, r Refund) (int, error) {
	if r.Cents <= 0 {
		return 0, errors.New("a refund must be positive")
	}
	if s.Refunded+r.Cents > s.Amount {
		return 0, fmt.Errorf("only %d cents left to refund", s.Amount-s.Refunded)
	}
	s.Refunded += r.Cents
	return s.Amount - s.Refunded, nil
}

// refundFixed checks a refund against what was captured, so a refund that
// arrives before the charge is rejected, and a rejected event changes
// nothing.
func refundFixed(s *Payment, r Refund) (int, error) {
	if r.Cents <= 0 {
		return 0, errors.New("a refund must be positive")
	}
	if s.Refunded+r.Cents > s.Captured {
		return 0, fmt.Errorf("only %d cents captured and not refunded", s.Captured-s.Refunded)
	}
	s.Refunded += r.Cents
	return s.Captured - s.Refunded, nil
}

var (
	refundsBuggy = refunds(refundBuggy)
	refundsFixed = refunds(refundFixed)
)

// refundOptions are the tutorial's simulator options: small orders, and
// the invariant that we never refund money we did not take.
func refundOptions() simulate.Options[Payment] {
	return simulate.Options[Payment]{
		Input: func(t *rapid.T) Payment {
			return Payment{Order: "o-1", Amount: rapid.IntRange(1, 20).Draw(t, "amount")}
		},
		Invariant: func(s *Payment) error {
			if s.Refunded > s.Captured {
				return fmt.Errorf("refunded %d cents but captured only %d", s.Refunded, s.Captured)
			}
			return nil
		},
	}
}

// TestRefunds is the test to keep: the fixed workflow passes.
func TestRefunds(t *testing.T) {
	simulate.Check(t, refundsFixed, refundOptions())
}

// TestRefundsBug is the tutorial's bug: a refund delivered before the charge
// completes is accepted. The check is expected to fail, so it runs on a
// simulate.Recorder instead of t, and the test asserts what the report says.
func TestRefundsBug(t *testing.T) {
	report := expectFailure(t, func(tb rapid.TB) { simulate.Check(tb, refundsBuggy, refundOptions()) })
	mustContain(t, report,
		"invariant broken: "+simulate.InvUser,
		"refunded 1 cents but captured only 0",
		`deliver refund({Cents:1}) to thread main at wait "service/requests"`)
}

// stampBuggy reads the wall clock in a step, the classic non-deterministic
// workflow code: a crash or a replay gives another value.
var stampBuggy = dsl.MustCompile[Receipt]("receipt", dsl.S(
	dsl.Step("stamp", func(s *Receipt) error { s.Issued = time.Now(); return nil }),
	dsl.Wait("sent", dsl.On("ack", dsl.Signal(func(s *Receipt, _ struct{}) (bool, error) { s.Acked = true; return true, nil }))),
))

// stampFixed reads the clock in an activity: it runs once in the host, and
// the workflow keeps its result.
var stampFixed = dsl.MustCompile[Receipt]("receipt", dsl.S(
	dsl.Call("stamp", func(ctx context.Context, _ Receipt) (time.Time, error) { return time.Now(), nil },
		func(s *Receipt, now time.Time) { s.Issued = now }),
	dsl.Wait("sent", dsl.On("ack", dsl.Signal(func(s *Receipt, _ struct{}) (bool, error) { s.Acked = true; return true, nil }))),
))

// Receipt is the state of the stamp workflows.
type Receipt struct {
	Issued time.Time
	Acked  bool
}

func TestStampBug(t *testing.T) {
	report := expectFailure(t, func(tb rapid.TB) { simulate.Check(tb, stampBuggy, simulate.Options[Receipt]{}) })
	mustContain(t, report, "invariant broken: "+simulate.InvDeterminism, "the same (state, meta, start event) gave different results")
}

func TestStamp(t *testing.T) {
	simulate.Check(t, stampFixed, simulate.Options[Receipt]{})
}

// refundsForever serves refunds with no closing timer: a service loop that
// never ends. The liveness phase flags it unless its wait is declared a
// resting place.
var refundsForever = dsl.MustCompile[Payment]("refunds", dsl.S(
	dsl.Go("capture",
		dsl.Call("charge", Charge, func(s *Payment, cents int) { s.Captured = cents }).Timeout(10*time.Second)),
	dsl.For("service",
		dsl.Wait("requests", dsl.On("refund", dsl.Signal(refundFixed)))),
))

func TestServiceLoopBug(t *testing.T) {
	opts := refundOptions()
	opts.LivenessSteps = 20 // the default 200 makes a long trace and a slow shrink
	report := expectFailure(t, func(tb rapid.TB) { simulate.Check(tb, refundsForever, opts) })
	mustContain(t, report, "invariant broken: "+simulate.InvLiveness,
		`stuck at: thread main at "service/requests" (waiting) waiting for custom refund`)
}

func TestServiceLoop(t *testing.T) {
	opts := refundOptions()
	opts.Resting = []string{"service/requests"}
	simulate.Check(t, refundsForever, opts)
}

// refundsV2 is the next release: a "close" event ends the service early.
// Adding an event to a wait is a safe change for parked instances.
var refundsV2 = dsl.MustCompile[Payment]("refunds", dsl.S(
	dsl.Go("capture",
		dsl.Call("charge", Charge, func(s *Payment, cents int) { s.Captured = cents }).
			Timeout(10*time.Second).
			Retry(dsl.RetryPolicy{MaxAttempts: 5, Initial: time.Second, Max: time.Minute}),
	),
	dsl.For("service",
		dsl.Wait("requests",
			dsl.On("refund", dsl.Signal(refundFixed)),
			dsl.On("close", dsl.Signal(func(s *Payment, _ struct{}) (int, error) { return s.Captured - s.Refunded, nil }), dsl.Break()),
			dsl.On("closed", dsl.After(30*24*time.Hour), dsl.Break()),
		),
	),
	dsl.Join("settled", "capture"),
))

// refundsRenamed renames the wait: instances parked at "service/requests"
// lose their position.
var refundsRenamed = dsl.MustCompile[Payment]("refunds", dsl.S(
	dsl.Go("capture",
		dsl.Call("charge", Charge, func(s *Payment, cents int) { s.Captured = cents }).
			Timeout(10*time.Second).
			Retry(dsl.RetryPolicy{MaxAttempts: 5, Initial: time.Second, Max: time.Minute}),
	),
	dsl.For("service",
		dsl.Wait("refund requests",
			dsl.On("refund", dsl.Signal(refundFixed)),
			dsl.On("closed", dsl.After(30*24*time.Hour), dsl.Break()),
		),
	),
	dsl.Join("settled", "capture"),
))

func TestRefundsUpgrade(t *testing.T) {
	opts := refundOptions()
	opts.Upgrade = refundsV2
	simulate.Check(t, refundsFixed, opts)
}

func TestRefundsUpgradeBug(t *testing.T) {
	opts := refundOptions()
	opts.Upgrade = refundsRenamed
	report := expectFailure(t, func(tb rapid.TB) { simulate.Check(tb, refundsFixed, opts) })
	mustContain(t, report, "invariant broken: "+simulate.InvPositions, `"service/requests"`)
}

// TestRefundsActions adds a scenario of its own to the random ones: refund
// everything that is left, read from the committed state.
func TestRefundsActions(t *testing.T) {
	opts := refundOptions()
	opts.Actions = map[string]func(*rapid.T, *simulate.Sim){
		"refund the rest": func(t *rapid.T, sim *simulate.Sim) {
			st, err := sim.State()
			if err != nil {
				t.Fatal(err)
			}
			p := st.(*Payment)
			left := p.Captured - p.Refunded
			if left == 0 {
				t.Skip("nothing to refund")
			}
			if err := sim.Send("refund", Refund{Cents: left}); err != nil && !errors.Is(err, interp.ErrRejected) {
				t.Skip(err) // nobody waits for a refund (ended, canceled), or the host crashed
			}
		},
	}
	simulate.Check(t, refundsFixed, opts)
}

// TestRefundsOnBolt runs the simulated host on bbolt files instead of the
// in-memory store, reopening the file at every simulated crash: what the
// file holds after a crash must be exactly what was acknowledged.
func TestRefundsOnBolt(t *testing.T) {
	dir := t.TempDir()
	var opened []*reopening
	t.Cleanup(func() {
		for _, s := range opened {
			s.Close()
		}
	})
	opts := refundOptions()
	opts.Store = func(storage.Store) storage.Store {
		// A fresh file per simulated run: each run starts the same instance.
		s := &reopening{path: filepath.Join(dir, fmt.Sprintf("run-%d.db", len(opened)))}
		s.open()
		opened = append(opened, s)
		return s
	}
	simulate.Check(t, refundsFixed, opts)
}

// reopening is a bolt store that the simulator's crashes close and reopen.
type reopening struct {
	path string
	*bolt.Store
}

func (r *reopening) open() {
	s, err := bolt.Open(r.path, bolt.WithUnsafeNoSync())
	if err != nil {
		panic(err)
	}
	r.Store = s
}

// Crash is called by the simulator at every simulated crash.
func (r *reopening) Crash() {
	r.Store.Close()
	r.open()
}

// TestRefundsHost checks a host wrapper: here one that retries an event
// once when the store reports a conflict, as a production host might. The
// simulator checks that it neither loses nor invents events.
func TestRefundsHost(t *testing.T) {
	opts := refundOptions()
	opts.Host = func(h simulate.Host) simulate.Host { return retryingHost{h} }
	simulate.Check(t, refundsFixed, opts)
}

type retryingHost struct{ simulate.Host }

func (h retryingHost) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	res, err := h.Host.Apply(ctx, id, ev)
	if errors.Is(err, storage.ErrConflict) {
		return h.Host.Apply(ctx, id, ev)
	}
	return res, err
}

// expectFailure runs a check that must fail on a Recorder and returns the
// failure report. rapid saves a fail file under testdata/rapid/<test> when
// a check fails, and replays it first on every later run; an expected
// failure must not leave one behind, so the check runs in a temporary
// directory.
func expectFailure(t *testing.T, check func(rapid.TB)) string {
	t.Helper()
	t.Chdir(t.TempDir())
	rec := &simulate.Recorder{TestName: t.Name()}
	check(rec)
	if !rec.Failed() {
		t.Fatal("the simulator found no failure")
	}
	report := rec.Report()
	t.Log(report)
	return report
}

func mustContain(t *testing.T, report string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(report, w) {
			t.Errorf("the report lacks %q", w)
		}
	}
}
