package interp_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

func genMeta() *rapid.Generator[interp.Meta] {
	str := rapid.StringMatching(`[a-z/@\[\]0-9 ]{0,12}`)
	// Times as the interpreter makes them: UTC, or the zero time for "none",
	// from any int64 of Unix nanoseconds (the edges of the range included).
	i64 := rapid.OneOf(rapid.Just(int64(0)), rapid.Int64(), rapid.Int64Range(-30, 30),
		rapid.SampledFrom([]int64{1<<63 - 1, -1 << 63, 1767225600123456789}))
	tm := rapid.Map(i64, unixTime)
	u64 := rapid.OneOf(rapid.Just(uint64(0)), rapid.Uint64(), rapid.Uint64Range(0, 300))
	nilIfEmpty := func(s []uint64) []uint64 {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	pending := rapid.Custom(func(t *rapid.T) interp.Pending {
		return interp.Pending{Callback: u64.Draw(t, "cb"), Event: str.Draw(t, "ev"), Kind: interp.TriggerKind(rapid.IntRange(0, 3).Draw(t, "k")),
			At: tm.Draw(t, "at"), Attempt: rapid.Uint32().Draw(t, "att"), Setup: rapid.Bool().Draw(t, "s"), Type: str.Draw(t, "ty")}
	})
	thread := rapid.Custom(func(t *rapid.T) interp.Thread {
		th := interp.Thread{ID: str.Draw(t, "id"), Path: str.Draw(t, "path"), Phase: interp.Phase(rapid.IntRange(0, 5).Draw(t, "ph")),
			Attempt: rapid.Uint32().Draw(t, "a"), At: tm.Draw(t, "at")}
		if w := rapid.SliceOfN(pending, 0, 3).Draw(t, "waits"); len(w) > 0 {
			th.Waits = w
		}
		return th
	})
	return rapid.Custom(func(t *rapid.T) interp.Meta {
		m := interp.Meta{Instance: str.Draw(t, "i"), Seq: u64.Draw(t, "seq"), Status: interp.Status(rapid.IntRange(0, 4).Draw(t, "st")),
			NextCallback: u64.Draw(t, "nc"), Due: tm.Draw(t, "due"), Started: tm.Draw(t, "started"),
			Version: rapid.Uint32().Draw(t, "v"), Yielded: str.Draw(t, "y"), Recent: nilIfEmpty(rapid.SliceOfN(rapid.Uint64(), 0, 4).Draw(t, "r"))}
		if th := rapid.SliceOfN(thread, 0, 3).Draw(t, "threads"); len(th) > 0 {
			m.Threads = th
		}
		if o := rapid.SliceOfN(rapid.Byte(), 0, 5).Draw(t, "out"); len(o) > 0 {
			m.Output = o
		}
		if rapid.Bool().Draw(t, "failed") {
			m.Failure = &interp.Failure{Path: str.Draw(t, "fp"), Thread: str.Draw(t, "ft"), Message: str.Draw(t, "fm"), Panic: rapid.Bool().Draw(t, "fpanic")}
		}
		if mg := rapid.SliceOfN(rapid.Uint32(), 0, 3).Draw(t, "mig"); len(mg) > 0 {
			m.Migrated = mg
		}
		for range rapid.IntRange(0, 3).Draw(t, "inbox") {
			b := interp.Buffered{Event: str.Draw(t, "be"), At: tm.Draw(t, "bat")}
			if p := rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "bp"); len(p) > 0 {
				b.Payload = p
			}
			m.Inbox = append(m.Inbox, b)
		}
		if rapid.Bool().Draw(t, "terminated") {
			m.Terminated = &interp.Termination{Reason: str.Draw(t, "tr"), By: str.Draw(t, "tb"), At: tm.Draw(t, "tat")}
		}
		return m
	})
}

// The hand-written meta codec writes exactly what the generic encoder
// writes for the stored form (times as int64 Unix nanoseconds), and every
// way of reading it back (DecodeMeta's fast path, the generic decoder,
// codec.Unmarshal through Meta.UnmarshalCBOR) gives the same Meta, times
// included, equal by reflect.DeepEqual: UTC, no monotonic reading.
// codec.Marshal of a Meta, and of a value that holds one, writes those
// same bytes.
func TestMetaCodecMatchesGenericCodec(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMeta().Draw(t, "meta")
		want, err := interp.EncodeMetaGeneric(m)
		if err != nil {
			t.Fatal(err)
		}
		got := interp.EncodeMeta(m)
		if !bytes.Equal(want, got) {
			t.Fatalf("EncodeMeta\n got %x\nwant %x", got, want)
		}
		viaCodec, err := codec.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(viaCodec, want) {
			t.Fatalf("codec.Marshal\n got %x\nwant %x", viaCodec, want)
		}
		type holder struct {
			M interp.Meta `cbor:"1,keyasint"`
		}
		held, err := codec.Marshal(holder{m})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(held[2:], want) { // a1 01, then the meta
			t.Fatalf("codec.Marshal of a holder\n got %x\nwant a101%x", held, want)
		}

		back, err := interp.DecodeMeta(got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		if !reflect.DeepEqual(m, back) {
			t.Fatalf("round trip: equal by cmp, not by reflect.DeepEqual:\n%#v\n%#v", m, back)
		}
		generic, err := interp.DecodeMetaGeneric(got)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, generic) {
			t.Fatalf("generic decoder:\n%s", cmp.Diff(m, generic))
		}
		var viaUnmarshal interp.Meta
		if err := codec.Unmarshal(got, &viaUnmarshal); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, viaUnmarshal) {
			t.Fatalf("codec.Unmarshal:\n%s", cmp.Diff(m, viaUnmarshal))
		}
		var h holder
		if err := codec.Unmarshal(held, &h); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, h.M) {
			t.Fatalf("codec.Unmarshal of a holder:\n%s", cmp.Diff(m, h.M))
		}
	})
}

// The types a Meta holds write their times as stored on their own too:
// codec.Marshal of a Thread (with its Pendings), a Buffered or a
// Termination gives the bytes EncodeMeta writes for it inside a Meta.
func TestNestedTypesCodec(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMeta().Draw(t, "meta")
		for _, th := range m.Threads {
			roundTrip(t, th, func(w []byte) []byte { return inMeta(t, interp.Meta{Threads: []interp.Thread{th}}, 4, w) })
			for _, p := range th.Waits {
				roundTrip(t, p, nil)
			}
		}
		for _, b := range m.Inbox {
			roundTrip(t, b, func(w []byte) []byte { return inMeta(t, interp.Meta{Inbox: []interp.Buffered{b}}, 14, w) })
		}
		if m.Terminated != nil {
			roundTrip(t, *m.Terminated, func(w []byte) []byte { return inMeta(t, interp.Meta{Terminated: m.Terminated}, 16, w) })
		}
	})
}

// inMeta checks that the CBOR of m is a map of one field, key, holding
// (for the arrays, keys 4 and 14) one element, and returns that element.
func inMeta(t *rapid.T, m interp.Meta, key byte, w []byte) []byte {
	b := interp.EncodeMeta(m)
	head := []byte{0xa1, key}
	if key != 16 {
		head = append(head, 0x81)
	}
	if !bytes.HasPrefix(b, head) {
		t.Fatalf("EncodeMeta of one field %d: %x", key, b)
	}
	return b[len(head):]
}

func roundTrip[T any](t *rapid.T, v T, encodedInMeta func([]byte) []byte) {
	b, err := codec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if encodedInMeta != nil {
		if want := encodedInMeta(b); !bytes.Equal(b, want) {
			t.Fatalf("codec.Marshal(%T)\n got %x\nwant %x (as in a meta)", v, b, want)
		}
	}
	var back T
	if err := codec.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, back) {
		t.Fatalf("%T round trip:\n%s", v, cmp.Diff(v, back))
	}
}

// On any input the fast decoder either declines or agrees with the generic
// one, and never panics.
func FuzzDecodeMeta(f *testing.F) {
	f.Add(interp.EncodeMeta(interp.Meta{}))
	f.Add(interp.EncodeMeta(interp.Meta{Instance: "x", Seq: 3, Threads: []interp.Thread{{ID: "main", Path: "w", Phase: interp.PhaseWaiting,
		Waits: []interp.Pending{{Callback: 1, Event: "e", Kind: interp.Custom, Setup: true, Type: "t"}}}}, Failure: &interp.Failure{Message: "m"}}))
	f.Add(interp.EncodeMeta(interp.Meta{Instance: "x", Inbox: []interp.Buffered{{Event: "e", Payload: []byte{0x01}, At: time.Unix(0, 5).UTC()}, {Event: "f"}}}))
	f.Add(interp.EncodeMeta(interp.Meta{Instance: "x", Status: interp.StatusTerminated, Due: time.Unix(0, -7).UTC(),
		Terminated: &interp.Termination{Reason: "r", By: "b", At: time.Unix(0, 9).UTC()}}))
	f.Add([]byte{0xa1, 0x01, 0x61})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := interp.DecodeMeta(data)
		want, werr := interp.DecodeMetaGeneric(data)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeMeta err %v, generic err %v", err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeMeta disagrees with the generic decoder:\n%s", cmp.Diff(want, got))
		}
		if fast, ok := interp.DecodeMetaFast(data); ok && (werr != nil || !reflect.DeepEqual(fast, want)) {
			t.Fatalf("the fast path accepts what the generic decoder reads otherwise (%v):\n%s", werr, cmp.Diff(want, fast))
		}
		var viaCodec interp.Meta
		cerr := decode.Into("meta", data, &viaCodec)
		if (cerr == nil) != (err == nil) || (cerr != nil && !errors.Is(cerr, codec.ErrCorrupt)) {
			t.Fatalf("decode.Into err %v, DecodeMeta err %v", cerr, err)
		}
		if cerr == nil && !reflect.DeepEqual(viaCodec, got) {
			t.Fatalf("decode.Into disagrees with DecodeMeta:\n%s", cmp.Diff(got, viaCodec))
		}
	})
}

// EncodeMeta's first buffer holds the encoding of every meta whose numbers
// are below 2^32 and strings shorter than 256 bytes (any times), so that
// it does not grow: a meta of the sizes hosts store.
func TestEncodeMetaBufferFits(t *testing.T) {
	str := rapid.StringN(0, 255, 255)
	u32 := rapid.Uint64Range(0, 1<<32-1)
	tm := rapid.Map(rapid.Int64(), unixTime)
	rapid.Check(t, func(t *rapid.T) {
		m := interp.Meta{Instance: str.Draw(t, "i"), Seq: u32.Draw(t, "seq"), Status: interp.StatusFailed,
			NextCallback: u32.Draw(t, "nc"), Due: tm.Draw(t, "due"), Started: tm.Draw(t, "started"),
			Version: rapid.Uint32().Draw(t, "v"), Yielded: str.Draw(t, "y"),
			Recent: rapid.SliceOfN(u32, 0, 8).Draw(t, "r"), Migrated: rapid.SliceOfN(rapid.Uint32(), 0, 3).Draw(t, "mig"),
			Output:     rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "out"),
			Failure:    &interp.Failure{Path: str.Draw(t, "fp"), Thread: str.Draw(t, "ft"), Message: str.Draw(t, "fm"), Panic: true},
			Terminated: &interp.Termination{Reason: str.Draw(t, "tr"), By: str.Draw(t, "tb"), At: tm.Draw(t, "tat")}}
		for range rapid.IntRange(0, 4).Draw(t, "threads") {
			th := interp.Thread{ID: str.Draw(t, "id"), Path: str.Draw(t, "path"), Phase: interp.PhaseRetry,
				Attempt: rapid.Uint32().Draw(t, "a"), At: tm.Draw(t, "at")}
			for range rapid.IntRange(0, 3).Draw(t, "waits") {
				th.Waits = append(th.Waits, interp.Pending{Callback: u32.Draw(t, "cb"), Event: str.Draw(t, "ev"), Kind: interp.Child,
					At: tm.Draw(t, "pat"), Attempt: rapid.Uint32().Draw(t, "patt"), Setup: true, Type: str.Draw(t, "ty"),
					Child: str.Draw(t, "child"), OnEnd: uint8(rapid.IntRange(0, 255).Draw(t, "end"))})
			}
			m.Threads = append(m.Threads, th)
		}
		for range rapid.IntRange(0, 3).Draw(t, "inbox") {
			m.Inbox = append(m.Inbox, interp.Buffered{Event: str.Draw(t, "be"), At: tm.Draw(t, "bat"),
				Payload: rapid.SliceOfN(rapid.Byte(), 1, 300).Draw(t, "bp")})
		}
		if got, room := len(interp.EncodeMeta(m)), interp.MetaSize(&m); got > room {
			t.Fatalf("the encoding takes %d bytes, EncodeMeta's first buffer %d", got, room)
		}
	})
}

// AppendMeta appends EncodeMeta's bytes after what the buffer holds, and
// declines (appending nothing) a meta with an array beyond the decode
// limits, whose encoding EncodeRecord refuses.
func TestAppendMeta(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMeta().Draw(t, "meta")
		prefix := rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "prefix")
		got, fits := interp.AppendMeta(bytes.Clone(prefix), &m)
		if want := append(bytes.Clone(prefix), interp.EncodeMeta(m)...); !fits || !bytes.Equal(got, want) {
			t.Fatalf("AppendMeta = %x, %v; want %x", got, fits, want)
		}
	})
	for name, m := range map[string]interp.Meta{
		"recent":   {Recent: make([]uint64, codec.MaxArrayElements+1)},
		"migrated": {Migrated: make([]uint32, codec.MaxArrayElements+1)},
		"threads":  {Threads: make([]interp.Thread, codec.MaxArrayElements+1)},
		"waits":    {Threads: []interp.Thread{{ID: "0", Waits: make([]interp.Pending, codec.MaxArrayElements+1)}}},
		"inbox":    {Inbox: make([]interp.Buffered, codec.MaxArrayElements+1)},
	} {
		prefix := []byte{1, 2, 3}
		if got, fits := interp.AppendMeta(prefix, &m); fits || !bytes.Equal(got, prefix) {
			t.Errorf("%s: AppendMeta = %d bytes, %v; want the prefix, false", name, len(got), fits)
		}
		if _, err := codec.EncodeRecord(codec.Record{State: []byte{0}, Meta: interp.EncodeMeta(m)}); !errors.Is(err, codec.ErrTooLarge) {
			t.Errorf("%s: EncodeRecord of EncodeMeta's bytes: %v, want ErrTooLarge", name, err)
		}
	}
	// At the limit it fits.
	m := interp.Meta{Recent: make([]uint64, codec.MaxArrayElements)}
	if _, fits := interp.AppendMeta(nil, &m); !fits {
		t.Error("an array of MaxArrayElements does not fit")
	}
}
