package engine

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

// tallied is a counter whose instances wait for a signal, as most parked
// instances do.
type tallied struct{ N, M int }

var talliedWF = dsl.MustCompile[tallied]("tallied", dsl.For("loop",
	dsl.Wait("next", dsl.On("inc", dsl.Signal(func(s *tallied, by int) (int, error) { s.N += by; return s.N, nil })))))

// committedRecord is what a commit of a new instance id puts in the cache:
// Apply's result, encoded as the engine encodes it.
func committedRecord(t testing.TB, id string) loaded {
	res, err := interp.Apply(talliedWF, nil, interp.Meta{}, interp.Event{Kind: interp.EventStart, Instance: id, Time: time.Unix(1e9, 0)})
	if err != nil {
		t.Fatal(err)
	}
	inst, rec, _, err := encode(id, talliedWF.Name(), &res, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	inst.Version = 1
	return loaded{stored: inst, rec: rec, meta: res.Meta}
}

// The cache's byte bound is a bound on memory: what the entries cost is
// at least what they keep alive on the heap (a cost that forgot the slot
// or the decoded meta let the cache hold twice the memory it was allowed).
// Records committed and records loaded both count.
func TestRecordCacheCostCoversHeap(t *testing.T) {
	const n = 20_000
	for _, from := range []string{"committed", "loaded"} {
		t.Run(from, func(t *testing.T) {
			var c recordCache
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for i := range n {
				id := "instance-" + strconv.Itoa(i)
				l := committedRecord(t, id)
				if from == "loaded" {
					var err error
					if l, err = decodeStored(l.stored); err != nil {
						t.Fatal(err)
					}
				}
				c.put(id, &l)
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			held := int(after.HeapAlloc) - int(before.HeapAlloc)
			if c.size() != n {
				t.Fatalf("%d entries cached, want %d", c.size(), n)
			}
			if c.bytes < held {
				t.Fatalf("%d entries cost %d bytes but hold %d on the heap (%d against %d per entry)",
					n, c.bytes, held, c.bytes/n, held/n)
			}
			if c.bytes > 3*held {
				t.Fatalf("%d entries cost %d bytes, more than three times the %d they hold", n, c.bytes, held)
			}
			t.Logf("%d bytes per entry counted, %d held", c.bytes/n, held/n)
			runtime.KeepAlive(&c)
		})
	}
}

// Large records fill the byte bound with few entries, and the cache
// stays within it at every put.
func TestRecordCacheByteBound(t *testing.T) {
	var c recordCache
	big := make([]byte, 8<<10)
	for i := range cacheBytes / len(big) * 2 {
		id := "i" + strconv.Itoa(i)
		l := committedRecord(t, id)
		l.stored.Data = append([]byte(nil), big...)
		c.put(id, &l)
		if c.bytes > cacheBytes {
			t.Fatalf("after %d puts, %d bytes cached, bound %d", i+1, c.bytes, cacheBytes)
		}
	}
	if c.size() > cacheBytes/len(big) || c.size() < cacheBytes/len(big)/2 {
		t.Fatalf("%d entries of %d bytes cached within %d bytes", c.size(), len(big), cacheBytes)
	}
}
