package defgen_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/weftflow/weft/internal/activity"
	"github.com/weftflow/weft/internal/defgen"
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

var (
	simDefs = flag.Int("defgen.simdefs", 3, "generated definitions TestSimulateGenerated runs through simulate.Check")
	seed    = flag.Uint64("defgen.seed", 0, "first seed of TestSimulateGenerated's definitions (0: random, printed)")
)

// TestInterpreterInvariants is property (a): random definitions driven
// through interp.Apply by random pending events, checking the
// interpreter's invariants after every event (see defgen.CheckInterp).
//
// It also keeps the generator from silently becoming weak: over the run it
// must draw every statement kind and nesting six deep, reach five live
// threads (never more than 32), and every wait and Call path it records
// must exist in the compiled definition.
func TestInterpreterInvariants(t *testing.T) {
	var total defgen.Stats
	rapid.Check(t, func(rt *rapid.T) {
		// Three definitions a check, so that -short (a fifth of the checks)
		// still drives sixty.
		for i := range 3 {
			d := defgen.Generator(defgen.Config{Panics: true}).Draw(rt, fmt.Sprintf("definition %d", i))
			for _, p := range d.WaitPaths() {
				if !d.Definition.Has(p) {
					rt.Fatalf("wait path %q is not a position of the definition:\n%s", p, d.Source())
				}
			}
			for p := range defgen.SimOptions(d).Activities {
				if _, ok := activity.Timeout(d.Definition, p); !ok {
					rt.Fatalf("SimOptions gives an activity for %q, which is not a Call:\n%s", p, d.Source())
				}
			}
			total.Add(defgen.CheckInterp(rt, d))
		}
	})
	t.Logf("covered: %s", total)
	if m := total.Missing(); len(m) > 0 {
		t.Errorf("kinds never generated: %v", m)
	}
	if total.Depth < 6 {
		t.Errorf("deepest nesting %d, want 6", total.Depth)
	}
	if total.MaxLive < 5 || total.MaxLive > defgen.MaxThreads {
		t.Errorf("most live threads %d, want between 5 and %d", total.MaxLive, defgen.MaxThreads)
	}
	// Signals: buffered, taken by a wait as it opens, refused for a full
	// inbox.
	if total.Actions["signal"] == 0 || total.Actions["buffered event taken"] == 0 || total.Errors["inbox full"] == 0 {
		t.Errorf("signals %d, buffered events taken %d, full inboxes %d: want each at least once",
			total.Actions["signal"], total.Actions["buffered event taken"], total.Errors["inbox full"])
	}
}

// TestSimulateGenerated is property (b): generated definitions (without
// panics, which the simulator reports as bugs) under simulate.Check, with
// the simulator's deploy action swapping in the same definition as
// version 2.
func TestSimulateGenerated(t *testing.T) {
	base := *seed
	if base == 0 {
		base = rand.Uint64() >> 1
	}
	t.Logf("definitions from -defgen.seed=%d", base)
	gen := defgen.Generator(defgen.Config{MaxStmts: 40})
	for i := range *simDefs {
		s := int(base + uint64(i))
		d := gen.Example(s)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("definition (-defgen.seed=%d -defgen.simdefs=1):\n%s", s, d.Source())
				}
			}()
			opts := defgen.SimOptions(d)
			// A deploy that changes nothing but the version, mid-flight.
			up, err := d.Upgraded(2)
			if err != nil {
				t.Fatalf("the same definition as version 2 does not compile: %v", err)
			}
			opts.Upgrade = up
			simulate.Check(t, d.Definition, opts)
		})
	}
}

// FuzzDefinitions is the fuzz target: the first 32 KiB of the input draw a
// definition and drive it through the interpreter's invariants; when the
// definition has no panics, the rest runs it through the simulator.
//
//	go test -run '^$' -fuzz '^FuzzDefinitions$' -fuzztime 2000x ./internal/defgen/
func FuzzDefinitions(f *testing.F) {
	for i := range 4 {
		f.Add(keystream(uint64(i+1), fuzzInterp+fuzzSim))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = whiten(data)
		half := min(len(data), fuzzInterp)
		panics := len(data) > 0 && data[0]&1 == 1
		var d *defgen.Def
		rapid.MakeFuzz(func(rt *rapid.T) {
			d = defgen.Generator(defgen.Config{Panics: panics}).Draw(rt, "definition")
			defgen.CheckInterp(rt, d)
		})(t, data[:half])
		if d == nil || panics {
			return
		}
		defer func() {
			if t.Failed() {
				t.Logf("definition:\n%s", d.Source())
			}
		}()
		simulate.Fuzz(d.Definition, defgen.SimOptions(d))(t, data[half:])
	})
}

// The fuzz input's bytes for the interpreter run (definition included) and
// for the simulator run: each draw takes eight bytes, and a part that runs
// out skips the input.
const (
	fuzzInterp = 32 << 10
	fuzzSim    = 16 << 10
)

// whiten XORs the input with a fixed pseudo-random stream, one to one, so
// the fuzzer's long runs of equal bytes do not become runs of equal choices.
func whiten(data []byte) []byte {
	key := keystream(0x5eed, len(data))
	for i := range key {
		key[i] ^= data[i]
	}
	return key
}

func keystream(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0xdef))
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}
