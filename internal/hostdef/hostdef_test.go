package hostdef_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/hostdef"
)

type order struct{ Total int }

func TestQuery(t *testing.T) {
	def := dsl.MustCompile[order]("q", dsl.Return(nil),
		dsl.Query("double", func(s *order) int { return s.Total * 2 }),
		dsl.Query("boom", func(s *order) int { panic("boom") }))
	state, err := codec.Marshal(&order{Total: 21})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := hostdef.Query(def, "double", state); err != nil || got != 42 {
		t.Errorf("Query(double) = %v, %v", got, err)
	}
	if _, err := hostdef.Query(def, "nope", state); !errors.Is(err, hostdef.ErrNoQuery) {
		t.Errorf("Query of a missing query: %v", err)
	}
	if _, err := hostdef.Query(def, "boom", state); !errors.Is(err, hostdef.ErrPanic) || err.Error() != "panic: boom" {
		t.Errorf("Query of a panicking query: %v", err)
	}
	if _, err := hostdef.Query(def, "double", []byte{0xff}); err == nil || errors.Is(err, hostdef.ErrPanic) || !strings.Contains(err.Error(), "state") {
		t.Errorf("Query on a state that does not decode: %v", err)
	}
}

func TestSetups(t *testing.T) {
	plain := dsl.MustCompile[order]("plain", dsl.Wait("w", dsl.On("poke", dsl.Signal(func(s *order, n int) (int, error) { return n, nil }))))
	setup := dsl.MustCompile[order]("setup", dsl.Wait("w", dsl.On("ask", dsl.SignalWithSetup("approve",
		func(s *order, n int) (int, error) { return n, nil }, func(s *order) any { return s.Total }))))
	child := dsl.MustCompile[order]("parent", dsl.Child("c", plain, func(s *order) order { return *s },
		func(s *order, out int, err error) error { return nil }))
	for _, c := range []struct {
		def  *dsl.Definition
		want bool
	}{{plain, false}, {setup, true}, {child, true}} {
		if got := hostdef.Setups(c.def); got != c.want {
			t.Errorf("Setups(%s) = %v, want %v", c.def.Name(), got, c.want)
		}
	}
}
