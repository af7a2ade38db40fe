package inspector_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/inspector"
	"github.com/weftflow/weft/storage/memory"
)

// benchStore is an engine over a memory store of n pizza orders, every
// tenth one with an item in its cart.
func benchStore(b *testing.B, n int) *engine.Engine {
	b.Helper()
	ctx := context.Background()
	e, err := engine.New(memory.New())
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Register(pizza.Workflow); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		id := fmt.Sprintf("order-%06d", i)
		if err := e.Start(ctx, pizza.Workflow, id, pizza.Order{Customer: id}); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if err := e.Send(ctx, id, "add", pizza.Add{Item: "margherita"}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e
}

func benchPage(b *testing.B, h http.Handler, path string) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			b.Fatalf("%s: %d", path, rec.Code)
		}
	}
}

// BenchmarkPages renders pages over a store of 100,000 instances: one
// page of the instance list (unfiltered, and filtered to a status no
// instance has, which reads the whole scan budget), an instance, and the
// diagram of the largest example with its counts (capped by the census
// limit).
func BenchmarkPages(b *testing.B) {
	e := benchStore(b, 100_000)
	h, err := inspector.New(e, inspector.WithUpgrades(pizza.WorkflowV2))
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []string{
		"/instances",
		"/instances?status=failed",
		"/instances?prefix=order-05",
		"/instance?id=order-050000",
		"/diagram?workflow=pizza",
	} {
		b.Run(p, func(b *testing.B) { benchPage(b, h, p) })
	}
	// Counting on every request (no count cache): the heat map reads the
	// live instances, up to the census limit.
	for _, census := range []int{10000, 5000} {
		uncached, err := inspector.New(e, inspector.WithScanLimits(5000, census), inspector.WithCountCache(0))
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range []string{"/", "/diagram?workflow=pizza"} {
			b.Run(fmt.Sprintf("%s (uncached, census %d)", p, census), func(b *testing.B) { benchPage(b, uncached, p) })
		}
	}
}
