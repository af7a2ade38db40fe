package simulate_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage/memory"
)

// Basket takes lines only once it is opened; lines sent earlier wait in the
// inbox.
type Basket struct {
	Open  bool
	Lines []int
	Total int
}

var basketWF = dsl.MustCompile[Basket]("basket", dsl.S(
	dsl.Wait("open", dsl.On("open", dsl.Signal(func(s *Basket, _ bool) (bool, error) { s.Open = true; return true, nil }))),
	dsl.For("lines", dsl.Wait("line",
		dsl.On("add", dsl.Signal(func(s *Basket, n int) (int, error) {
			if n < 0 {
				return 0, errors.New("negative line")
			}
			s.Lines = append(s.Lines, n)
			s.Total += n
			return s.Total, nil
		})),
		dsl.On("close", dsl.Signal(func(s *Basket, _ bool) (bool, error) { return true, nil }), dsl.Break()),
	)),
))

// signalSpy counts what the simulated hosts were asked to apply.
type signalSpy struct {
	mu        sync.Mutex
	buffered  int // Signal events accepted into the inbox
	delivered int // transitions in which a buffered event left the inbox for a wait
}

type spyHost struct {
	simulate.Host
	spy *signalSpy
}

func (h spyHost) Apply(ctx context.Context, id string, ev interp.Event) (interp.Result, error) {
	res, err := h.Host.Apply(ctx, id, ev)
	if err == nil {
		h.spy.mu.Lock()
		defer h.spy.mu.Unlock()
		if ev.Kind == interp.EventSignal {
			h.spy.buffered++
		}
		for _, e := range res.Effects {
			if e.Kind == interp.EffectReply && e.Event == "add" && ev.Kind == interp.EventCallback && e.Callback != ev.Callback {
				h.spy.delivered++
				break
			}
		}
	}
	return res, err
}

// The simulator sends events before any thread waits for them and keeps
// every invariant through them: a buffered line is never lost or applied
// before the basket opens, and the stored record always equals the model.
func TestEarlySendsAreSimulated(t *testing.T) {
	spy := &signalSpy{}
	// Swarm runs may switch early sends off, or end before the basket
	// opens: a check of 100 runs reached a delivery of a buffered line in
	// about three of four tries, so the test gives it up to ten.
	for try := 0; try < 10 && (spy.buffered == 0 || spy.delivered == 0); try++ {
		checkBasket(t, spy)
	}
	if spy.buffered == 0 || spy.delivered == 0 {
		t.Errorf("the simulator buffered %d events and delivered a buffered one in %d transitions; want both", spy.buffered, spy.delivered)
	}

	off := &signalSpy{}
	simulate.Check(t, basketWF, simulate.Options[Basket]{NoEarlySends: true, Host: func(h simulate.Host) simulate.Host { return spyHost{h, off} }})
	if off.buffered != 0 {
		t.Errorf("NoEarlySends: %d events buffered", off.buffered)
	}
}

// checkBasket runs the simulator on the basket, counting into spy.
func checkBasket(t *testing.T, spy *signalSpy) {
	simulate.Check(t, basketWF, simulate.Options[Basket]{
		Invariant: func(s *Basket) error {
			if len(s.Lines) > 0 && !s.Open {
				return errors.New("a line was added before the basket opened")
			}
			sum := 0
			for _, n := range s.Lines {
				sum += n
			}
			if sum != s.Total {
				return errors.New("total is not the sum of the lines")
			}
			return nil
		},
		Host: func(h simulate.Host) simulate.Host { return spyHost{h, spy} },
	})
}

// Verify reports the buffered events an upgrade drops: names no wait of
// the new version takes.
func TestVerifyReportsDroppedBufferedEvents(t *testing.T) {
	v2 := dsl.MustCompile[Basket]("basket", dsl.S(
		dsl.Wait("open", dsl.On("open", dsl.Signal(func(s *Basket, _ bool) (bool, error) { s.Open = true; return true, nil }))),
		dsl.Wait("line", dsl.On("close", dsl.Signal(func(s *Basket, _ bool) (bool, error) { return true, nil }))),
	), dsl.Version(2), dsl.Migrate(dsl.Migration{From: 1}))
	st := memory.New()
	e, err := engine.New(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(basketWF); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := e.Start(ctx, basketWF, "b1", Basket{}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct {
		name string
		p    any
	}{{"add", 2}, {"close", true}, {"add", 3}} {
		if err := e.Send(ctx, "b1", ev.name, ev.p, nil); err != nil {
			t.Fatal(err)
		}
	}
	var reports []simulate.InstanceReport
	if _, err := simulate.Verify(ctx, st, v2, simulate.VerifyOptions{}, func(r simulate.InstanceReport) error {
		reports = append(reports, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || !reports[0].OK || !cmp.Equal(reports[0].Dropped, []string{"add", "add"}) {
		t.Errorf("reports %+v, want b1 ok with two adds dropped", reports)
	}
}
