package bolt

import "fmt"

// A tombstone's value joins the frozen layout of format 1 (see
// golden_test.go); its bucket is created by the first Delete, so files
// that never deleted keep their layout.

func init() {
	valueCases = append(valueCases, valueCase{name: "tombstone",
		encode: func() []byte { return encodeTombstone(300, goldenRecord) },
		decode: func(raw []byte) (string, []byte, error) {
			v, data, err := decodeTombstone(raw)
			return fmt.Sprintf("version=%d tombstone=%x\n", v, data), encodeTombstone(v, data), err
		}})
}
