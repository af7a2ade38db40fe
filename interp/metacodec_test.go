package interp_test

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
	"github.com/weftflow/weft/interp"
	"pgregory.net/rapid"
)

func genMeta() *rapid.Generator[interp.Meta] {
	str := rapid.StringMatching(`[a-z/@\[\]0-9 ]{0,12}`)
	i64 := rapid.OneOf(rapid.Just(int64(0)), rapid.Int64(), rapid.Int64Range(-30, 30))
	u64 := rapid.OneOf(rapid.Just(uint64(0)), rapid.Uint64(), rapid.Uint64Range(0, 300))
	nilIfEmpty := func(s []uint64) []uint64 {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	pending := rapid.Custom(func(t *rapid.T) interp.Pending {
		return interp.Pending{Callback: u64.Draw(t, "cb"), Event: str.Draw(t, "ev"), Kind: interp.TriggerKind(rapid.IntRange(0, 3).Draw(t, "k")),
			At: i64.Draw(t, "at"), Attempt: rapid.Uint32().Draw(t, "att"), Setup: rapid.Bool().Draw(t, "s"), Type: str.Draw(t, "ty")}
	})
	thread := rapid.Custom(func(t *rapid.T) interp.Thread {
		th := interp.Thread{ID: str.Draw(t, "id"), Path: str.Draw(t, "path"), Phase: interp.Phase(rapid.IntRange(0, 5).Draw(t, "ph")),
			Attempt: rapid.Uint32().Draw(t, "a"), At: i64.Draw(t, "at")}
		if w := rapid.SliceOfN(pending, 0, 3).Draw(t, "waits"); len(w) > 0 {
			th.Waits = w
		}
		return th
	})
	return rapid.Custom(func(t *rapid.T) interp.Meta {
		m := interp.Meta{Instance: str.Draw(t, "i"), Seq: u64.Draw(t, "seq"), Status: interp.Status(rapid.IntRange(0, 4).Draw(t, "st")),
			NextCallback: u64.Draw(t, "nc"), Due: i64.Draw(t, "due"), Started: i64.Draw(t, "started"),
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
			b := interp.Buffered{Event: str.Draw(t, "be"), At: i64.Draw(t, "bat")}
			if p := rapid.SliceOfN(rapid.Byte(), 0, 4).Draw(t, "bp"); len(p) > 0 {
				b.Payload = p
			}
			m.Inbox = append(m.Inbox, b)
		}
		return m
	})
}

// The hand-written meta codec writes exactly what the generic encoder
// writes, and reads it back.
func TestMetaCodecMatchesGenericCodec(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := genMeta().Draw(t, "meta")
		want, err := codec.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got := interp.EncodeMeta(m)
		if !bytes.Equal(want, got) {
			t.Fatalf("EncodeMeta\n got %x\nwant %x", got, want)
		}
		back, err := interp.DecodeMeta(got)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(m, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
	})
}

// On any input the fast decoder either declines or agrees with the generic
// one, and never panics.
func FuzzDecodeMeta(f *testing.F) {
	f.Add(interp.EncodeMeta(interp.Meta{}))
	f.Add(interp.EncodeMeta(interp.Meta{Instance: "x", Seq: 3, Threads: []interp.Thread{{ID: "main", Path: "w", Phase: interp.PhaseWaiting,
		Waits: []interp.Pending{{Callback: 1, Event: "e", Kind: interp.Custom, Setup: true, Type: "t"}}}}, Failure: &interp.Failure{Message: "m"}}))
	f.Add(interp.EncodeMeta(interp.Meta{Instance: "x", Inbox: []interp.Buffered{{Event: "e", Payload: []byte{0x01}, At: 5}, {Event: "f"}}}))
	f.Add([]byte{0xa1, 0x01, 0x61})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := interp.DecodeMeta(data)
		var want interp.Meta
		werr := decode.Into("meta", data, &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeMeta err %v, generic err %v", err, werr)
		}
		if err == nil && !cmp.Equal(got, want) {
			t.Fatalf("DecodeMeta disagrees with the generic decoder:\n%s", cmp.Diff(want, got))
		}
	})
}
