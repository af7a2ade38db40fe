package interp

import (
	"errors"
	"testing"

	"github.com/weftflow/weft/dsl"
)

// The barrier is what every exported entry point defers: a panic below it
// becomes an *InternalError and the partial result is dropped. The five
// thread bug was an index out of range in load; this replays that kind of
// panic through the barrier.
func TestBarrierTurnsPanicIntoInternalError(t *testing.T) {
	def := dsl.MustCompile[struct{}]("wf", dsl.S())
	run := func() (res Result, err error) {
		defer barrier("Apply", def, Meta{Instance: "i-7"}, &res, &err)
		res.State = []byte{1}
		var buf [4]*thread
		n := len(buf) + 1
		_ = buf[:n] // the slice that panicked before 86820a5
		return res, nil
	}
	res, err := run()
	if res.State != nil {
		t.Fatalf("partial result kept: %+v", res)
	}
	var ie *InternalError
	if !errors.As(err, &ie) || !errors.Is(err, ErrInternal) {
		t.Fatalf("err = %v, want an *InternalError", err)
	}
	if ie.Op != "Apply" || ie.Workflow != "wf" || ie.Instance != "i-7" {
		t.Fatalf("error fields %+v", ie)
	}
	var re interface{ RuntimeError() }
	if !errors.As(err, &re) {
		t.Fatalf("the runtime error is not reachable through Unwrap: %v", err)
	}
}
