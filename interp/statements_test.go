package interp_test

import (
	"testing"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
)

type counter struct {
	N    int
	Log  []string
	Flag bool
}

func add(name string) *dsl.StepStmt {
	return dsl.Step(name, func(s *counter) error { s.N++; s.Log = append(s.Log, name); return nil })
}

func logStep(name, msg string) *dsl.StepStmt {
	return dsl.Step(name, func(s *counter) error { s.Log = append(s.Log, msg); return nil })
}

type approver struct{}

func (approver) Handle(s *counter, yes bool) (string, error) { s.Flag = yes; return "noted", nil }
func (approver) Setup(s *counter) any                        { return map[string]int{"n": s.N} }

func TestBadEvents(t *testing.T) {
	def := dsl.MustCompile[counter]("b", dsl.Wait("w", dsl.On("t", dsl.After(time.Hour))))
	i := start(t, def, nil)
	wantErr(t, i.apply(interp.Event{Kind: interp.EventStart, Instance: "again"}), interp.ErrBadEvent)
	wantErr(t, i.apply(interp.Event{Kind: 42}), interp.ErrBadEvent)
	_, err := interp.Apply(def, nil, interp.Meta{}, interp.Event{Kind: interp.EventResume, Time: t0})
	wantErr(t, err, interp.ErrBadEvent)
	_, err = interp.Apply(def, []byte{0xff}, i.meta, interp.Event{Kind: interp.EventResume, Time: t0.Add(time.Hour)})
	wantErr(t, err, interp.ErrCorrupt)
}

func effectKinds(es []interp.Effect) []interp.EffectKind {
	var out []interp.EffectKind
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}
