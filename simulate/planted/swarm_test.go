package planted_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// purchase is the state of a six-step order: fill the cart, give an address,
// pay, confirm, ship, deliver.
type purchase struct {
	Items     []string
	Address   string
	Charged   int
	Confirmed bool
	Shipped   bool
	Delivered bool
	Refunded  int
	Closed    bool
}

func signal[P any](set func(s *purchase, p P)) dsl.Trigger {
	return dsl.Signal(func(s *purchase, p P) (bool, error) { set(s, p); return true, nil })
}

// checkout has a bug only a cancel after the payment and before the
// shipment reaches: its cleanup refunds only what was shipped.
var checkout = dsl.MustCompile[purchase]("checkout", dsl.S(
	dsl.For("cart", dsl.Wait("shop",
		dsl.On("add", signal(func(s *purchase, item string) { s.Items = append(s.Items, item) })),
		dsl.On("checkout", dsl.Signal(func(s *purchase, _ bool) (bool, error) {
			if len(s.Items) < 2 {
				return false, errors.New("the minimum order is two items")
			}
			return true, nil
		}), dsl.Break()),
		timeout())),
	dsl.Wait("address", dsl.On("address", signal(func(s *purchase, p string) { s.Address = p })), timeout()),
	dsl.Call("pay", func(ctx context.Context, s purchase) (int, error) { return 30, nil },
		func(s *purchase, cents int) { s.Charged = cents }).Retry(once),
	dsl.Wait("confirm", dsl.On("confirm", signal(func(s *purchase, ok bool) { s.Confirmed = true })), timeout()),
	dsl.Call("ship", func(ctx context.Context, s purchase) (bool, error) { return true, nil },
		func(s *purchase, ok bool) { s.Shipped = ok }).Retry(once),
	dsl.Wait("deliver", dsl.On("delivered", signal(func(s *purchase, ok bool) { s.Delivered = true })), timeout()),
), dsl.OnCancel(
	dsl.If("paid", func(s *purchase) bool { return s.Shipped }, // the bug: should be s.Charged > 0
		dsl.Call("refund", func(ctx context.Context, s purchase) (int, error) { return s.Charged, nil },
			func(s *purchase, cents int) { s.Refunded = cents })),
	dsl.Step("close", func(s *purchase) error { s.Closed = true; return nil }),
))

// once is a payment provider's policy: a failed charge is not retried.
var once = dsl.RetryPolicy{MaxAttempts: 1}

// timeout gives up on a customer who does not answer within the hour.
func timeout() dsl.OnClause { return dsl.On("timeout", dsl.After(time.Hour), dsl.Return("gave up")) }

func checkoutInvariant(s *purchase) error {
	if s.Closed && s.Refunded != s.Charged && !s.Delivered {
		return fmt.Errorf("canceled after paying %d cents, refunded %d", s.Charged, s.Refunded)
	}
	return nil
}

// TestCancelAfterPayment: uniform random runs needed about 800 checks to
// cancel between the payment and the shipment; swarm testing and coverage
// steering must find it within the default budget, every time.
func TestCancelAfterPayment(t *testing.T) {
	for i := range 5 {
		t.Run(fmt.Sprint("attempt ", i), func(t *testing.T) {
			wantCaught(t, simulate.InvUser, func(tb *simulate.Recorder) {
				simulate.Check(tb, checkout, simulate.Options[purchase]{Invariant: checkoutInvariant})
			})
		})
	}
}

// BenchmarkCancelAfterPayment measures how many runs a Check needs to find
// the checkout bug: runs-to-find is the mean over b.N Checks (each with
// rapid's default budget, 100 runs), missed the Checks that did not find
// it.
func BenchmarkCancelAfterPayment(b *testing.B) {
	runs, missed := 0, 0
	for range b.N {
		stores, at := 0, 0
		r := &simulate.Recorder{TestName: b.Name()}
		simulate.Check(r, checkout, simulate.Options[purchase]{
			// Every run creates two stores: its own and its replay's.
			Store: func(s storage.Store) storage.Store { stores++; return s },
			Invariant: func(s *purchase) error {
				err := checkoutInvariant(s)
				if err != nil && at == 0 {
					at = stores
				}
				return err
			},
		})
		if at == 0 {
			missed++
			at = stores
		}
		runs += (at + 1) / 2
	}
	b.ReportMetric(float64(runs)/float64(b.N), "runs-to-find")
	b.ReportMetric(float64(missed), "missed")
}

// The failing run's seed replays it as the first run of a new Check: which
// runs a Check skips depends on earlier runs, but a run itself depends only
// on its draws.
func TestSteeredFailureReplaysFromItsSeed(t *testing.T) {
	for i := range 3 {
		r := &simulate.Recorder{TestName: t.Name()}
		simulate.Check(r, checkout, simulate.Options[purchase]{Invariant: checkoutInvariant})
		m := regexp.MustCompile(`-rapid\.seed=(\d+)`).FindStringSubmatch(r.Report())
		if m == nil {
			t.Fatalf("attempt %d: no seed in the report:\n%s", i, r.Report())
		}
		old := flag.Lookup("rapid.seed").Value.String()
		if err := flag.Set("rapid.seed", m[1]); err != nil {
			t.Fatal(err)
		}
		again := &simulate.Recorder{TestName: t.Name()}
		simulate.Check(again, checkout, simulate.Options[purchase]{Invariant: checkoutInvariant})
		if err := flag.Set("rapid.seed", old); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(again.Report(), "invariant broken: "+simulate.InvUser) || !strings.Contains(again.Report(), "failed after 0 tests") {
			t.Fatalf("attempt %d: -rapid.seed=%s did not replay the failure as the first run:\n%s", i, m[1], again.Report())
		}
	}
}
