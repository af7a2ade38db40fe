package codec_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/codec"
)

func sampleRecord(t testing.TB) codec.Record {
	t.Helper()
	return codec.Record{
		Workflow: "order",
		State:    mustMarshal(t, map[string]int{"total": 42}),
		Meta:     mustMarshal(t, []uint64{1, 2}),
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := sampleRecord(t)
	b, err := codec.EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	r.Format = codec.Format
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	// The decoded slices are copies: scribbling on the input changes nothing.
	for i := range b {
		b[i] = 0xff
	}
	if diff := cmp.Diff(r, got); diff != "" {
		t.Errorf("decoded record aliases its input (-want +got):\n%s", diff)
	}
}

func TestEncodeRecordIgnoresCallerFormat(t *testing.T) {
	r := sampleRecord(t)
	r.Format = 7
	b, err := codec.EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := codec.DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != codec.Format {
		t.Errorf("Format = %d, want %d", got.Format, codec.Format)
	}
}

// record encodes fields with the library's own deterministic encoder, so
// tests can build records EncodeRecord would refuse to write.
func record(t testing.TB, fields map[int]any) []byte {
	t.Helper()
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := em.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRecordErrors(t *testing.T) {
	state := mustMarshal(t, "s")
	meta := mustMarshal(t, "m")
	good := func() map[int]any { return map[int]any{1: 1, 2: "wf", 3: state, 4: meta} }
	with := func(k int, v any) []byte {
		f := good()
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
		return record(t, f)
	}
	valid, err := codec.EncodeRecord(codec.Record{Workflow: "wf", State: state, Meta: meta})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data []byte
		want error
		what string
		msg  string // substring of the message
	}{
		{"newer format", with(1, 2), codec.ErrFormat, "record", "format 2 is newer than format 1"},
		{"far newer format", with(1, uint64(1)<<63), codec.ErrFormat, "record", "9223372036854775808"},
		{"newer format, new layout", record(t, map[int]any{1: 2, 3: "now text", 5: []int{1}}), codec.ErrFormat, "record", "format 2"},
		{"zero format", with(1, 0), codec.ErrFormat, "record", "no format version (0)"},
		{"missing format", with(1, nil), codec.ErrFormat, "record", "no format version"},
		{"null", mustHex(t, "f6"), codec.ErrFormat, "record", "no format version"},
		{"format not an int", with(1, "1"), codec.ErrCorrupt, "record", ""},
		{"negative format", with(1, -1), codec.ErrCorrupt, "record", ""},
		{"empty", nil, codec.ErrCorrupt, "record", "EOF"},
		{"truncated", valid[:len(valid)-1], codec.ErrCorrupt, "record", ""},
		{"trailing garbage", append(append([]byte{}, valid...), 0), codec.ErrCorrupt, "record", "extraneous"},
		{"not a map", mustHex(t, "84 01 62 7766 41 00 41 00"), codec.ErrCorrupt, "record", ""},
		{"duplicate key", mustHex(t, "a5 01 01 02 62 7766 03 41 00 04 41 00 02 61 78"), codec.ErrCorrupt, "record", "duplicate"},
		{"state as text", with(3, "s"), codec.ErrCorrupt, "record", ""},
		{"state missing", with(3, nil), codec.ErrCorrupt, "record state", ""},
		{"state not CBOR", with(3, []byte{0x1c}), codec.ErrCorrupt, "record state", ""},
		{"state empty", with(3, []byte{}), codec.ErrCorrupt, "record state", ""},
		{"state with trailing bytes", with(3, []byte{0x01, 0x02}), codec.ErrCorrupt, "record state", ""},
		{"meta truncated", with(4, []byte{0x62, 0x61}), codec.ErrCorrupt, "record meta", ""},
		{"meta too deep", with(4, nestedArrays(codec.MaxDepth+1)), codec.ErrTooLarge, "record meta", ""},
		{"host not CBOR", with(5, []byte{0x1c}), codec.ErrCorrupt, "record host", ""},
		{"host with trailing bytes", with(5, []byte{0x01, 0x02}), codec.ErrCorrupt, "record host", ""},
		{"host as text", with(5, "h"), codec.ErrCorrupt, "record", ""},
		{"indefinite length", mustHex(t, "bf 01 01 02 62 7766 03 41 00 04 41 00 ff"), codec.ErrCorrupt, "record", "indefinite"},
		{"too large", append(append([]byte{}, valid...), make([]byte, codec.MaxBytes)...), codec.ErrTooLarge, "record", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := codec.DecodeRecord(tt.data)
			if err == nil {
				t.Fatalf("DecodeRecord succeeded: %+v", r)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			if isFormat := errors.Is(err, codec.ErrFormat); isFormat == errors.Is(err, codec.ErrCorrupt) {
				t.Errorf("%v: must match exactly one of ErrFormat and ErrCorrupt", err)
			}
			var de *codec.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("%v (%T) is not a *DecodeError", err, err)
			}
			if de.What != tt.what {
				t.Errorf("What = %q, want %q", de.What, tt.what)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", err, tt.msg)
			}
			if diff := cmp.Diff(codec.Record{}, r); diff != "" {
				t.Errorf("a failed decode returned a non-zero record: %s", diff)
			}
		})
	}
}

func TestDecodeRecordTolerance(t *testing.T) {
	state := mustMarshal(t, "s")
	meta := mustMarshal(t, "m")
	want := codec.Record{Format: 1, Workflow: "wf", State: state, Meta: meta}
	canonical, err := codec.EncodeRecord(want)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"unknown key", record(t, map[int]any{1: 1, 2: "wf", 3: state, 4: meta, 9: []int{1}})},
		{"keys out of order", mustHex(t, "a4 04 42 616d 03 42 6173 02 62 7766 01 01")},
		{"long int head", mustHex(t, "a4 01 1b 0000000000000001 02 62 7766 03 42 6173 04 42 616d")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := codec.DecodeRecord(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			again, err := codec.EncodeRecord(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, canonical) {
				t.Errorf("re-encoded %x, want canonical %x", again, canonical)
			}
		})
	}
	// A missing workflow name decodes as "".
	got, err := codec.DecodeRecord(record(t, map[int]any{1: 1, 3: state, 4: meta}))
	if err != nil || got.Workflow != "" {
		t.Errorf("no workflow: %+v, %v", got, err)
	}
}

func TestEncodeRecordRefusesBadDocuments(t *testing.T) {
	tests := []struct {
		name string
		r    codec.Record
		want error
	}{
		{"nil state", codec.Record{Meta: []byte{0}}, codec.ErrCorrupt},
		{"nil meta", codec.Record{State: []byte{0}}, codec.ErrCorrupt},
		{"two items in state", codec.Record{State: []byte{0, 0}, Meta: []byte{0}}, codec.ErrCorrupt},
		{"meta too deep", codec.Record{State: []byte{0}, Meta: nestedArrays(codec.MaxDepth + 1)}, codec.ErrTooLarge},
		{"too large in all", codec.Record{State: mustMarshal(t, make([]byte, codec.MaxBytes/2)), Meta: mustMarshal(t, make([]byte, codec.MaxBytes/2))}, codec.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := codec.EncodeRecord(tt.r)
			if !errors.Is(err, tt.want) || b != nil {
				t.Errorf("EncodeRecord = %d bytes, %v; want %v", len(b), err, tt.want)
			}
		})
	}
}

// TestEncodeRecordMatchesLibrary checks the hand-written record encoder
// against the cbor library's deterministic encoding of the tagged struct,
// across every head size.
func TestEncodeRecordMatchesLibrary(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 255, 256, 65535, 65536, 70000} {
		r := codec.Record{
			Format:   codec.Format,
			Workflow: strings.Repeat("w", n),
			State:    mustMarshal(t, make([]byte, n)),
			Meta:     mustMarshal(t, strings.Repeat("m", n)),
		}
		got, err := codec.EncodeRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := mustMarshal(t, r); !bytes.Equal(got, want) {
			t.Errorf("n=%d: EncodeRecord differs from the library's encoding", n)
		}
	}
}

// A record refused for its size is too large, not corrupt: the error is a
// *TooLargeError naming the part, its size and the limit, and it does not
// match ErrCorrupt (the engine reports it as a size limit, not damage).
func TestEncodeTooLargeIsNotCorrupt(t *testing.T) {
	big := mustMarshal(t, make([]byte, codec.MaxBytes-16))
	// A well-formed byte string of MaxBytes bytes, which Marshal would refuse.
	overLimit := binary.BigEndian.AppendUint32([]byte{0x5a}, codec.MaxBytes)
	overLimit = append(overLimit, make([]byte, codec.MaxBytes)...)
	tests := []struct {
		name       string
		encode     func() ([]byte, error)
		what       string
		size       int // 0: a nesting or length limit
		wantLimits bool
	}{
		{"marshal bytes", func() ([]byte, error) { return codec.Marshal(make([]byte, codec.MaxBytes)) }, "value", codec.MaxBytes + 5, true},
		{"marshal depth", func() ([]byte, error) { return codec.Marshal(nestedValue(codec.MaxDepth + 1)) }, "value", 0, false},
		{"marshal elements", func() ([]byte, error) { return codec.Marshal(make([]int, codec.MaxArrayElements+1)) }, "value", 0, false},
		{"record state", func() ([]byte, error) {
			return codec.EncodeRecord(codec.Record{State: overLimit, Meta: []byte{0}})
		}, "record state", len(overLimit), true},
		{"record meta depth", func() ([]byte, error) {
			return codec.EncodeRecord(codec.Record{State: []byte{0}, Meta: nestedArrays(codec.MaxDepth + 1)})
		}, "record meta", 0, false},
		{"record in all", func() ([]byte, error) {
			return codec.EncodeRecord(codec.Record{Workflow: "w", State: big, Meta: mustMarshal(t, make([]byte, 64))})
		}, "record", 1 + 2 + 3 + (1 + 5 + len(big)) + (1 + 2 + 66), true}, // map head, format, workflow, state, meta
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.encode()
			if b != nil || !errors.Is(err, codec.ErrTooLarge) {
				t.Fatalf("got %d bytes, %v; want ErrTooLarge", len(b), err)
			}
			if errors.Is(err, codec.ErrCorrupt) {
				t.Fatalf("%v matches ErrCorrupt", err)
			}
			var tl *codec.TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("%T is not a *TooLargeError", err)
			}
			if tl.What != tt.what {
				t.Errorf("What = %q, want %q", tl.What, tt.what)
			}
			if tt.wantLimits && (tl.Size != tt.size || tl.Limit != codec.MaxBytes) {
				t.Errorf("Size, Limit = %d, %d; want %d, %d", tl.Size, tl.Limit, tt.size, codec.MaxBytes)
			}
			if !tt.wantLimits && tl.Err == nil {
				t.Error("no cause for a nesting or length limit")
			}
		})
	}
	// Malformed parts are still corrupt, not too large.
	_, err := codec.EncodeRecord(codec.Record{State: []byte{0x18}, Meta: []byte{0}})
	if !errors.Is(err, codec.ErrCorrupt) || errors.Is(err, codec.ErrTooLarge) {
		t.Fatalf("truncated state: %v; want ErrCorrupt only", err)
	}
}

func nestedValue(depth int) any {
	var v any = []any{}
	for range depth - 1 {
		v = []any{v}
	}
	return v
}

// TestEncodeRecordMetaMatchesEncodeRecord checks the in-place record
// writer against EncodeRecord: the same bytes, for metas whose head is
// shorter, as long as, and longer than the guess's, with and without a
// host, and the same errors for parts it checks.
func TestEncodeRecordMetaMatchesEncodeRecord(t *testing.T) {
	sizes := []int{0, 1, 23, 24, 255, 256, 65535, 65536, 70000}
	for _, n := range sizes {
		for _, guess := range sizes {
			for _, host := range [][]byte{nil, mustMarshal(t, "h")} {
				meta := mustMarshal(t, strings.Repeat("m", n))
				state := mustMarshal(t, make([]byte, n%300))
				want, err := codec.EncodeRecord(codec.Record{Workflow: "w", State: state, Meta: meta, Host: host})
				if err != nil {
					t.Fatal(err)
				}
				got, gotMeta, ok, err := codec.EncodeRecordMeta("w", state, guess,
					func(b []byte) ([]byte, bool) { return append(b, meta...), true }, host)
				if !ok || err != nil || !bytes.Equal(got, want) {
					t.Fatalf("meta %d bytes, guess %d, host %v: ok %v, err %v, equal %v", n, guess, host != nil, ok, err, bytes.Equal(got, want))
				}
				if !bytes.Equal(gotMeta, meta) || cap(gotMeta) != len(gotMeta) {
					t.Fatalf("meta %d bytes, guess %d: the meta part differs or has room past it", n, guess)
				}
				r, err := codec.DecodeRecord(got)
				if err != nil || !bytes.Equal(r.Meta, meta) || !bytes.Equal(r.State, state) {
					t.Fatalf("decoded: %v", err)
				}
			}
		}
	}
	// The meta's writer may decline: nothing is written.
	b, m, ok, err := codec.EncodeRecordMeta("w", []byte{0}, 8, func(b []byte) ([]byte, bool) { return b, false }, nil)
	if ok || b != nil || m != nil || err != nil {
		t.Errorf("declined: %v, %v, %v, %v", b, m, ok, err)
	}
	// The state and host are checked as EncodeRecord checks them.
	appendZero := func(b []byte) ([]byte, bool) { return append(b, 0), true }
	overLimit := binary.BigEndian.AppendUint32([]byte{0x5a}, codec.MaxBytes)
	overLimit = append(overLimit, make([]byte, codec.MaxBytes)...)
	for _, tt := range []struct {
		name        string
		state, host []byte
		want        error
	}{
		{"nil state", nil, nil, codec.ErrCorrupt},
		{"two items in state", []byte{0, 0}, nil, codec.ErrCorrupt},
		{"state too deep", nestedArrays(codec.MaxDepth + 1), nil, codec.ErrTooLarge},
		{"state too large", overLimit, nil, codec.ErrTooLarge},
		{"truncated host", []byte{0}, []byte{0x18}, codec.ErrCorrupt},
	} {
		_, wantErr := codec.EncodeRecord(codec.Record{State: tt.state, Meta: []byte{0}, Host: tt.host})
		b, _, ok, err := codec.EncodeRecordMeta("", tt.state, 1, appendZero, tt.host)
		if !ok || b != nil || !errors.Is(err, tt.want) || err.Error() != wantErr.Error() {
			t.Errorf("%s: %d bytes, %v, %v; want %v", tt.name, len(b), ok, err, wantErr)
		}
	}
	// Too large in all: EncodeRecord's error.
	big := mustMarshal(t, make([]byte, codec.MaxBytes-16))
	meta := mustMarshal(t, make([]byte, 64))
	_, wantErr := codec.EncodeRecord(codec.Record{Workflow: "w", State: big, Meta: meta})
	b, _, ok, err = codec.EncodeRecordMeta("w", big, 10, func(b []byte) ([]byte, bool) { return append(b, meta...), true }, nil)
	if !ok || b != nil || wantErr == nil || err == nil || err.Error() != wantErr.Error() {
		t.Errorf("too large: %d bytes, %v, %v; want %v", len(b), ok, err, wantErr)
	}
}

// DecodeRecordAliasing decodes as DecodeRecord does, errors included.
func TestDecodeRecordAliasing(t *testing.T) {
	good := sampleRecord(t)
	good.Host = mustMarshal(t, "h")
	data, err := codec.EncodeRecord(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{data, data[:len(data)-1], {0xa1, 0x01, 0x02}, append(bytes.Clone(data), 0)} {
		want, werr := codec.DecodeRecord(in)
		got, gerr := codec.DecodeRecordAliasing(in)
		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) || !cmp.Equal(got, want) {
			t.Errorf("%x: DecodeRecordAliasing = %+v, %v; DecodeRecord = %+v, %v", in, got, gerr, want, werr)
		}
	}
}
