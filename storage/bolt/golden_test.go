package bolt

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/weftflow/weft/internal/golden"
	"github.com/weftflow/weft/storage"
)

// This file freezes the on-disk layout of format version 1 (see
// docs/storage-bolt.md): the encoding of each kind of value and key, and a
// whole store file written by this version, which every later version must
// open and read the same. The rule for changing them is in docs/format.md.

const boltGoldenDir = "testdata/golden"

var goldenDue = time.Date(2026, 1, 2, 4, 4, 5, 123456000, time.UTC)

// goldenRecord stands for an encoded record: the store keeps it opaque.
var goldenRecord = []byte{0xa4, 0x01, 0x01, 0x02, 0x61, 0x77, 0x03, 0x41, 0xa0, 0x04, 0x41, 0xa0}

// valueCase is one encoded value or key of the layout.
type valueCase struct {
	name   string
	encode func() []byte
	// decode reads raw as the current code does and renders what it read,
	// with the bytes the current code writes for it.
	decode func(raw []byte) (string, []byte, error)
}

func renderInstance(inst storage.Instance) string {
	due := "none"
	if !inst.Due.IsZero() {
		due = inst.Due.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("id=%q version=%d workflow=%q status=%q due=%s data=%x\n", inst.ID, inst.Version, inst.Workflow, inst.Status, due, inst.Data)
}

func instanceCase(name string, inst storage.Instance) valueCase {
	return valueCase{name: name,
		encode: func() []byte { return encodeInstance(inst) },
		decode: func(raw []byte) (string, []byte, error) {
			got, err := decodeInstance(inst.ID, raw)
			return renderInstance(got), encodeInstance(got), err
		}}
}

var valueCases = []valueCase{
	instanceCase("instance-due", storage.Instance{ID: "order-1", Version: 3, Workflow: "golden-order", Status: "running", Due: goldenDue, Data: goldenRecord}),
	instanceCase("instance-not-due", storage.Instance{ID: "order-2", Version: 1, Workflow: "golden-order", Status: "completed", Data: goldenRecord}),
	{name: "effect",
		encode: func() []byte {
			return encodeEffect(storage.Effect{ID: "order-1/3/0", Instance: "order-1", Data: []byte{0xa1, 0x01, 0x05}})
		},
		decode: func(raw []byte) (string, []byte, error) {
			e, err := decodeEffect(u64(7), raw)
			return fmt.Sprintf("id=%q instance=%q data=%x\n", e.ID, e.Instance, e.Data), encodeEffect(e), err
		}},
	{name: "due-key",
		encode: func() []byte { return dueKey(goldenDue, "order-1") },
		decode: func(raw []byte) (string, []byte, error) {
			d, err := parseDueKey(raw)
			return fmt.Sprintf("id=%q at=%s\n", d.ID, d.At.Format(time.RFC3339Nano)), dueKey(d.At, d.ID), err
		}},
	{name: "format-value",
		encode: func() []byte { return u64(formatVersion) },
		decode: func(raw []byte) (string, []byte, error) {
			if len(raw) != 8 {
				return "", nil, fmt.Errorf("%d bytes", len(raw))
			}
			v := uint64(0)
			for _, c := range raw {
				v = v<<8 | uint64(c)
			}
			return fmt.Sprintf("format=%d\n", v), u64(v), nil
		}},
}

// readValue decodes a stored value with the current code, compares it
// with the golden's rendering and re-encodes it.
func readValue(c valueCase, raw []byte, want golden.File) []string {
	got, again, err := c.decode(raw)
	if err != nil {
		return []string{"the stored value does not decode: " + err.Error()}
	}
	w, _ := want.Get("decoded")
	return append(golden.CompareText("decoded value", w, got), golden.Compare("re-encoded value", raw, again)...)
}

func TestLayoutGolden(t *testing.T) {
	for _, c := range valueCases {
		t.Run(c.name, func(t *testing.T) {
			now := c.encode()
			text, _, err := c.decode(now)
			if err != nil {
				t.Fatal(err)
			}
			f := golden.File{
				Header:   fmt.Sprintf("# %s: a value of the bolt store's layout, format %d.\n# Written by `go test ./storage/bolt -run TestLayoutGolden -update`. Never regenerate\n# without a new format version: see docs/format.md.\n", c.name, formatVersion),
				Sections: []golden.Section{{Name: "hex", Text: golden.Hex(now)}, {Name: "decoded", Text: text}},
			}
			if *golden.Update {
				if raw, want, err := golden.Files(boltGoldenDir, c.name, ".bin"); err == nil &&
					!golden.MayOverwrite(t, c.name, readValue(c, raw, want)) {
					return
				}
				golden.Write(t, boltGoldenDir, c.name, ".bin", now, f)
				return
			}
			raw, want, err := golden.Files(boltGoldenDir, c.name, ".bin")
			if err != nil {
				t.Fatalf("%v (a new case is written with -update; see docs/format.md)", err)
			}
			golden.Fail(t, c.name, readValue(c, raw, want))
			golden.Fail(t, c.name, golden.Compare("value written now", raw, now))
		})
	}
}

// The store file: written once by this version (with -update), then only
// read. Its bytes depend on bbolt's page allocation, so the test compares
// what it reads, and re-encodes every value and key byte for byte.
const goldenStore = "store-format-1.db"

func writeGoldenStore(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(_ uint64, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a := storage.Instance{ID: "order-1", Workflow: "golden-order", Status: "running", Due: goldenDue, Data: goldenRecord}
	must(s.Create(ctx, a, []storage.Effect{{ID: "order-1/1/0", Instance: "order-1", Data: []byte{0xa1, 0x01, 0x01}}}))
	a.Due = goldenDue.Add(time.Hour)
	must(s.Commit(ctx, storage.Commit{Instance: a, Expect: 1, Effects: []storage.Effect{{ID: "order-1/2/0", Instance: "order-1", Data: []byte{0xa1, 0x01, 0x05}}}}))
	b := storage.Instance{ID: "order-2", Workflow: "golden-order", Status: "completed", Data: goldenRecord}
	must(s.Create(ctx, b, []storage.Effect{{ID: "order-2/1/0", Instance: "order-2", Data: []byte{0xa1, 0x01, 0x09}}}))
	if err := s.Ack(ctx, "order-1/1/0"); err != nil {
		t.Fatal(err)
	}
	c := storage.Instance{ID: "ticket-3", Workflow: "golden-ticket", Status: "running", Due: goldenDue, Data: goldenRecord}
	must(s.Create(ctx, c, nil))
}

// readStore renders everything the store API returns, and checks that
// every raw value and key re-encodes to the bytes on disk.
func readStore(t *testing.T, path string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(path, WithReadOnly())
	if err != nil {
		return "", []string{"the store does not open: " + err.Error()}
	}
	var b strings.Builder
	insts, err := s.List(ctx, "", 100)
	if err != nil {
		return "", []string{"List: " + err.Error()}
	}
	for _, inst := range insts {
		b.WriteString("instance " + renderInstance(inst))
	}
	effects, err := s.Outbox(ctx, 100)
	if err != nil {
		return "", []string{"Outbox: " + err.Error()}
	}
	for _, e := range effects {
		fmt.Fprintf(&b, "outbox id=%q instance=%q data=%x\n", e.ID, e.Instance, e.Data)
	}
	due, err := s.DueBefore(ctx, goldenDue.Add(24*time.Hour), 100)
	if err != nil {
		return "", []string{"DueBefore: " + err.Error()}
	}
	for _, d := range due {
		fmt.Fprintf(&b, "due id=%q at=%s\n", d.ID, d.At.Format(time.RFC3339Nano))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var problems []string
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return "", []string{"bbolt.Open: " + err.Error()}
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		check := func(bucket []byte, fn func(k, v []byte) []string) {
			bk := tx.Bucket(bucket)
			if bk == nil {
				problems = append(problems, fmt.Sprintf("no bucket %q", bucket))
				return
			}
			_ = bk.ForEach(func(k, v []byte) error {
				problems = append(problems, fn(k, v)...)
				return nil
			})
		}
		check(bucketMeta, func(k, v []byte) []string {
			fmt.Fprintf(&b, "meta %s=%x\n", k, v)
			return nil
		})
		check(bucketInstances, func(k, v []byte) []string {
			inst, err := decodeInstance(string(k), v)
			if err != nil {
				return []string{err.Error()}
			}
			return golden.Compare("instance "+string(k), v, encodeInstance(inst))
		})
		check(bucketOutbox, func(k, v []byte) []string {
			e, err := decodeEffect(k, v)
			if err != nil {
				return []string{err.Error()}
			}
			return golden.Compare("outbox entry "+e.ID, v, encodeEffect(e))
		})
		check(bucketEffects, func(k, v []byte) []string {
			fmt.Fprintf(&b, "effects %s -> %x\n", k, v)
			return nil
		})
		check(bucketDue, func(k, v []byte) []string {
			d, err := parseDueKey(k)
			if err != nil {
				return []string{err.Error()}
			}
			return golden.Compare("due key "+d.ID, k, dueKey(d.At, d.ID))
		})
		return nil
	})
	if err != nil {
		problems = append(problems, err.Error())
	}
	return b.String(), problems
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStoreFileGolden(t *testing.T) {
	goldenPath := filepath.Join(boltGoldenDir, goldenStore)
	textPath := strings.TrimSuffix(goldenPath, ".db") + ".txt"
	if *golden.Update {
		if _, err := os.Stat(goldenPath); err == nil && !golden.MayOverwrite(t, goldenStore, checkStoreFile(t, goldenPath, textPath)) {
			return
		}
		tmp := filepath.Join(t.TempDir(), "store.db")
		writeGoldenStore(t, tmp)
		text, problems := readStore(t, tmp)
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		copyFile(t, tmp, goldenPath)
		header := fmt.Sprintf("# What a bolt store of format %d, written by this version, holds.\n# Written by `go test ./storage/bolt -run TestStoreFileGolden -update`. Never\n# regenerate without a new format version: see docs/format.md.\n", formatVersion)
		if err := os.WriteFile(textPath, golden.File{Header: header, Sections: []golden.Section{{Name: "contents", Text: text}}}.Format(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	golden.Fail(t, goldenStore, checkStoreFile(t, goldenPath, textPath))
}

// checkStoreFile opens a copy of the golden store and compares what it
// reads with the golden's listing.
func checkStoreFile(t *testing.T, goldenPath, textPath string) []string {
	t.Helper()
	// Read a copy: the test must never change the golden, whatever a
	// read-only open does.
	tmp := filepath.Join(t.TempDir(), "store.db")
	copyFile(t, goldenPath, tmp)
	orig, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(textPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := golden.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := f.Get("contents")
	got, problems := readStore(t, tmp)
	problems = append(problems, golden.CompareText("store contents", want, got)...)
	after, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(orig, after) {
		problems = append(problems, "a read-only open changed the store file")
	}
	return problems
}

// Every golden file belongs to a case: stored formats are never dropped.
func TestLayoutGoldenFilesHaveCases(t *testing.T) {
	names := []string{strings.TrimSuffix(goldenStore, ".db")}
	for _, c := range valueCases {
		names = append(names, c.name)
	}
	orphans, err := golden.Orphans(boltGoldenDir, names)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orphans {
		t.Errorf("%s has no case: stored formats are never dropped (docs/format.md)", o)
	}
}
