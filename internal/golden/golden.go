// Package golden holds the machinery of weft's stored-format golden tests:
// the `-update` flag, the text file that sits next to each raw golden
// (named sections: hex, CBOR diagnostic notation, readable renderings) and
// the failure message that states the format rule.
//
// It is for tests only. The golden files themselves live in each package's
// testdata/golden directory; docs/format.md says what they freeze and when
// they may change.
package golden

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Update is the -update flag: write golden files instead of checking them.
// It writes missing goldens and rewrites those whose case now writes other
// content in the same format; it refuses to overwrite a golden whose
// stored bytes the current code no longer reads back (see [MayOverwrite]
// and [Rule]).
var Update = flag.Bool("update", false, "regenerate the stored-format golden files under testdata/golden "+
	"(never over goldens the current code no longer reads: that needs a new format version, see docs/format.md)")

// Rule is appended to every golden failure: what broke and what to do.
const Rule = `
Records written by an earlier weft must stay readable by every later one
(docs/format.md). This golden file was written by an earlier version. Do
NOT regenerate it with -update to make this test pass (-update refuses to
overwrite a golden that no longer reads back): a format change is only
allowed together with a new format version (codec.Format, or the store's
formatVersion) whose reader still decodes the old bytes, with the old
golden kept as a test of that upgrade path. If the change was not meant
to alter the stored form, revert it (a changed CBOR key number, a renamed
field tag, a renumbered enum value, an added or removed omitempty).`

// Section is one named part of a golden text file.
type Section struct {
	Name string
	Text string
}

// File is a golden text file: a comment header and named sections, each
// introduced by a line "-- name --" (as in the txtar format).
type File struct {
	Header   string
	Sections []Section
}

// Get returns the text of the named section.
func (f File) Get(name string) (string, bool) {
	for _, s := range f.Sections {
		if s.Name == name {
			return s.Text, true
		}
	}
	return "", false
}

// Format renders f; Parse reads it back.
func (f File) Format() []byte {
	var b bytes.Buffer
	b.WriteString(f.Header)
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "-- %s --\n", s.Name)
		b.WriteString(s.Text)
		if s.Text != "" && !strings.HasSuffix(s.Text, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// ErrSyntax reports a golden text file that Parse cannot read.
var ErrSyntax = errors.New("golden: bad file")

// Parse reads a file written by [File.Format].
func Parse(data []byte) (File, error) {
	var f File
	lines := strings.SplitAfter(string(data), "\n")
	cur := -1
	for _, line := range lines {
		trim := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trim, "-- ") && strings.HasSuffix(trim, " --") && len(trim) > 6 {
			f.Sections = append(f.Sections, Section{Name: trim[3 : len(trim)-3]})
			cur = len(f.Sections) - 1
			continue
		}
		if cur < 0 {
			f.Header += line
			continue
		}
		f.Sections[cur].Text += line
	}
	if len(f.Sections) == 0 {
		return File{}, fmt.Errorf("%w: no sections", ErrSyntax)
	}
	return f, nil
}

// Hex renders b as lowercase hex, 32 bytes a line, bytes separated by spaces.
func Hex(b []byte) string {
	var s strings.Builder
	for i := 0; i < len(b); i += 32 {
		end := min(i+32, len(b))
		for j := i; j < end; j++ {
			if j > i {
				s.WriteByte(' ')
			}
			s.WriteString(hex.EncodeToString(b[j : j+1]))
		}
		s.WriteByte('\n')
	}
	return s.String()
}

// ParseHex reads what [Hex] wrote (any whitespace between bytes).
func ParseHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: hex: %w", ErrSyntax, err)
	}
	return b, nil
}

var diag = func() cbor.DiagMode {
	dm, err := cbor.DiagOptions{ByteStringEmbeddedCBOR: true}.DiagMode()
	if err != nil {
		panic(err) // constant options
	}
	return dm
}()

// Diag renders CBOR in diagnostic notation (RFC 8949 §8), showing byte
// strings that hold CBOR as embedded items <<...>>, so the integer keys of
// every field are visible.
func Diag(b []byte) string {
	s, err := diag.Diagnose(b)
	if err != nil {
		return "invalid CBOR: " + err.Error()
	}
	return s + "\n"
}

// Files reads the raw bytes and the parsed text file of golden name in dir
// (name.cbor or name.bin, per ext, and name.txt), checking that the text's
// "hex" section matches the raw bytes.
func Files(dir, name, ext string) (raw []byte, f File, err error) {
	raw, err = os.ReadFile(filepath.Join(dir, name+ext))
	if err != nil {
		return nil, File{}, err
	}
	txt, err := os.ReadFile(filepath.Join(dir, name+".txt"))
	if err != nil {
		return nil, File{}, err
	}
	if f, err = Parse(txt); err != nil {
		return nil, File{}, fmt.Errorf("%s.txt: %w", name, err)
	}
	h, ok := f.Get("hex")
	if !ok {
		return nil, File{}, fmt.Errorf("%w: %s.txt has no hex section", ErrSyntax, name)
	}
	fromHex, err := ParseHex(h)
	if err != nil {
		return nil, File{}, fmt.Errorf("%s.txt: %w", name, err)
	}
	if !bytes.Equal(fromHex, raw) {
		return nil, File{}, fmt.Errorf("%w: %s.txt's hex section does not match %s%s", ErrSyntax, name, name, ext)
	}
	return raw, f, nil
}

// Write stores raw bytes and their text file for golden name in dir.
func Write(t testing.TB, dir, name, ext string, raw []byte, f File) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+ext), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), f.Format(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Fail reports problems found in golden name, with [Rule].
func Fail(t testing.TB, name string, problems []string) {
	t.Helper()
	if len(problems) == 0 {
		return
	}
	t.Errorf("golden %s: the stored format changed:\n  %s\n%s", name, strings.Join(problems, "\n  "), Rule)
}

// MayOverwrite reports whether -update may overwrite golden name, given
// the problems found reading its stored bytes with the current code. It
// may when there are none: the format is intact and only the case's
// content changed (a different position, effect or message). When the
// stored bytes no longer read back, it reports them with [Rule] and
// returns false: that is a format change, which keeps the old golden and
// adds a format version.
func MayOverwrite(t testing.TB, name string, problems []string) bool {
	t.Helper()
	if len(problems) == 0 {
		return true
	}
	t.Errorf("-update refuses to overwrite golden %s: its stored bytes no longer read back:\n  %s\n%s",
		name, strings.Join(problems, "\n  "), Rule)
	return false
}

// Compare returns a problem line when got differs from want, naming what.
func Compare(what string, want, got []byte) []string {
	if bytes.Equal(want, got) {
		return nil
	}
	return []string{fmt.Sprintf("%s differs:\n    stored:  %x\n    now:     %x", what, want, got)}
}

// CompareText returns a problem line when got differs from want.
func CompareText(what, want, got string) []string {
	if want == got {
		return nil
	}
	return []string{fmt.Sprintf("%s differs:\n--- stored\n%s--- now\n%s", what, want, got)}
}

// Orphans returns the files in dir whose name (without extension) is not
// among names: goldens whose case was deleted. Stored formats are never
// dropped, so tests report them.
func Orphans(dir string, names []string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, n := range names {
		known[n] = true
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // .gitattributes and the like
		}
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			name = name[:i]
		}
		if !known[name] {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
