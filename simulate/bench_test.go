package simulate_test

import (
	"context"
	"errors"
	"flag"
	"strconv"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
	"pgregory.net/rapid"
)

// BenchmarkSimulatePizza measures the simulator on the pizza example with
// every invariant on. One op is one rapid check: a random run of actions,
// the liveness phase, and the same-seed replay on a fresh host.
//
// transitions/s counts the transitions the explored run committed (one per
// accepted event, one store write each) per second of the whole check.
// events/s counts every event the simulated hosts were given, accepted or
// rejected, in the run and in the replay: the host work the check does.
//
// "all actions" is the default configuration, where many runs end early
// (cancel, or the cart's 24-hour timer); "no cancel" turns cancellation off,
// so runs go deeper and commit more per check.
func BenchmarkSimulatePizza(b *testing.B) {
	b.Run("all actions", func(b *testing.B) { benchmarkSimulate(b, pizzaOptions()) })
	b.Run("no cancel", func(b *testing.B) {
		opts := pizzaOptions()
		opts.NoCancel = true
		benchmarkSimulate(b, opts)
	})
}

func benchmarkSimulate(b *testing.B, opts simulate.Options[pizza.Order]) {
	var runs, transitions, replayed, events int
	opts.Host = func(h simulate.Host) simulate.Host { return &countingHost{Host: h, n: &events} }
	opts.Store = func(s storage.Store) storage.Store {
		// Check builds two stores per check, the run's and then the
		// replay's, so every odd one belongs to an explored run.
		runs++
		if runs%2 == 1 {
			return &countingStore{Store: s, n: &transitions}
		}
		return &countingStore{Store: s, n: &replayed}
	}
	setFlag(b, "rapid.checks", strconv.Itoa(b.N))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	simulate.Check(quiet{b}, pizza.Workflow, opts)
	cpu = cpuTime() - cpu
	b.StopTimer()
	b.ReportMetric(float64(transitions)/b.Elapsed().Seconds(), "transitions/s")
	// The machine may be shared: per CPU second of this process (the run,
	// the replay and the garbage collector) is what one core does.
	if cpu > 0 {
		b.ReportMetric(float64(transitions)/cpu.Seconds(), "transitions/cpu-s")
	}
	b.ReportMetric(float64(transitions)/float64(b.N), "transitions/op")
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}

// pizzaOptions are the simulator options of the pizza example.
func pizzaOptions() simulate.Options[pizza.Order] {
	return simulate.Options[pizza.Order]{
		Input: func(t *rapid.T) pizza.Order { return pizza.Order{Customer: "bo"} },
		Payloads: map[string]func(*rapid.T) any{
			"add": func(t *rapid.T) any {
				return pizza.Add{Item: rapid.SampledFrom([]string{"margherita", "funghi", " "}).Draw(t, "item")}
			},
		},
		Invariant: func(s *pizza.Order) error {
			if s.Delivered && !s.Confirmed {
				return errors.New("delivered without confirmation")
			}
			return nil
		},
	}
}

// countingStore counts successful writes of an instance: its creation and
// every commit.
type countingStore struct {
	storage.Store
	n *int
}

func (c *countingStore) Create(ctx context.Context, inst storage.Instance, effects []storage.Effect) (uint64, error) {
	v, err := c.Store.Create(ctx, inst, effects)
	if err == nil {
		*c.n++
	}
	return v, err
}

func (c *countingStore) Commit(ctx context.Context, cm storage.Commit) (uint64, error) {
	v, err := c.Store.Commit(ctx, cm)
	if err == nil {
		*c.n++
	}
	return v, err
}

// countingHost counts the events a host is given.
type countingHost struct {
	simulate.Host
	n *int
}

func (h *countingHost) Start(ctx context.Context, def *dsl.Definition, id string, input any) error {
	*h.n++
	return h.Host.Start(ctx, def, id, input)
}

func (h *countingHost) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	*h.n++
	return h.Host.Apply(ctx, id, ev)
}

// quiet is the benchmark without rapid's "[rapid] OK, passed N tests" log.
type quiet struct{ *testing.B }

func (quiet) Logf(string, ...any) {}
func (quiet) Log(...any)          {}

// setFlag sets a command-line flag (rapid's are global) for the rest of tb.
func setFlag(tb testing.TB, name, value string) {
	tb.Helper()
	old := flag.Lookup(name).Value.String()
	if err := flag.Set(name, value); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = flag.Set(name, old) })
}
