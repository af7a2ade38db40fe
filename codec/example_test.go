package codec_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/codec"
)

func ExampleMarshal() {
	type Order struct {
		ID     string            `cbor:"1,keyasint"`
		Total  int64             `cbor:"2,keyasint"`
		Placed time.Time         `cbor:"3,keyasint"`
		Notes  map[string]string `cbor:"4,keyasint"`
	}
	in := Order{
		ID:     "A-1",
		Total:  1250,
		Placed: time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC),
		Notes:  map[string]string{"gift": "yes", "door": "back"}, // written sorted, whatever the insertion order
	}
	b, err := codec.Marshal(&in)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%x\n", b)

	var out Order
	if err := codec.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	fmt.Println(out.ID, out.Total, out.Placed, out.Notes)
	// Output:
	// a40163412d31021904e20374323032342d30332d30315430393a33303a30305a04a264646f6f72646261636b646769667463796573
	// A-1 1250 2024-03-01 09:30:00 +0000 UTC map[door:back gift:yes]
}

func ExampleUnmarshal_errors() {
	var n int
	err := codec.Unmarshal([]byte{0x9f, 0x01, 0xff}, &n) // an indefinite-length array
	fmt.Println(errors.Is(err, codec.ErrCorrupt))
	var de *codec.DecodeError
	if errors.As(err, &de) {
		fmt.Println(de.What)
	}
	fmt.Println(err)
	// Output:
	// true
	// value
	// codec: value: corrupt data: cbor: indefinite-length array isn't allowed
}

func ExampleEncodeRecord() {
	state, _ := codec.Marshal(map[string]int{"step": 3})
	meta, _ := codec.Marshal([]string{"main"})
	b, err := codec.EncodeRecord(codec.Record{Workflow: "checkout", State: state, Meta: meta})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%x\n", b)

	r, err := codec.DecodeRecord(b)
	if err != nil {
		panic(err)
	}
	var s map[string]int
	if err := codec.Unmarshal(r.State, &s); err != nil {
		panic(err)
	}
	fmt.Println(r.Format, r.Workflow, s["step"])
	// Output:
	// a401010268636865636b6f75740347a1647374657003044681646d61696e
	// 1 checkout 3
}

func ExampleDecodeRecord_newerFormat() {
	// A record written by a future build: format 2, with a field this
	// build has never heard of.
	future := []byte{0xa2, 0x01, 0x02, 0x05, 0x80} // {1: 2, 5: []}
	_, err := codec.DecodeRecord(future)
	fmt.Println(errors.Is(err, codec.ErrFormat), errors.Is(err, codec.ErrCorrupt))
	fmt.Println(err)
	// Output:
	// true false
	// codec: record: unsupported record format: record format 2 is newer than format 1, the newest this build reads
}
