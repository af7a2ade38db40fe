package bolt_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
)

// Damaged files are opened in a child process: a damaged file that made
// bbolt fault (SIGBUS) would kill the process, which no recover catches.
// The parent writes a job file, runs this test binary with envDamageJob set
// to its path, and reads one JSON line per open from the child's output.

const envDamageJob = "WEFT_BOLT_DAMAGE_JOB"

// envNoCheck, set for the child, makes it open files WithoutFileCheck.
const envNoCheck = "WEFT_BOLT_NO_FILE_CHECK"

// childTimeout is how long a child may take before it counts as hung.
const childTimeout = 5 * time.Minute

// damageCase is one file the child opens, read-write and read-only.
type damageCase struct {
	Path string
	// Sizes, if set, are sizes to cut the file to, largest first: the
	// child truncates the file to each in turn and opens it each time.
	Sizes []int64
	// Full makes the child open the file WithFullCheck.
	Full bool
	// Probe makes the child write to a copy of the file after a
	// successful read-write open (see writeCopy).
	Probe bool
}

// openResult is what the child reports for one open.
type openResult struct {
	Case  int
	Size  int64 // the file's size when opened
	Mode  string
	Full  bool // opened WithFullCheck
	Start bool `json:",omitempty"` // printed before the open

	Class    string // ok, corrupt, notweft, toonew, locked, other
	Err      string
	Modified bool   // the file's hash changed
	Reads    string // after a successful open: ok, corrupt, or other: ...
	Records  int    // instances, effects and due entries read
	// Writes is, after a successful read-write open, how writes to a copy
	// of the file went: ok, corrupt, or other: ...; then reads of the
	// copy reopened.
	Writes string
}

// TestDamageChild is the child's side. It does nothing unless run by
// openDamaged.
func TestDamageChild(t *testing.T) {
	job := os.Getenv(envDamageJob)
	if job == "" {
		t.Skip("run in a child process by the damaged-file tests")
	}
	raw, err := os.ReadFile(job)
	if err != nil {
		t.Fatal(err)
	}
	var cases []damageCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	out := json.NewEncoder(os.Stdout)
	emit := func(r openResult) {
		if err := out.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cases {
		sizes := c.Sizes
		if len(sizes) == 0 {
			sizes = []int64{-1}
		}
		for _, size := range sizes {
			if size >= 0 {
				if err := os.Truncate(c.Path, size); err != nil {
					t.Fatal(err)
				}
			}
			before := fileHash(t, c.Path)
			for _, mode := range []string{"rw", "ro"} {
				r := openResult{Case: i, Size: fileSize(t, c.Path), Mode: mode, Full: c.Full, Start: true}
				emit(r)
				r.Start = false
				var opts []bolt.Option
				if os.Getenv(envNoCheck) != "" {
					opts = append(opts, bolt.WithoutFileCheck())
				}
				if c.Full {
					opts = append(opts, bolt.WithFullCheck())
				}
				if mode == "ro" {
					opts = append(opts, bolt.WithReadOnly())
				}
				s, err := bolt.Open(c.Path, opts...)
				r.Class = errClass(err)
				if err != nil {
					r.Err = err.Error()
				} else {
					r.Records, r.Reads = readAll(s)
					if err := s.Close(); err != nil {
						r.Reads += "; close: " + err.Error()
					}
				}
				after := fileHash(t, c.Path)
				if err == nil && mode == "rw" && c.Probe {
					r.Writes = writeCopy(t, c.Path)
				}
				r.Modified = after != before
				before = after
				emit(r)
			}
		}
	}
}

// errClass names the kind of error Open returned.
func errClass(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, bolt.ErrCorrupt):
		return "corrupt"
	case errors.Is(err, bolt.ErrNotWeftStore):
		return "notweft"
	case errors.Is(err, bolt.ErrFormatTooNew):
		return "toonew"
	case errors.Is(err, bolt.ErrLocked):
		return "locked"
	}
	return "other"
}

// readAll reads everything s holds, as a tool reading a store does: every
// page of List, Load of every instance listed, the outbox and the due
// index. Every read must succeed or fail with ErrCorrupt; but a Load that
// does not find an instance List gave makes the verdict "inconsistent"
// (the keys of a damaged page out of order send bbolt's search astray,
// which only WithFullCheck sees at open).
func readAll(s *bolt.Store) (records int, verdict string) {
	ctx := context.Background()
	verdict = "ok"
	note := func(err error) bool {
		switch {
		case err == nil:
			return true
		case errors.Is(err, bolt.ErrCorrupt):
			if verdict == "ok" {
				verdict = "corrupt"
			}
		default:
			verdict = "other: " + err.Error()
		}
		return false
	}
	after := ""
	for {
		insts, err := s.List(ctx, after, 100)
		if !note(err) || len(insts) == 0 {
			break
		}
		for _, inst := range insts {
			records++
			_, err := s.Load(ctx, inst.ID)
			if errors.Is(err, storage.ErrNotFound) {
				if verdict == "ok" || verdict == "corrupt" {
					verdict = "inconsistent"
				}
				continue
			}
			if note(err) {
				records++
			}
		}
		after = insts[len(insts)-1].ID
	}
	effs, err := s.Outbox(ctx, 1<<30)
	note(err)
	dues, err := s.DueBefore(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<30)
	note(err)
	return records + len(effs) + len(dues), verdict
}

// fileHash hashes the file at path (CRC-32C: fast, and any change the
// tests could make is caught).
// writeCopy writes to a copy of the store at path: commits to the
// instances it lists, a new instance, an acknowledgement; then it reopens
// the copy and reads it all. Every write and read must succeed or fail
// with ErrCorrupt (a commit that fails also with ErrWriteFailed).
func writeCopy(t *testing.T, path string) string {
	cp := path + ".write"
	copyFile(t, path, cp)
	defer os.Remove(cp)
	verdict := "ok"
	note := func(err error) {
		switch {
		case err == nil:
		case errors.Is(err, storage.ErrNotFound): // see readAll
			if verdict == "ok" || verdict == "corrupt" {
				verdict = "inconsistent"
			}
		case errors.Is(err, bolt.ErrCorrupt):
			if verdict == "ok" {
				verdict = "corrupt"
			}
		default:
			verdict = "other: " + err.Error()
		}
	}
	s, err := bolt.Open(cp, bolt.WithUnsafeNoSync())
	if err != nil {
		return "other: reopening the copy: " + err.Error()
	}
	ctx := context.Background()
	insts, err := s.List(ctx, "", 5)
	note(err)
	for i, inst := range insts {
		inst.Data = append(inst.Data, "written"...)
		inst.Due = base.Add(time.Duration(i) * time.Minute)
		_, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: inst.Version,
			Effects: []storage.Effect{eff(inst.ID, fmt.Sprintf("%s/written-%d", inst.ID, inst.Version))}})
		note(err)
	}
	_, err = s.Create(ctx, storage.Instance{ID: "written", Due: base, Data: bytes.Repeat([]byte("w"), 5000)},
		[]storage.Effect{eff("written", "written/1")})
	note(err)
	if effs, err := s.Outbox(ctx, 5); err == nil && len(effs) > 0 {
		note(s.Ack(ctx, effs[0].ID))
	} else {
		note(err)
	}
	note(s.Close())
	if s, err := bolt.Open(cp, bolt.WithReadOnly()); err != nil {
		note(err)
	} else {
		if _, reads := readAll(s); reads != "ok" && (verdict == "ok" || verdict == "corrupt" && reads != "corrupt") {
			verdict = reads
		}
		note(s.Close())
	}
	return verdict
}

func fileHash(t *testing.T, path string) uint32 {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return h.Sum32()
}

func fileSize(t *testing.T, path string) int64 {
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// openDamaged runs the child on cases and returns its reports, two per
// open (rw, then ro) per size. It fails t if the child died: the message
// names the open that killed it.
func openDamaged(t tb, dir string, cases []damageCase) []openResult {
	t.Helper()
	results, err := runDamageChild(t, dir, cases)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return results
}

// runDamageChild is openDamaged, returning an error if the child died, with
// the reports it made until then; env is added to the child's environment.
func runDamageChild(t tb, dir string, cases []damageCase, env ...string) ([]openResult, error) {
	t.Helper()
	raw, err := json.Marshal(cases)
	if err != nil {
		t.Fatalf("%v", err)
	}
	job := filepath.Join(dir, "job.json")
	if err := os.WriteFile(job, raw, 0o600); err != nil {
		t.Fatalf("%v", err)
	}
	// A child that hangs is killed with SIGQUIT, which makes it print
	// every goroutine's stack.
	timeout := childTimeout
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := d.Deadline(); ok {
			timeout = min(timeout, time.Until(dl)*3/4)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDamageChild$", "-test.count=1")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(append(os.Environ(), envDamageJob+"="+job), env...)
	// Under the race detector a process sleeps a second at exit unless told not to.
	cmd.Env = append(cmd.Env, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	var results []openResult
	var last *openResult
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var r openResult
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("child printed %q: %v", line, err)
		}
		if r.Start {
			last = &r
			continue
		}
		last = nil
		results = append(results, r)
	}
	if runErr != nil || last != nil {
		where := "before its first open"
		if last != nil {
			where = fmt.Sprintf("while opening %s (case %d, %d bytes, %s)", cases[last.Case].Path, last.Case, last.Size, last.Mode)
		}
		return results, fmt.Errorf("the child died %s: %v\nstderr:\n%s\nstdout tail:\n%s", where, runErr, tail(stderr.String()), tail(stdout.String()))
	}
	return results, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[:min(len(lines), 400)], "\n")
}

// tb is what openDamaged and check need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// check fails t unless r is of one of the classes want, left the file as
// it was, and, if it opened, read only records that decode or typed errors.
func (r openResult) check(t tb, what string, want ...string) {
	t.Helper()
	if !slices.Contains(want, r.Class) {
		t.Errorf("%s (%d bytes, %s): Open = %s (%s), want %v", what, r.Size, r.Mode, r.Class, r.Err, want)
	}
	if r.Modified {
		t.Errorf("%s (%d bytes, %s): Open changed the file (%s: %s)", what, r.Size, r.Mode, r.Class, r.Err)
	}
	if r.Class == "ok" && r.Reads != "ok" && r.Reads != "corrupt" && (r.Reads != "inconsistent" || r.Full) {
		t.Errorf("%s (%d bytes, %s, full check %t): reading the opened store: %s", what, r.Size, r.Mode, r.Full, r.Reads)
	}
	if r.Writes != "" && r.Writes != "ok" && r.Writes != "corrupt" && (r.Writes != "inconsistent" || r.Full) {
		t.Errorf("%s (%d bytes, %s): writing to a copy of the store: %s", what, r.Size, r.Mode, r.Writes)
	}
}

// makeStore writes a store at path with n instances (some with large data,
// which takes overflow pages, some due, some with pending effects, some
// committed several times, which frees pages) and returns the number of
// bytes its pages take (high-water page times page size).
func makeStore(t testing.TB, path string, n int, opts ...bolt.Option) int64 {
	t.Helper()
	s := mustOpen(t, path, opts...)
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("inst-%05d", i)
		data := bytes.Repeat([]byte{byte(i)}, 100+(i%7)*1000)
		if i%50 == 7 {
			data = bytes.Repeat([]byte("big"), 10000) // 30 KB: an overflow page
		}
		inst := storage.Instance{ID: id, Workflow: "wf", Status: "running", Data: data}
		if i%3 == 0 {
			inst.Due = base.Add(time.Duration(i) * time.Second)
		}
		if _, err := s.Create(ctx, inst, []storage.Effect{eff(id, id+"/1")}); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			inst.Data = inst.Data[:len(inst.Data)/2]
			inst.Due = base.Add(-time.Duration(i) * time.Second)
			if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: 1, Effects: []storage.Effect{eff(id, id+"/2")}}); err != nil {
				t.Fatal(err)
			}
		}
		if i%5 == 0 {
			if err := s.Ack(ctx, id+"/1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	mustClose(t, s)
	return dataSize(t, path)
}

// rawView runs fn in a bbolt read transaction on the (healthy) file at path.
func rawView(t testing.TB, path string, fn func(tx *bbolt.Tx)) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bbolt.Tx) error { fn(tx); return nil }); err != nil {
		t.Fatal(err)
	}
}

// dataSize returns the high-water page times the page size of the bbolt
// file at path: the bytes its current meta page says the file holds.
func dataSize(t testing.TB, path string) int64 {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int64
	if err := db.View(func(tx *bbolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	return size
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestOpenTruncated cuts stores short at every page boundary, in the middle
// of every page and at odd offsets inside the meta pages: an open fails
// with ErrCorrupt (ErrNotWeftStore when too little is left to tell),
// writing nothing, whenever the file no longer holds every page its meta
// page counts, and succeeds otherwise.
func TestOpenTruncated(t *testing.T) {
	dir := t.TempDir()
	ps := int64(os.Getpagesize())
	type store struct {
		name string
		n    int
		opts []bolt.Option
	}
	stores := []store{
		{"small, fsync on", 5, nil}, // bbolt grows the file past its pages
		{"multi-MB", 500, []bolt.Option{bolt.WithUnsafeNoSync()}},
	}
	if testing.Short() {
		stores[1].n = 200
	}
	var cases []damageCase
	var need []int64
	for i, st := range stores {
		path := filepath.Join(dir, fmt.Sprintf("store-%d.db", i))
		need = append(need, makeStore(t, path, st.n, st.opts...))
		full := fileSize(t, path)
		sizes := []int64{full}
		for off := range full / ps {
			sizes = append(sizes, off*ps, off*ps+ps/2)
		}
		sizes = append(sizes, 1, 15, 16, 19, 20, 79, 80, 81, ps+20, ps+80)
		slices.Sort(sizes)
		sizes = slices.Compact(sizes)
		slices.Reverse(sizes)
		sizes = slices.DeleteFunc(sizes, func(n int64) bool { return n <= 0 || n > full })
		t.Logf("%s: %d bytes, %d of them pages; %d cuts", st.name, full, need[i], len(sizes))
		cases = append(cases, damageCase{Path: path, Sizes: sizes})
	}
	opened := 0
	for _, r := range openDamaged(t, dir, cases) {
		what := stores[r.Case].name
		switch {
		case r.Size >= need[r.Case]:
			r.check(t, what, "ok")
			if r.Reads != "ok" {
				t.Errorf("%s (%d bytes, %s): reads after opening: %s", what, r.Size, r.Mode, r.Reads)
			}
			opened++
		case r.Size < 20: // bbolt's magic number is not even there
			r.check(t, what, "notweft")
		default:
			r.check(t, what, "corrupt")
			if !strings.Contains(r.Err, "cut short") {
				t.Errorf("%s (%d bytes, %s): error %q does not say the file was cut short", what, r.Size, r.Mode, r.Err)
			}
		}
	}
	if opened < 4 {
		t.Errorf("only %d opens of whole files succeeded", opened)
	}
}

// metaField offsets in a meta page (see filecheck.go).
const (
	metaPageSizeAt = 24
	metaRootAt     = 32
	metaFreelistAt = 48
	metaHWMAt      = 56
	metaTxidAt     = 64
	metaSumAt      = 72
)

// currentMeta returns the offset of the meta page bbolt uses in b: the
// one with the higher transaction ID (both are valid in the files these
// tests start from).
func currentMeta(b []byte, ps int) int {
	if binary.NativeEndian.Uint64(b[ps+metaTxidAt:]) > binary.NativeEndian.Uint64(b[metaTxidAt:]) {
		return ps
	}
	return 0
}

// resum rewrites the checksum of the meta page at off, making a meta page
// whose fields lie but which bbolt takes as valid.
func resum(b []byte, off int) {
	h := fnv.New64a()
	h.Write(b[off+16 : off+metaSumAt])
	binary.NativeEndian.PutUint64(b[off+metaSumAt:], h.Sum64())
}

// TestOpenDamaged opens stores damaged in many ways, and files that are no
// stores: each open fails with the expected error, or succeeds with a store
// whose reads succeed or fail with ErrCorrupt, and no open writes to the
// file (but one initialising an empty file).
func TestOpenDamaged(t *testing.T) {
	dir := t.TempDir()
	ps := os.Getpagesize()
	orig := filepath.Join(dir, "orig.db")
	makeStore(t, orig, 120, bolt.WithUnsafeNoSync())
	good, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	cur := currentMeta(good, ps)
	old := ps - cur

	type variant struct {
		name string
		want []string
		make func() []byte // the file's contents
	}
	damaged := func(f func(b []byte)) func() []byte {
		return func() []byte {
			b := slices.Clone(good)
			f(b)
			return b
		}
	}
	var variants []variant
	add := func(name string, make func() []byte, want ...string) {
		variants = append(variants, variant{name, want, make})
	}

	// Any one byte of either meta page: bbolt falls back to the other one,
	// which still describes a whole store.
	for _, page := range []int{0, ps} {
		for off := range metaSumAt + 8 {
			add(fmt.Sprintf("meta page %d, byte %d flipped", page/ps, off),
				damaged(func(b []byte) { b[page+off] ^= 0xA5 }), "ok")
		}
	}
	add("both meta pages damaged", damaged(func(b []byte) { b[20] ^= 1; b[ps+20] ^= 1 }), "corrupt")
	add("both meta pages zeroed", damaged(func(b []byte) { clear(b[:2*ps]) }), "notweft")
	add("the older meta page zeroed", damaged(func(b []byte) { clear(b[old : old+ps]) }), "ok")
	add("the current meta page zeroed", damaged(func(b []byte) { clear(b[cur : cur+ps]) }), "ok")

	// A current meta page with a valid checksum whose fields lie.
	lie := func(name string, at int, v uint64, want ...string) {
		add("current meta page claims "+name, damaged(func(b []byte) {
			if at == metaPageSizeAt {
				binary.NativeEndian.PutUint32(b[cur+at:], uint32(v))
			} else {
				binary.NativeEndian.PutUint64(b[cur+at:], v)
			}
			resum(b, cur)
		}), want...)
	}
	pages := uint64(len(good) / ps)
	lie("more pages than the file holds", metaHWMAt, pages+1, "corrupt")
	lie("a root past the last page", metaRootAt, pages+3, "corrupt")
	lie("a meta page as root", metaRootAt, 1, "corrupt")
	lie("a freelist past the last page", metaFreelistAt, pages+3, "corrupt")
	lie("no saved freelist", metaFreelistAt, ^uint64(0), "notweft")
	lie("the root as freelist", metaFreelistAt, binary.NativeEndian.Uint64(good[cur+metaRootAt:]), "corrupt")
	lie("a page size twice the real one", metaPageSizeAt, uint64(2*ps), "corrupt")
	// The page size is first read from meta page 0: when the current meta
	// is page 1, the file reads as a 4 KiB-page store whose current meta
	// lies (corrupt); when it is page 0, as a file of another page size.
	lie("a page size of 100", metaPageSizeAt, 100, "notweft", "corrupt")

	// Every page zeroed in turn, and every page header damaged in turn: the
	// open fails if the page is in use, and succeeds if it is free.
	for p := 2; p < len(good)/ps; p++ {
		add(fmt.Sprintf("page %d zeroed", p), damaged(func(b []byte) { clear(b[p*ps : (p+1)*ps]) }), "ok", "corrupt")
		add(fmt.Sprintf("page %d: id damaged", p), damaged(func(b []byte) { b[p*ps] ^= 0x40 }), "ok", "corrupt")
		if testing.Short() {
			continue
		}
		add(fmt.Sprintf("page %d: count damaged", p), damaged(func(b []byte) { b[p*ps+11] ^= 0x7f }), "ok", "corrupt")
		add(fmt.Sprintf("page %d: first element damaged", p), damaged(func(b []byte) { b[p*ps+16+7] ^= 0x33 }), "ok", "corrupt")
		add(fmt.Sprintf("page %d: a key damaged", p), damaged(func(b []byte) {
			if at := p*ps + 16 + int(binary.NativeEndian.Uint16(b[p*ps+10:]))*16; at < (p+1)*ps {
				b[at] ^= 0x08 // the first key of a leaf or branch page
			}
		}), "ok", "corrupt")
	}

	// Files that are no weft stores.
	for _, n := range []int{1, 15, 100, 4096, 10000, 64 << 10} {
		add(fmt.Sprintf("%d random bytes", n), func() []byte { return randomBytes(n) }, "notweft")
	}
	add("random bytes with bbolt's magic number", func() []byte {
		b := randomBytes(64 << 10)
		binary.NativeEndian.PutUint32(b[16:], 0xED0CDAED)
		binary.NativeEndian.PutUint32(b[ps+16:], 0xED0CDAED)
		return b
	}, "corrupt")
	foreign := filepath.Join(dir, "foreign.db")
	rawBolt(t, foreign, func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		for i := range 500 {
			if err := b.Put(fmt.Appendf(nil, "user-%04d", i), bytes.Repeat([]byte("x"), 100)); err != nil {
				return err
			}
		}
		return nil
	})
	add("another application's bbolt file", func() []byte {
		b, err := os.ReadFile(foreign)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}, "notweft")

	// Each file is opened with the default check and WithFullCheck; the
	// stores with damaged pages are written to as well.
	var cases []damageCase
	for i, v := range variants {
		path := filepath.Join(dir, fmt.Sprintf("case-%04d.db", i))
		if err := os.WriteFile(path, v.make(), 0o600); err != nil {
			t.Fatal(err)
		}
		full := path + ".full"
		copyFile(t, path, full)
		probe := strings.HasPrefix(v.name, "page ")
		cases = append(cases, damageCase{Path: path, Probe: probe}, damageCase{Path: full, Full: true, Probe: probe})
	}
	// The empty file: read-write initialises it, read-only refuses it.
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases = append(cases, damageCase{Path: empty})

	counts := map[string]int{}
	for _, r := range openDamaged(t, dir, cases) {
		if r.Case == len(cases)-1 {
			if r.Mode == "rw" && (r.Class != "ok" || r.Reads != "ok" || r.Records != 0) {
				t.Errorf("read-write Open of an empty file = %s (%s), reads %s", r.Class, r.Err, r.Reads)
			}
			if r.Mode == "ro" && r.Class != "ok" { // initialised by the read-write open
				t.Errorf("read-only Open of the initialised file = %s (%s)", r.Class, r.Err)
			}
			continue
		}
		v := variants[r.Case/2]
		r.check(t, v.name, v.want...)
		if r.Class == "ok" && len(v.want) == 1 && r.Reads != "ok" {
			t.Errorf("%s (%s): reads after opening: %s", v.name, r.Mode, r.Reads)
		}
		counts[r.Class]++
		if r.Class == "ok" {
			counts[fmt.Sprintf("reads %s (full check %t)", r.Reads, r.Full)]++
		}
		if r.Writes != "" {
			counts["writes "+r.Writes]++
		}
	}
	t.Logf("%d files, opens by outcome: %v", len(variants), counts)
}

// TestOpenDamagedProperty damages random stores at random (cuts them short,
// flips bytes, zeroes pages, favouring the meta pages and page headers) and
// opens each in a child process: the child never dies, no open changes the
// file, and an open either fails with ErrCorrupt or ErrNotWeftStore or
// gives a store whose every read succeeds or fails with ErrCorrupt.
func TestOpenDamagedProperty(t *testing.T) {
	dir := t.TempDir()
	ps := int64(os.Getpagesize())
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("store-%d.db", n))
		// Without fsync, for speed; with "slack", bbolt grows the file
		// ahead of its pages, as it does with fsync on.
		opts := []bolt.Option{bolt.WithUnsafeNoSync()}
		if rapid.Bool().Draw(rt, "slack") {
			opts = append(opts, bolt.WithBoltOptions(func(o *bbolt.Options) { o.NoGrowSync = false }))
		}
		makeRandomStore(rt, path, opts...)
		b, err := os.ReadFile(path)
		if err != nil {
			rt.Fatalf("%v", err)
		}
		for range rapid.IntRange(1, 3).Draw(rt, "damages") {
			size := int64(len(b))
			pageOf := rapid.Int64Range(0, max(0, size/ps-1))
			switch rapid.SampledFrom([]string{"cut", "flip meta", "flip header", "flip", "zero page"}).Draw(rt, "damage") {
			case "cut":
				at := pageOf.Draw(rt, "cut page")*ps + rapid.SampledFrom([]int64{0, 0, 1, 16, ps / 2, ps - 1}).Draw(rt, "cut offset")
				b = b[:min(at, size)]
			case "flip meta":
				if at := rapid.Int64Range(0, 1).Draw(rt, "meta page")*ps + rapid.Int64Range(0, 79).Draw(rt, "meta byte"); at < size {
					b[at] ^= byte(rapid.IntRange(1, 255).Draw(rt, "xor"))
				}
			case "flip header":
				if at := pageOf.Draw(rt, "page")*ps + rapid.Int64Range(0, 47).Draw(rt, "header byte"); at < size {
					b[at] ^= byte(rapid.IntRange(1, 255).Draw(rt, "xor"))
				}
			case "flip":
				if size > 0 {
					b[rapid.Int64Range(0, size-1).Draw(rt, "byte")] ^= byte(rapid.IntRange(1, 255).Draw(rt, "xor"))
				}
			case "zero page":
				p := pageOf.Draw(rt, "page")
				clear(b[min(p*ps, size):min((p+1)*ps, size)])
			}
		}
		if len(b) == 0 {
			b = []byte{0} // an empty file is a new store, not a damaged one
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			rt.Fatalf("%v", err)
		}
		full := rapid.Bool().Draw(rt, "full check")
		for _, r := range openDamaged(rt, dir, []damageCase{{Path: path, Full: full, Probe: true}}) {
			// A read-write open writes to a file only to initialise one
			// without buckets, as a damaged current meta page can leave
			// a new store (bbolt then uses the other, older meta page),
			// and the store it gives is empty.
			if r.Mode == "rw" && r.Class == "ok" && r.Reads == "ok" && r.Records == 0 {
				r.Modified = false
			}
			r.check(rt, "a damaged store", "ok", "corrupt", "notweft")
		}
	})
}

// makeRandomStore writes a random store at path.
func makeRandomStore(t *rapid.T, path string, opts ...bolt.Option) {
	s, err := bolt.Open(path, opts...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	defer s.Close()
	ctx := context.Background()
	versions := map[string]uint64{}
	var pending []string
	ids := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g", "h"})
	for i := range rapid.IntRange(0, 80).Draw(t, "writes") {
		id := fmt.Sprintf("%s-%d", ids.Draw(t, "id"), rapid.IntRange(0, 20).Draw(t, "n"))
		size := rapid.SampledFrom([]int{0, 10, 300, 300, 3000, 20000}).Draw(t, "size")
		inst := storage.Instance{ID: id, Workflow: "wf", Status: "running", Data: bytes.Repeat([]byte{byte(i)}, size)}
		if rapid.Bool().Draw(t, "due") {
			inst.Due = base.Add(time.Duration(rapid.IntRange(0, 1000).Draw(t, "at")) * time.Second)
		}
		effID := fmt.Sprintf("%s/%d", id, i)
		effs := []storage.Effect{eff(id, effID)}
		if v, ok := versions[id]; ok {
			if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: v, Effects: effs}); err != nil {
				t.Fatalf("%v", err)
			}
		} else if _, err := s.Create(ctx, inst, effs); err != nil {
			t.Fatalf("%v", err)
		}
		versions[id]++
		pending = append(pending, effID)
		if len(pending) > 3 && rapid.Bool().Draw(t, "ack") {
			if err := s.Ack(ctx, pending[:2]...); err != nil {
				t.Fatalf("%v", err)
			}
			pending = pending[2:]
		}
	}
}

// TestOpenTruncatedWithoutCheck is the planted bug for TestOpenTruncated:
// without the check before bbolt maps the file, opens of stores cut short
// succeed (bbolt reads only the first pages on open) or kill the process,
// and the reads after them fail: the check is what refuses such files.
func TestOpenTruncatedWithoutCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weft.db")
	need := makeStore(t, path, 200, bolt.WithUnsafeNoSync())
	ps := int64(os.Getpagesize())
	var sizes []int64
	for at := need - ps; at >= need/2; at -= 7 * ps {
		sizes = append(sizes, at)
	}
	results, err := runDamageChild(t, dir, []damageCase{{Path: path, Sizes: sizes}}, envNoCheck+"=1")
	if err != nil {
		t.Logf("without the check, the child died: %.300s", err)
		return
	}
	missed := 0
	for _, r := range results {
		if r.Class != "corrupt" {
			missed++
		}
	}
	if missed == 0 {
		t.Fatalf("without the check, all %d opens of stores cut short still failed with ErrCorrupt: TestOpenTruncated proves nothing", len(results))
	}
	t.Logf("without the check, %d of %d opens of stores cut short were not refused", missed, len(results))
}

// TestFullCheckHealthy opens healthy stores with WithFullCheck: random
// ones, and one whose instances take a tree of three levels. The check passes
// and the store reads the same as with the default check.
func TestFullCheckHealthy(t *testing.T) {
	dir := t.TempDir()
	check := func(t tb, path string) {
		t.Helper()
		var states [2]state
		for i, opts := range [][]bolt.Option{{bolt.WithReadOnly()}, {bolt.WithReadOnly(), bolt.WithFullCheck()}} {
			s, err := bolt.Open(path, opts...)
			if err != nil {
				t.Fatalf("Open(%d options): %v", len(opts), err)
			}
			ctx := context.Background()
			var errs [3]error
			states[i].Instances, errs[0] = s.List(ctx, "", 1<<20)
			states[i].Outbox, errs[1] = s.Outbox(ctx, 1<<20)
			states[i].Due, errs[2] = s.DueBefore(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<20)
			if err := errors.Join(errs[:]...); err != nil {
				t.Fatalf("reading with %d options: %v", len(opts), err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		if !reflect.DeepEqual(states[0], states[1]) { // cmp.Diff is slow on large values
			t.Errorf("the full check changed what the store reads (-default +full):\n%s", diff(states[0], states[1]))
		}
	}
	big := filepath.Join(dir, "big.db")
	makeStore(t, big, 600, bolt.WithUnsafeNoSync())
	rawView(t, big, func(tx *bbolt.Tx) {
		if d := tx.Bucket([]byte("instances")).Stats().Depth; d < 3 {
			t.Fatalf("the instances take a tree of %d levels, want 3 or more", d)
		}
	})
	check(t, big)
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("store-%d.db", n))
		makeRandomStore(rt, path, bolt.WithUnsafeNoSync())
		check(rt, path)
		os.Remove(path)
	})
}
