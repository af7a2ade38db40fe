package golden

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFileRoundTrip(t *testing.T) {
	f := File{Header: "# a header\n# two lines\n", Sections: []Section{
		{Name: "hex", Text: Hex(bytes.Repeat([]byte{0xab, 0x01}, 40))},
		{Name: "empty", Text: ""},
		{Name: "no newline", Text: "x"},
		{Name: "text -- with dashes --", Text: "a\n-- not a header\n"},
	}}
	got, err := Parse(f.Format())
	if err != nil {
		t.Fatal(err)
	}
	f.Sections[2].Text = "x\n" // Format ends every section with a newline
	if diff := cmp.Diff(f, got); diff != "" {
		t.Fatalf("round trip (-want +got):\n%s", diff)
	}
	if _, err := Parse([]byte("no sections\n")); !errors.Is(err, ErrSyntax) {
		t.Fatalf("Parse without sections: %v", err)
	}
}

func TestHexRoundTrip(t *testing.T) {
	for _, b := range [][]byte{nil, {0}, bytes.Repeat([]byte{0xff}, 33)} {
		got, err := ParseHex(Hex(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("ParseHex(Hex(%x)) = %x, %v", b, got, err)
		}
	}
	if _, err := ParseHex("0g"); !errors.Is(err, ErrSyntax) {
		t.Fatalf("ParseHex of bad hex: %v", err)
	}
}

// Files refuses a text file whose hex does not match the raw bytes, so the
// two cannot drift apart.
func TestFilesChecksHexAgainstRaw(t *testing.T) {
	dir := t.TempDir()
	raw := []byte{0xa1, 0x01, 0x02}
	Write(t, dir, "x", ".cbor", raw, File{Sections: []Section{{Name: "hex", Text: Hex(raw)}}})
	if _, _, err := Files(dir, "x", ".cbor"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "x.cbor"), []byte{0xa1, 0x01, 0x03}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Files(dir, "x", ".cbor"); !errors.Is(err, ErrSyntax) {
		t.Fatalf("Files with a drifted raw file: %v", err)
	}
	orphans, err := Orphans(dir, nil)
	if err != nil || len(orphans) != 2 {
		t.Fatalf("Orphans = %v, %v; want both files", orphans, err)
	}
	if orphans, _ := Orphans(dir, []string{"x"}); len(orphans) != 0 {
		t.Fatalf("Orphans = %v, want none", orphans)
	}
}

func TestCompare(t *testing.T) {
	if Compare("x", []byte{1}, []byte{1}) != nil || CompareText("x", "a", "a") != nil {
		t.Fatal("equal inputs reported")
	}
	if len(Compare("x", []byte{1}, []byte{2})) != 1 || len(CompareText("x", "a", "b")) != 1 {
		t.Fatal("different inputs not reported")
	}
	if got := Diag([]byte{0xa1, 0x01, 0x41, 0xa0}); got != "{1: <<{}>>}\n" {
		t.Fatalf("Diag = %q", got)
	}
}

type errRecorder struct {
	testing.TB
	errors int
}

func (r *errRecorder) Errorf(string, ...any) { r.errors++ }

// -update overwrites only goldens that still read back.
func TestMayOverwrite(t *testing.T) {
	r := &errRecorder{TB: t}
	if !MayOverwrite(r, "x", nil) || r.errors != 0 {
		t.Fatal("a golden that reads back may be overwritten, silently")
	}
	if MayOverwrite(r, "x", []string{"decoded meta differs"}) || r.errors != 1 {
		t.Fatal("a golden that no longer reads back was allowed to be overwritten")
	}
}
