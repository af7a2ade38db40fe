package defgen_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weftflow/weft/internal/defgen"
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

var (
	simDefs = flag.Int("defgen.simdefs", 4, "generated definitions TestSimulateGenerated runs through simulate.Check")
	seed    = flag.Uint64("defgen.seed", 0, "first seed of TestSimulateGenerated's definitions (0: random, printed)")
)

// TestInterpreterInvariants is property (a): random definitions driven
// through interp.Apply by random pending events, checking the
// interpreter's invariants after every event (see defgen.CheckInterp).
func TestInterpreterInvariants(t *testing.T) {
	var total defgen.Stats
	rapid.Check(t, func(rt *rapid.T) {
		d := defgen.Generator(defgen.Config{Panics: true}).Draw(rt, "definition")
		total.Add(defgen.CheckInterp(rt, d))
	})
	t.Logf("covered: %s", total)
}

// TestSimulateGenerated is property (b): generated definitions (without
// panics, which the simulator reports as bugs) under simulate.Check.
func TestSimulateGenerated(t *testing.T) {
	base := *seed
	if base == 0 {
		base = rand.Uint64() >> 1
	}
	t.Logf("definitions from -defgen.seed=%d", base)
	gen := defgen.Generator(defgen.Config{})
	for i := range *simDefs {
		s := int(base + uint64(i))
		d := gen.Example(s)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			defer func() {
				if t.Failed() {
					t.Logf("definition (-defgen.seed=%d -defgen.simdefs=1):\n%s", s, d.Source())
				}
			}()
			simulate.Check(t, d.Definition, defgen.SimOptions(d))
		})
	}
}

// TestGeneratorCoverage keeps the generator from silently becoming weak:
// over a fixed set of seeds it must draw every statement kind and nesting
// six deep, every wait path must exist in the compiled definition, and
// runs must reach at least five live threads, never more than 32.
func TestGeneratorCoverage(t *testing.T) {
	var total defgen.Stats
	runs := 0
	rapid.Check(t, func(rt *rapid.T) {
		// Five definitions a check, so that -short (a fifth of the checks)
		// still sees a hundred runs.
		for i := range 5 {
			runs++
			d := defgen.Generator(defgen.Config{Panics: true}).Draw(rt, fmt.Sprintf("definition %d", i))
			for _, p := range d.WaitPaths() {
				if !d.Definition.Has(p) {
					rt.Fatalf("wait path %q is not a position of the definition:\n%s", p, d.Source())
				}
			}
			total.Add(defgen.CheckInterp(rt, d))
		}
	})
	t.Logf("%d runs covered: %s", runs, total)
	if m := total.Missing(); len(m) > 0 {
		t.Errorf("kinds never generated: %v", m)
	}
	if total.Depth < 6 {
		t.Errorf("deepest nesting %d, want 6", total.Depth)
	}
	if total.MaxLive < 5 || total.MaxLive > defgen.MaxThreads {
		t.Errorf("most live threads %d, want between 5 and %d", total.MaxLive, defgen.MaxThreads)
	}
}

// FuzzDefinitions is the fuzz target: the first half of the input draws a
// definition and drives it through the interpreter's invariants; when the
// definition has no panics, the second half runs it through the simulator.
//
//	go test -run '^$' -fuzz '^FuzzDefinitions$' -fuzztime 2000x ./internal/defgen/
func FuzzDefinitions(f *testing.F) {
	for i := range 4 {
		f.Add(keystream(uint64(i+1), 8192))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = whiten(data)
		half := len(data) / 16 * 8
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

var _ = time.Second
