package simulate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// BenchmarkVerify100k verifies 100,000 stored pizza v1 instances (parked in
// the cart with an item) against v2 with its migration: static checks only,
// streamed from a bbolt file. It reports instances/s and the heap in use
// while verifying, which must not grow with the number of instances.
//
//	go test -run '^$' -bench Verify100k -benchtime 1x ./simulate/
func BenchmarkVerify100k(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "verify.db")
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		b.Fatal(err)
	}
	// One v1 instance, parked in the cart with an item, stored n times.
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	r, err := interp.Apply(pizza.Workflow, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Time: now, Instance: "x"})
	if err != nil {
		b.Fatal(err)
	}
	item, _ := codec.Marshal(pizza.Add{Item: "margherita"})
	r, err = interp.Apply(pizza.Workflow, r.State, r.Meta, interp.Event{Kind: interp.EventCallback, Time: now, Callback: r.Meta.Threads[0].Waits[0].Callback, Payload: item})
	if err != nil {
		b.Fatal(err)
	}
	data, err := codec.EncodeRecord(codec.Record{Workflow: "pizza", State: r.State, Meta: interp.EncodeMeta(r.Meta)})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 100 {
				inst := storage.Instance{ID: fmt.Sprintf("order-%06d", i), Workflow: "pizza", Status: "running", Data: data}
				if _, err := st.Create(context.Background(), inst, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	ro, err := bolt.Open(path, bolt.WithReadOnly())
	if err != nil {
		b.Fatal(err)
	}
	defer ro.Close()

	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		seen := 0
		sum, err := simulate.Verify(context.Background(), ro, pizza.WorkflowV2, simulate.VerifyOptions{}, func(r simulate.InstanceReport) error {
			if seen++; seen%10_000 == 0 {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > base.HeapInuse && ms.HeapInuse-base.HeapInuse > peak {
					peak = ms.HeapInuse - base.HeapInuse
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if sum.Instances != n || sum.OK != n {
			b.Fatalf("summary %+v", sum)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "instances/s")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-growth")
}
