package codec_test

import (
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
)

// benchState is a typical small workflow state.
type benchState struct {
	Order    string    `cbor:"1,keyasint"`
	Amount   int64     `cbor:"2,keyasint"`
	Items    []string  `cbor:"3,keyasint"`
	Paid     bool      `cbor:"4,keyasint"`
	Deadline time.Time `cbor:"5,keyasint"`
}

// benchMeta is shaped like the interpreter's meta for a one-thread instance.
type benchMeta struct {
	Instance string        `cbor:"1,keyasint,omitempty"`
	Seq      uint64        `cbor:"2,keyasint,omitempty"`
	Threads  []benchThread `cbor:"4,keyasint,omitempty"`
	Due      int64         `cbor:"6,keyasint,omitempty"`
}

type benchThread struct {
	ID    string `cbor:"1,keyasint"`
	Path  string `cbor:"2,keyasint,omitempty"`
	Phase uint8  `cbor:"3,keyasint,omitempty"`
}

func newBenchState() *benchState {
	return &benchState{
		Order:    "order-1234",
		Amount:   129_99,
		Items:    []string{"book", "lamp"},
		Paid:     true,
		Deadline: time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC),
	}
}

func newBenchMeta() *benchMeta {
	return &benchMeta{Instance: "inst-42", Seq: 7, Threads: []benchThread{{ID: "main", Path: "3.1", Phase: 4}}, Due: 1_700_000_000_000_000_000}
}

func BenchmarkMarshal(b *testing.B) {
	s := newBenchState()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.Marshal(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	data := mustMarshal(b, newBenchState())
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var s benchState
		if err := codec.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeRecord(b *testing.B) {
	r := codec.Record{Workflow: "checkout", State: mustMarshal(b, newBenchState()), Meta: mustMarshal(b, newBenchMeta())}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := codec.EncodeRecord(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	r := codec.Record{Workflow: "checkout", State: mustMarshal(b, newBenchState()), Meta: mustMarshal(b, newBenchMeta())}
	data, err := codec.EncodeRecord(r)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := codec.DecodeRecord(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckpoint is the codec's share of one workflow step: encode the
// state and the meta and wrap them in a record.
func BenchmarkCheckpoint(b *testing.B) {
	s, m := newBenchState(), newBenchMeta()
	b.ReportAllocs()
	for b.Loop() {
		state, err := codec.Marshal(s)
		if err != nil {
			b.Fatal(err)
		}
		meta, err := codec.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := codec.EncodeRecord(codec.Record{Workflow: "checkout", State: state, Meta: meta}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestore is the reverse: decode the record, the state and the meta.
func BenchmarkRestore(b *testing.B) {
	data, err := codec.EncodeRecord(codec.Record{Workflow: "checkout", State: mustMarshal(b, newBenchState()), Meta: mustMarshal(b, newBenchMeta())})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		r, err := codec.DecodeRecord(data)
		if err != nil {
			b.Fatal(err)
		}
		var s benchState
		if err := codec.Unmarshal(r.State, &s); err != nil {
			b.Fatal(err)
		}
		var m benchMeta
		if err := codec.Unmarshal(r.Meta, &m); err != nil {
			b.Fatal(err)
		}
	}
}
