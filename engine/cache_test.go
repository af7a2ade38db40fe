package engine_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// Tests of the record cache: an engine starts the next transition of an
// instance from the record it committed or loaded last. Each test changes
// the store behind the engine's back and checks that no stale record
// decides anything, and counts the store's loads to show that the cache was
// in play (a test that never hits the cache proves nothing).

// twoStepWF waits for "go", then for "second"; each handler counts.
var twoStepWF = dsl.MustCompile[Count]("two-step", dsl.S(
	dsl.Wait("first", dsl.On("go", dsl.Signal(func(s *Count, by int) (int, error) { s.N += by; return s.N, nil }))),
	dsl.Wait("then", dsl.On("second", dsl.Signal(func(s *Count, by int) (int, error) { s.N += by; return s.N, nil }))),
	dsl.Wait("last", dsl.On("never", dsl.Signal(func(s *Count, by int) (int, error) { return s.N, nil }))),
))

// doneWF finishes at its start.
var doneWF = dsl.MustCompile[Count]("done", dsl.Step("s", func(*Count) error { return nil }))

// spyStore counts loads and can make the next commit fail, before or after
// writing (a commit whose outcome the engine cannot know).
type spyStore struct {
	storage.Store
	mu        sync.Mutex
	loads     int
	failNext  bool // the next commit returns an error
	applyNext bool // ... after committing it
}

var errLost = errors.New("connection lost")

func (s *spyStore) Load(ctx context.Context, id string) (storage.Instance, error) {
	s.mu.Lock()
	s.loads++
	s.mu.Unlock()
	return s.Store.Load(ctx, id)
}

func (s *spyStore) Commit(ctx context.Context, c storage.Commit) (uint64, error) {
	s.mu.Lock()
	fail, apply := s.failNext, s.applyNext
	s.failNext, s.applyNext = false, false
	s.mu.Unlock()
	if !fail {
		return s.Store.Commit(ctx, c)
	}
	if apply {
		if _, err := s.Store.Commit(ctx, c); err != nil {
			return 0, err
		}
	}
	return 0, errLost
}

// takeLoads returns the loads counted since the last call.
func (s *spyStore) takeLoads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.loads
	s.loads = 0
	return n
}

func (s *spyStore) failCommit(applied bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.applyNext = true, applied
}

// spyEnv is an env whose engine works through a spyStore.
func spyEnv(t *testing.T, defs ...*dsl.Definition) (*env, *spyStore) {
	t.Helper()
	v := newEnv(t, defs)
	spy := &spyStore{Store: v.store}
	v.e = newEngine(t, spy, engine.WithClock(v.clock))
	if err := v.e.Register(defs...); err != nil {
		t.Fatal(err)
	}
	return v, spy
}

func send(t *testing.T, e *engine.Engine, id, event string, by int) int {
	t.Helper()
	var got int
	if err := e.Send(t.Context(), id, event, by, &got); err != nil {
		t.Fatalf("send %s to %s: %v", event, id, err)
	}
	return got
}

// With nothing else writing, consecutive events of an instance load
// nothing: the cache is used.
func TestCacheHitLoadsNothing(t *testing.T) {
	v, spy := spyEnv(t, counterWF)
	v.start(counterWF, "c", Count{})
	spy.takeLoads()
	for i := 1; i <= 5; i++ {
		if got := send(t, v.e, "c", "inc", 1); got != i {
			t.Fatalf("reply %d, want %d", got, i)
		}
	}
	if n := spy.takeLoads(); n != 0 {
		t.Fatalf("%d loads for 5 events on a cached instance, want 0", n)
	}
}

// Another engine commits behind this one's back: the cached record is
// stale, the commit's compare-and-set fails, and the event is applied to
// the record the store holds.
func TestCacheAnotherEngineCommits(t *testing.T) {
	v, spy := spyEnv(t, counterWF)
	other := v.engine([]*dsl.Definition{counterWF})
	v.start(counterWF, "c", Count{})
	send(t, v.e, "c", "inc", 1) // cached at N=1
	send(t, other, "c", "inc", 10)
	spy.takeLoads()
	if got := send(t, v.e, "c", "inc", 100); got != 111 {
		t.Fatalf("reply %d after another engine's commit, want 111 (a stale cached record was used)", got)
	}
	if n := spy.takeLoads(); n != 1 {
		t.Fatalf("%d loads, want 1: the cached record first, the reload after the conflict", n)
	}
	if got := send(t, v.e, "c", "inc", 1000); got != 1111 {
		t.Fatalf("reply %d, want 1111", got)
	}
}

// A stale cached record must not reject an event the stored record
// accepts, nor accept one the stored record rejects.
func TestCacheStaleRejection(t *testing.T) {
	v, spy := spyEnv(t, twoStepWF)
	other := v.engine([]*dsl.Definition{twoStepWF})
	v.start(twoStepWF, "a", Count{}) // cached waiting for "go"
	send(t, other, "a", "go", 1)     // the store now waits for "second"
	spy.takeLoads()
	// By the cached record nothing waits for "second".
	if got := send(t, v.e, "a", "second", 10); got != 11 {
		t.Fatalf("reply %d, want 11", got)
	}
	if n := spy.takeLoads(); n != 1 {
		t.Fatalf("%d loads, want 1: the rejection by the cached record is checked once", n)
	}

	v.start(twoStepWF, "b", Count{}) // cached waiting for "go"
	send(t, other, "b", "go", 1)
	// By the cached record "go" is accepted, by the store's it is not.
	err := v.e.Send(v.ctx, "b", "go", 5, nil, engine.NoBuffer())
	if !errors.Is(err, engine.ErrNoSuchWait) {
		t.Fatalf("send of an event the stored record does not wait for: %v, want ErrNoSuchWait", err)
	}
	if got := v.get("b"); string(got.State) != string(mustState(t, twoStepWF, Count{N: 1})) {
		t.Fatalf("state %x changed by a rejected event", got.State)
	}

	// A rejection that stands is checked against the store, which holds
	// the cached record: one load, the same error.
	spy.takeLoads()
	err = v.e.Send(v.ctx, "b", "go", 5, nil, engine.NoBuffer())
	if !errors.Is(err, engine.ErrNoSuchWait) {
		t.Fatalf("second send: %v, want ErrNoSuchWait", err)
	}
	if n := spy.takeLoads(); n != 1 {
		t.Fatalf("%d loads for a rejection, want 1", n)
	}
}

// mustState is the encoding of a state as the engine stores it.
func mustState(t *testing.T, def *dsl.Definition, s Count) []byte {
	t.Helper()
	v := newEnv(t, []*dsl.Definition{def})
	v.start(def, "x", s)
	return v.get("x").State
}

// A commit whose outcome is unknown (an error, but the store may have
// written it) leaves nothing cached: the next event, accepted or rejected
// by the old record, is decided by what the store holds.
func TestCacheUnknownCommitOutcome(t *testing.T) {
	for _, applied := range []bool{true, false} {
		t.Run("applied="+strconv.FormatBool(applied), func(t *testing.T) {
			v, spy := spyEnv(t, twoStepWF)
			v.start(twoStepWF, "a", Count{})
			spy.failCommit(applied)
			if err := v.e.Send(v.ctx, "a", "go", 1, nil); !errors.Is(err, errLost) {
				t.Fatalf("send with a failing commit: %v, want %v", err, errLost)
			}
			spy.takeLoads()
			if applied {
				if got := send(t, v.e, "a", "second", 10); got != 11 {
					t.Fatalf("reply %d, want 11", got)
				}
			} else if got := send(t, v.e, "a", "go", 10); got != 10 {
				t.Fatalf("reply %d, want 10", got)
			}
			if n := spy.takeLoads(); n != 1 {
				t.Fatalf("%d loads after a failed commit, want 1 (nothing cached)", n)
			}
		})
	}
}

// What Apply returns belongs to the caller: writing to it changes nothing
// the engine keeps.
func TestCacheResultIsTheCallers(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	v.start(counterWF, "c", Count{})
	callback := pending(t, v.get("c"), "inc").Callback
	res, err := v.e.Apply(v.ctx, "c", interp.Event{Kind: interp.EventCallback, Callback: callback, Payload: []byte{0x01}}) // CBOR 1
	if err != nil {
		t.Fatal(err)
	}
	clear(res.State)
	for i := range res.Meta.Threads {
		res.Meta.Threads[i].Path = "nowhere"
		for j := range res.Meta.Threads[i].Waits {
			res.Meta.Threads[i].Waits[j].Callback = 999
			res.Meta.Threads[i].Waits[j].Event = "nothing"
		}
	}
	res.Meta.Recent[0] = 999
	if got := send(t, v.e, "c", "inc", 10); got != 11 {
		t.Fatalf("reply %d after the caller wrote to a result, want 11", got)
	}
}

// The cache is bounded and keeps no finished instance.
func TestCacheBounded(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF, doneWF})
	// Start instances until the cache evicts, and 500 more.
	started, full := 0, -1
	for ; full < 0 || started < full+500; started++ {
		v.start(counterWF, "c"+strconv.Itoa(started), Count{})
		if full < 0 && engine.CachedRecords(v.e) < started+1 {
			full = started
		}
		if got := engine.CachedBytes(v.e); got > engine.CacheBytes {
			t.Fatalf("%d bytes cached after %d starts, bound %d", got, started+1, engine.CacheBytes)
		}
	}
	// Each record costs about a kilobyte: the bound holds tens of
	// thousands, and eviction stops as soon as the cache is within it.
	if n, got := engine.CachedRecords(v.e), engine.CachedBytes(v.e); n < engine.CacheBytes/2048 || got < engine.CacheBytes-4096 {
		t.Fatalf("%d records, %d bytes cached after %d starts (full at %d), want at least %d records and %d bytes",
			n, got, started, full, engine.CacheBytes/2048, engine.CacheBytes-4096)
	}
	engine.ForgetRecords(v.e)
	v.start(doneWF, "d", Count{})
	v.wantStatus("d", interp.StatusCompleted)
	if n := engine.CachedRecords(v.e); n != 0 {
		t.Fatalf("%d records cached for a finished instance, want 0", n)
	}
}

// Two engines on one store, each with several callers, send to the same
// instances at once: every event is applied exactly once, whatever each
// engine has cached.
func TestCacheTwoEnginesConcurrent(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{counterWF})
	engines := []*engine.Engine{v.e, v.engine([]*dsl.Definition{counterWF})}
	ids := []string{"x", "y"}
	for _, id := range ids {
		v.start(counterWF, id, Count{})
	}
	const callers, sends = 4, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	replies := map[string]map[int]bool{"x": {}, "y": {}}
	for c := range 2 * callers {
		wg.Go(func() {
			e := engines[c%2]
			for i := range sends {
				id := ids[(c+i)%2]
				var got int
				if err := e.Send(v.ctx, id, "inc", 1, &got); err != nil {
					t.Errorf("send: %v", err)
					return
				}
				mu.Lock()
				if replies[id][got] {
					t.Errorf("%s: reply %d twice: an event was applied to a stale record", id, got)
				}
				replies[id][got] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := 0
	for _, id := range ids {
		total += len(replies[id])
		if got := send(t, engines[0], id, "inc", 0); got != len(replies[id]) {
			t.Fatalf("%s: count %d, want %d", id, got, len(replies[id]))
		}
	}
	if total != 2*callers*sends {
		t.Fatalf("%d events applied, want %d", total, 2*callers*sends)
	}
}

// A store that panics while a rejection by the cached record is checked:
// the panic is recovered into a *PanicError for the instance, and nothing
// stays cached.
func TestCachePanicWhileChecking(t *testing.T) {
	v := newEnv(t, []*dsl.Definition{twoStepWF})
	store := &bombStore{Store: v.store, bad: "a"}
	v.e = newEngine(t, store, engine.WithClock(v.clock))
	if err := v.e.Register(twoStepWF); err != nil {
		t.Fatal(err)
	}
	v.start(twoStepWF, "a", Count{}) // cached, waiting for "go"
	store.arm("Load", 1)
	wantPanic(t, v.e.Send(v.ctx, "a", "second", 1, nil, engine.NoBuffer()), "a", "load")
	if n := engine.CachedRecords(v.e); n != 0 {
		t.Fatalf("%d records cached after a panic, want 0", n)
	}
	if got := send(t, v.e, "a", "go", 1); got != 1 {
		t.Fatalf("reply %d, want 1", got)
	}
}
