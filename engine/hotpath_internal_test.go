package engine

import (
	"bytes"
	"context"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
	"pgregory.net/rapid"
)

// markEnded's hand-written encoding of a new instance's host data (none
// before) writes exactly what the codec writes for it, at any time.
func TestMarkEndedMatchesCodec(t *testing.T) {
	ns := rapid.OneOf(rapid.Int64Range(-30, 30), rapid.Int64Range(-1<<40, 1<<40), rapid.Int64Range(math.MinInt64, math.MaxInt64),
		rapid.Int64Range(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()))
	rapid.Check(t, func(t *rapid.T) {
		at := time.Unix(0, ns.Draw(t, "ns"))
		for _, host := range [][]byte{nil, {}} {
			got, err := markEnded("i", host, at)
			if err != nil {
				t.Fatal(err)
			}
			want, err := codec.Marshal(hostData{Ended: at.UnixNano()})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("markEnded at %d: %x, codec writes %x", at.UnixNano(), got, want)
			}
			h, err := decodeHost("i", got)
			if err != nil || h.Ended != at.UnixNano() || h.Keys != nil || h.Parent != nil {
				t.Fatalf("decoded %+v, %v", h, err)
			}
			if at.UnixNano() != 0 && !endedOnly(got) {
				t.Fatalf("endedOnly(%x) is false", got)
			}
			for n := range len(got) {
				if endedOnly(got[:n]) {
					t.Fatalf("endedOnly(%x), cut short, is true", got[:n])
				}
			}
		}
	})
}

// endedOnly is true only for host data that is a map of the end time
// alone: never for any with a parent link or a kept key, whatever its end
// time, nor for bytes that are not such a map.
func TestEndedOnlyMeansNoParent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := hostData{Ended: rapid.Int64().Draw(t, "ended")}
		if rapid.Bool().Draw(t, "parent") {
			h.Parent = &parentLink{ID: rapid.StringN(1, 8, -1).Draw(t, "parent id"), Callback: rapid.Uint64().Draw(t, "callback")}
		}
		if rapid.Bool().Draw(t, "key") {
			h.Keys = []keptKey{{Key: "k", Event: "e", Callback: 1}}
		}
		b, err := codec.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if want := h.Parent == nil && h.Keys == nil && h.Ended != 0; endedOnly(b) != want {
			t.Fatalf("endedOnly(%x) for %+v: %v, want %v", b, h, !want, want)
		}
		junk := rapid.SliceOfN(rapid.Byte(), 0, 12).Draw(t, "junk")
		if rapid.Bool().Draw(t, "like a map of the end time") {
			junk = append([]byte{0xa1, 2}, junk...)
		}
		if endedOnly(junk) {
			if d, err := decodeHost("i", junk); err != nil || d.Parent != nil || d.Keys != nil {
				t.Fatalf("endedOnly(%x) but it decodes to %+v, %v", junk, d, err)
			}
		}
	})
}

// get returns the cached record of id (the engine reads it through a
// held lock: getHeld).
func (c *recordCache) get(id string) (loaded, bool) {
	var l loaded
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := c.copyOut(c.m[id], &l)
	return l, ok
}

// The record cache, whose slots are recycled through a free list,
// answers as a map of the records put and not dropped since would, or
// misses (an evicted entry); no answer is ever another record's, or an
// older one. The instance locks kept in the same slots count their
// holders; through a held lock, the cache's Held methods act on the same
// records as by ID. A slot lives as long as a record or a lock needs it,
// and the bounds hold.
func TestRecordCacheModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var c recordCache
		model := map[string]uint64{}
		held := map[string]*slot{}
		all := []string{"a", "b", "c", "d", "e", "f"}
		ids := rapid.SampledFrom(all)
		for i := range rapid.IntRange(1, 200).Draw(t, "ops") {
			id := ids.Draw(t, "id")
			il := held[id] // nil: the Held methods act by ID
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0, 1:
				v := uint64(i + 1)
				c.putHeld(il, id, &loaded{stored: storage.Instance{ID: id, Version: v, Data: []byte(id)}})
				model[id] = v
			case 2:
				c.dropHeld(il, id)
				delete(model, id)
			case 3:
				c.forget()
				clear(model)
			case 4:
				if il == nil {
					p, err := c.lock(context.Background(), id)
					if err != nil {
						t.Fatal(err)
					}
					held[id] = p
				}
			case 5:
				if il != nil {
					c.unlock(id, il)
					delete(held, id)
				}
			}
			for _, id := range all {
				l, ok := c.get(id)
				want, has := model[id]
				if ok != has || ok && (l.stored.ID != id || l.stored.Version != want || string(l.stored.Data) != id) {
					t.Fatalf("get(%q) = %+v, %v; want version %d, %v", id, l.stored, ok, want, has)
				}
				if il := held[id]; il != nil {
					var h loaded
					if ok := c.getHeld(il, &h); ok != has || ok && h.stored.Version != want {
						t.Fatalf("getHeld(%q) = %+v, %v; want version %d, %v", id, h.stored, ok, want, has)
					}
				}
			}
			live := 0
			for _, id := range all {
				if _, ok := model[id]; ok || held[id] != nil {
					live++
				}
			}
			if c.size() != len(model) || c.locked() != len(held) || len(c.m) != live || len(c.free) > maxFree {
				t.Fatalf("size %d, want %d; %d locked, want %d; %d slots, want %d; %d free",
					c.size(), len(model), c.locked(), len(held), len(c.m), live, len(c.free))
			}
		}
	})
}

// Past its bounds the cache evicts, and what it still answers is right.
func TestRecordCacheEvicts(t *testing.T) {
	var c recordCache
	// As many entries as would cost twice the bound.
	one := (&loaded{stored: storage.Instance{ID: "i0", Data: []byte("i0")}}).cost()
	n := 2 * cacheBytes / one
	for i := range n {
		id := "i" + strconv.Itoa(i)
		c.put(id, &loaded{stored: storage.Instance{ID: id, Version: uint64(i), Data: []byte(id)}})
		if c.bytes > cacheBytes {
			t.Fatalf("%d bytes cached, bound %d", c.bytes, cacheBytes)
		}
	}
	hits := 0
	for i := range n {
		id := "i" + strconv.Itoa(i)
		if l, ok := c.get(id); ok {
			hits++
			if l.stored.ID != id || l.stored.Version != uint64(i) || string(l.stored.Data) != id {
				t.Fatalf("get(%q) = %+v", id, l.stored)
			}
		}
	}
	// Eviction stops once the cache is within its bound: no more than one
	// entry's cost below it.
	last := "i" + strconv.Itoa(n-1)
	if most := (&loaded{stored: storage.Instance{ID: last, Data: []byte(last)}}).cost(); hits != c.size() || c.bytes <= cacheBytes-most {
		t.Fatalf("%d hits, %d cached costing %d, want them all within %d of %d", hits, c.size(), c.bytes, most, cacheBytes)
	}
	for i := range n {
		c.drop("i" + strconv.Itoa(i))
	}
	if c.size() != 0 || len(c.free) != maxFree {
		t.Fatalf("size %d, %d free", c.size(), len(c.free))
	}
}

type carried struct{ N int }

// A worker that takes the jobs its own commits hand out (see carrier)
// performs each activity of a chain of Calls exactly once, delivers every
// result, and, with one worker for two instances, returns to the others'
// jobs after at most maxCarry jobs taken in a row: neither instance waits
// for the other's whole chain.
func TestCarrierChainOneWorker(t *testing.T) {
	const calls = 3 * maxCarry
	var (
		mu    sync.Mutex
		order []string // instance of each activity run, in order
		ids   = map[string]int{}
	)
	var body []dsl.Stmt
	for i := range calls {
		body = append(body, dsl.Call("call "+strconv.Itoa(i),
			func(ctx context.Context, s carried) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				id := EffectID(ctx)
				ids[id]++
				order = append(order, id[:1])
				return s.N + 1, nil
			},
			func(s *carried, v int) { s.N = v }))
	}
	body = append(body, dsl.ReturnWith(func(s *carried) int { return s.N }))
	def := dsl.MustCompile[carried]("carried", dsl.S(body...))
	store := memory.New()
	done := make(chan string, 2)
	e, err := New(store, WithWorkers(1), WithFinish(func(_ context.Context, info EffectInfo) error {
		done <- info.Instance
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Register(def); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for _, id := range []string{"a", "b"} { // (before Run: its first pass hands out both)
		if err := e.Start(ctx, def, id, carried{}); err != nil {
			t.Fatal(err)
		}
	}
	ran := make(chan error)
	go func() { ran <- e.Run(ctx) }()
	for range 2 {
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("the instances did not finish")
		}
	}
	// Every effect is acknowledged (the finish hook runs before its own
	// acknowledgement, and the group's).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		pending, err := store.Outbox(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox after the run: %d entries", len(pending))
		}
	}
	cancel()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		l, err := e.load(context.Background(), id)
		if err != nil || !l.meta.Status.Finished() {
			t.Fatalf("%s: %v, %v", id, l.meta.Status, err)
		}
		var out int
		if err := codec.Unmarshal(l.meta.Output, &out); err != nil || out != calls {
			t.Fatalf("%s returned %d (%v), want %d", id, out, err, calls)
		}
	}
	if len(ids) != 2*calls {
		t.Fatalf("%d activity effects ran, want %d", len(ids), 2*calls)
	}
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("activity %s ran %d times", id, n)
		}
	}
	run, longest := 0, 0
	for i := range order {
		if i > 0 && order[i] == order[i-1] {
			run++
		} else {
			run = 1
		}
		longest = max(longest, run)
	}
	if longest > maxCarry+1 {
		t.Fatalf("%d activities of one instance in a row with one worker (%v), want at most %d", longest, order, maxCarry+1)
	}
}

// An instance lock is held by one caller at a time; a waiter whose
// context ends gives up without taking it, even when the lock was handed
// to it at that moment (it goes on to the next waiter); nothing is left
// behind when all are done.
func TestInstanceLockWaiters(t *testing.T) {
	var c recordCache
	il, err := c.lock(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() {
		_, err := c.lock(ctx, "x")
		gaveUp <- err
	}()
	got := make(chan *slot)
	go func() {
		for !c.contended("x") {
			runtime.Gosched()
		}
		p, _ := c.lock(context.Background(), "x")
		got <- p
	}()
	for {
		c.mu.Lock()
		n := len(il.waiters)
		c.mu.Unlock()
		if n == 2 {
			break
		}
		runtime.Gosched()
	}
	cancel()
	if err := <-gaveUp; err == nil {
		t.Fatal("a waiter whose context ended took the lock")
	}
	c.unlock("x", il)
	p := <-got
	c.unlock("x", p)
	if c.locked() != 0 || len(c.m) != 0 {
		t.Fatalf("%d locked, %d slots left", c.locked(), len(c.m))
	}

	// Many callers, some giving up: never two inside at once.
	var inside atomic.Int32
	var two atomic.Bool
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				ctx, cancel := context.WithCancel(context.Background())
				if (g+i)%3 == 0 {
					go cancel()
				}
				p, err := c.lock(ctx, "y")
				if err == nil {
					if inside.Add(1) > 1 {
						two.Store(true)
					}
					runtime.Gosched()
					inside.Add(-1)
					c.unlock("y", p)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	if two.Load() || c.locked() != 0 || len(c.m) != 0 {
		t.Fatalf("two inside: %v; %d locked, %d slots left", two.Load(), c.locked(), len(c.m))
	}
}
