package interp_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

type blob struct{ B []byte }

// A state that grows past what the codec stores is refused as too large,
// never as a corrupt instance, and the caller's state and meta stay as they
// were.
func TestStateTooLargeIsNotCorrupt(t *testing.T) {
	def := dsl.MustCompile[blob]("grow", dsl.S(
		dsl.Wait("go", dsl.On("now", dsl.After(time.Minute))),
		dsl.Step("grow", func(s *blob) error { s.B = make([]byte, codec.MaxBytes+1); return nil }),
	))
	i := start(t, def, blob{})
	state, meta := bytes.Clone(i.state), i.meta
	_, err := interp.Apply(def, i.state, i.meta, interp.Event{Kind: interp.EventResume, Time: t0.Add(time.Hour)})
	switch {
	case !errors.Is(err, codec.ErrTooLarge):
		t.Fatalf("err = %v, want one matching codec.ErrTooLarge", err)
	case errors.Is(err, interp.ErrCorrupt):
		t.Fatalf("err = %v matches ErrCorrupt; nothing is corrupt", err)
	case !bytes.Equal(state, i.state) || meta.Seq != i.meta.Seq:
		t.Fatal("Apply changed its inputs")
	}
}
