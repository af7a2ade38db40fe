package simulate_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/simulate"
	"pgregory.net/rapid"
)

// The fuzz targets run the simulator with the fuzzer's bytes as the source
// of its choices instead of rapid's random generator: every draw (the next
// action, which event, its payload, where to crash) takes the next eight
// bytes, and an input that runs out before the run ends is skipped. Without
// -fuzz, go test runs the seed corpus below and testdata/fuzz/<target>;
// with
//
//	go test -run '^$' -fuzz '^FuzzPizza$' -fuzztime 1m ./simulate/
//
// the fuzzer mutates inputs, guided by coverage, for as long as asked.

func FuzzPizza(f *testing.F) {
	addSeeds(f)
	f.Fuzz(whitened(simulate.Fuzz(pizza.Workflow, pizzaOptions())))
}

func FuzzApproval(f *testing.F) {
	addSeeds(f)
	f.Fuzz(whitened(simulate.Fuzz(approval.Workflow, simulate.Options[approval.Request]{
		Input: func(t *rapid.T) approval.Request {
			return approval.Request{
				ID:     "r",
				User:   rapid.SampledFrom([]string{"", "ada"}).Draw(t, "user"),
				Amount: rapid.IntRange(0, 500).Draw(t, "amount"),
			}
		},
		Invariant: func(s *approval.Request) error {
			if s.Approved && s.Reason == "timed out" {
				return errors.New("approved and timed out")
			}
			return nil
		},
	})))
}

// addSeeds adds the seed corpus: inputs long enough for a whole run,
// liveness phase included (2 KiB is 256 draws).
func addSeeds(f *testing.F) {
	f.Add(make([]byte, 2048))
	f.Add(bytes.Repeat([]byte{0xff}, 2048))
	f.Add(keystream(1, 2048))
}

// whitened XORs the fuzzer's input with a fixed pseudo-random keystream
// before the simulator reads it. The map is one to one and byte for byte,
// so the fuzzer's mutations and coverage guidance work as before, but the
// runs of equal bytes a fuzzer loves no longer become runs of equal draws.
// Those make two false alarms today (see docs/simulation.md, "Fuzzing"):
// an all-zero input picks the first pending event in every liveness step,
// so a loop like the pizza cart never ends ("liveness"), and a repeated
// pattern can pick actions with nothing to do a hundred times in a row
// (rapid: "can't find a valid (non-skipped) action").
func whitened(target func(*testing.T, []byte)) func(*testing.T, []byte) {
	return func(t *testing.T, data []byte) {
		key := keystream(0x5eed, len(data))
		for i := range key {
			key[i] ^= data[i]
		}
		target(t, key)
	}
}

// keystream is n bytes of a fixed pseudo-random stream.
func keystream(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0xf022))
	b := make([]byte, n+7)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}
