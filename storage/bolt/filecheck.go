package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// bbolt's on-disk layout (go.etcd.io/bbolt v1.5, internal/common), as far as
// checkFile reads it. Integers are in the byte order of the machine that
// wrote the file, which bbolt assumes is this machine's.
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64

	// A meta page is a page header followed by magic u32, version u32,
	// page size u32, flags u32, root bucket (root pgid u64, sequence u64),
	// freelist pgid u64, high-water pgid u64, txid u64 and an FNV-64a
	// checksum of the meta fields before it.
	metaChecksumAt = pageHeaderSize + 56
	metaEnd        = metaChecksumAt + 8
	boltVersion    = 2

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01

	noFreelist = ^uint64(0) // freelist pgid of a file whose freelist is not saved

	// maxTreeDepth bounds the depth of a bucket's B+tree. A real tree is at
	// most a few dozen levels deep even for the largest files; a deeper one
	// has a page that refers back to an ancestor, which would send bbolt
	// into endless recursion.
	maxTreeDepth = 64
)

// native is the byte order bbolt uses on this machine.
var native = binary.NativeEndian

// boltMeta is a decoded meta page.
type boltMeta struct {
	pageSize                  uint32
	root, freelist, hwm, txid uint64
	valid                     bool // magic, version and checksum are right
}

// parseMeta decodes the meta in the page that starts b. It reports
// whether b holds bbolt's magic number at all.
func parseMeta(b []byte) (m boltMeta, magic bool) {
	if len(b) < metaEnd {
		return m, len(b) >= pageHeaderSize+4 && native.Uint32(b[pageHeaderSize:]) == boltMagic
	}
	magic = native.Uint32(b[pageHeaderSize:]) == boltMagic
	h := fnv.New64a()
	h.Write(b[pageHeaderSize:metaChecksumAt])
	m = boltMeta{
		pageSize: native.Uint32(b[pageHeaderSize+8:]),
		root:     native.Uint64(b[pageHeaderSize+16:]),
		freelist: native.Uint64(b[pageHeaderSize+32:]),
		hwm:      native.Uint64(b[pageHeaderSize+40:]),
		txid:     native.Uint64(b[pageHeaderSize+48:]),
	}
	m.valid = magic && native.Uint32(b[pageHeaderSize+4:]) == boltVersion &&
		native.Uint64(b[metaChecksumAt:]) == h.Sum64()
	return m, magic
}

// pageHeader is the header at the start of every page but the meta pages'
// own fields.
type pageHeader struct {
	id       uint64
	flags    uint16
	count    uint16
	overflow uint32
}

func parseHeader(b []byte) pageHeader {
	return pageHeader{
		id:       native.Uint64(b),
		flags:    native.Uint16(b[8:]),
		count:    native.Uint16(b[10:]),
		overflow: native.Uint32(b[12:]),
	}
}

// fileCheck checks a bbolt file with plain reads, before bbolt maps it.
type fileCheck struct {
	f    *os.File
	path string
	size int64
	full bool // check every leaf page too

	pageSize int64
	meta     boltMeta
	used     []uint64 // bit set of pages reachable from the meta or free
	freed    []uint64 // bit set of free pages

	hdr  [pageHeaderSize]byte // buffer for page headers
	leaf []byte               // buffer for data leaf pages
	keys [][]byte             // buffer for the keys of a leaf page
}

// checkFile checks the file at path before bbolt opens it, so that a
// damaged file is refused with an error instead of crashing the process:
// bbolt maps the file into memory and trusts what it finds, and a page
// beyond the end of a file cut short faults (SIGBUS) when read.
//
// It reads both meta pages and picks the one bbolt would use (the valid one
// with the highest transaction ID), and checks that the file holds every
// page that meta counts, that the freelist page is a freelist whose pages
// exist and are not in use, and that the branch pages of the root bucket and
// of every top-level bucket form trees: every page they refer to exists,
// is a branch or leaf page of the right ID, is used once and is not free,
// with no path deeper than maxTreeDepth, and the keys of every branch page
// are in order within the range its parent gives it. It reads the root
// bucket's leaf pages element by element, for the buckets they hold. With
// full, it also checks every leaf page: every key and value lies inside the
// page, and the keys are in order within their range.
//
// A missing or empty file passes (Open creates or initialises it). The
// check holds a shared lock on the file (where the platform has flock), so
// that no writer changes the file under it; it fails with bbolt's timeout
// error if it cannot take the lock within timeout. It fails with
// ErrNotWeftStore for a file without a bbolt meta page and with ErrCorrupt
// for a damaged bbolt file. It writes nothing.
func checkFile(path string, timeout time.Duration, full bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bolt: open %s: %w", path, err)
	}
	defer f.Close() // releases the lock
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if info.Size() == 0 || info.IsDir() {
		return nil
	}
	if err := lockShared(f, timeout); err != nil {
		return err
	}
	// Stat again under the lock: a writer may have grown the file.
	if info, err = f.Stat(); err != nil {
		return fmt.Errorf("bolt: open %s: %w", path, err)
	}
	c := &fileCheck{f: f, path: path, size: info.Size(), full: full}
	return c.run()
}

func (c *fileCheck) corrupt(format string, args ...any) error {
	return fmt.Errorf("bolt: open %s: %w: "+format, append([]any{c.path, ErrCorrupt}, args...)...)
}

func (c *fileCheck) notWeft(format string, args ...any) error {
	return fmt.Errorf("bolt: open %s: %w: "+format, append([]any{c.path, ErrNotWeftStore}, args...)...)
}

// read reads n bytes at off. Reading past the end of the file is damage.
func (c *fileCheck) read(off, n int64, what string) ([]byte, error) {
	if off < 0 || n < 0 || off > c.size || n > c.size-off {
		return nil, c.corrupt("%s (%d bytes at offset %d) lies past the end of the %d-byte file", what, n, off, c.size)
	}
	b := make([]byte, n)
	if err := c.readAt(b, off); err != nil {
		return nil, c.readError(err, what)
	}
	return b, nil
}

// errEarlyEOF reports a file that ended before its size said.
var errEarlyEOF = errors.New("the file ended early")

// readAt fills b from off, which the caller checked lies in the file.
func (c *fileCheck) readAt(b []byte, off int64) error {
	_, err := c.f.ReadAt(b, off)
	if errors.Is(err, io.EOF) {
		return errEarlyEOF
	}
	return err
}

// readError describes a failed read of what.
func (c *fileCheck) readError(err error, what string) error {
	if errors.Is(err, errEarlyEOF) {
		return c.corrupt("%s: %v", what, err)
	}
	return fmt.Errorf("bolt: open %s: %w", c.path, err)
}

func (c *fileCheck) run() error {
	if err := c.findPageSize(); err != nil {
		return err
	}
	if err := c.pickMeta(); err != nil {
		return err
	}
	words := (c.meta.hwm + 63) / 64
	c.used = make([]uint64, words)
	c.freed = make([]uint64, words)
	c.mark(0)
	c.mark(1)
	if err := c.checkFreelist(); err != nil {
		return err
	}
	return c.walkTree("the root bucket", c.meta.root, 0, true, bounds{})
}

// findPageSize finds the page size as bbolt does: from the first meta page
// if it is valid, else from a valid second meta page at any power-of-two
// offset from 1 KiB to 16 MiB.
func (c *fileCheck) findPageSize() error {
	buf := make([]byte, 4096)
	n, _ := c.f.ReadAt(buf, 0)
	m, magic := parseMeta(buf[:n])
	sawMagic := magic
	if !m.valid {
		for i := range 15 {
			pos := int64(1024) << i
			if pos >= c.size-1024 {
				break
			}
			n, _ := c.f.ReadAt(buf, pos)
			var magic bool
			if m, magic = parseMeta(buf[:n]); m.valid {
				break
			}
			sawMagic = sawMagic || magic
		}
	}
	switch ps := int64(m.pageSize); {
	case !m.valid && magic && n < metaEnd:
		return c.corrupt("the file has %d bytes and ends inside its first meta page: it was cut short", c.size)
	case !m.valid && sawMagic:
		return c.corrupt("no meta page is intact (bbolt's magic number is there, but the checksums or versions are wrong)")
	case !m.valid && looksLikeBolt(c.path):
		return c.notWeft("a bbolt file written on a machine of the other byte order")
	case !m.valid:
		return c.notWeft("not a bbolt file (no meta page)")
	case ps < 1024 || ps > 16<<20 || ps&(ps-1) != 0:
		return c.notWeft("a bbolt file with page size %d (weft uses the system page size)", ps)
	default:
		c.pageSize = ps
		return nil
	}
}

// pickMeta reads both meta pages and picks the one bbolt uses, then checks
// it against the file.
func (c *fileCheck) pickMeta() error {
	ps := c.pageSize
	if c.size < 2*ps {
		return c.corrupt("the file has %d bytes, fewer than its two meta pages of %d bytes: it was cut short", c.size, ps)
	}
	var metas [2]boltMeta
	for i := range metas {
		b, err := c.read(int64(i)*ps, metaEnd, fmt.Sprintf("meta page %d", i))
		if err != nil {
			return err
		}
		metas[i], _ = parseMeta(b)
	}
	// bbolt prefers the page with the higher transaction ID, valid or not,
	// if it is valid, and otherwise the other one.
	a, b := metas[0], metas[1]
	if b.txid > a.txid {
		a, b = b, a
	}
	m := a
	if !m.valid {
		m = b
	}
	if !m.valid {
		return c.corrupt("both meta pages are damaged")
	}
	c.meta = m
	switch pages := uint64(c.size / ps); {
	case int64(m.pageSize) != ps:
		return c.corrupt("the meta page of transaction %d says the page size is %d, the other %d", m.txid, m.pageSize, ps)
	case m.hwm > pages:
		return c.corrupt("the file is cut short: transaction %d counts %d pages of %d bytes (%d bytes), the file has %d bytes",
			m.txid, m.hwm, ps, m.hwm*uint64(ps), c.size)
	case m.root < 2 || m.root >= m.hwm:
		return c.corrupt("the root bucket's page %d is out of range [2, %d)", m.root, m.hwm)
	case m.freelist == noFreelist:
		return c.notWeft("a bbolt file without a saved freelist (weft always saves it)")
	case m.freelist < 2 || m.freelist >= m.hwm:
		return c.corrupt("the freelist page %d is out of range [2, %d)", m.freelist, m.hwm)
	}
	return nil
}

func (c *fileCheck) mark(id uint64)         { c.used[id/64] |= 1 << (id % 64) }
func (c *fileCheck) isUsed(id uint64) bool  { return c.used[id/64]&(1<<(id%64)) != 0 }
func (c *fileCheck) isFreed(id uint64) bool { return c.freed[id/64]&(1<<(id%64)) != 0 }

// header reads and checks the header of page id, which must be of one of
// the given types, and claims the page and its overflow pages.
func (c *fileCheck) header(id uint64, what string, flags ...uint16) (pageHeader, error) {
	if id < 2 || id >= c.meta.hwm {
		return pageHeader{}, c.corrupt("%s: page %d is out of range [2, %d)", what, id, c.meta.hwm)
	}
	// id < hwm and the file holds hwm pages, so the header is in the file.
	if err := c.readAt(c.hdr[:], int64(id)*c.pageSize); err != nil {
		return pageHeader{}, c.readError(err, fmt.Sprintf("%s: page %d", what, id))
	}
	h := parseHeader(c.hdr[:])
	switch {
	case h.id != id:
		return h, c.corrupt("%s: page %d identifies itself as page %d", what, id, h.id)
	case !slices.Contains(flags, h.flags):
		return h, c.corrupt("%s: page %d has type %#x", what, id, h.flags)
	case uint64(h.overflow) >= c.meta.hwm-id:
		return h, c.corrupt("%s: page %d runs %d pages past the last page", what, id, uint64(h.overflow)+id+1-c.meta.hwm)
	}
	for p := id; p <= id+uint64(h.overflow); p++ {
		switch {
		case c.isFreed(p):
			return h, c.corrupt("%s: page %d is in use and free", what, p)
		case c.isUsed(p):
			return h, c.corrupt("%s: page %d is used twice (a page refers back to an ancestor, or two pages share a child)", what, p)
		}
		c.mark(p)
	}
	return h, nil
}

// checkFreelist checks the freelist page: every page it lists exists, is
// listed once and is not one of the meta pages.
func (c *fileCheck) checkFreelist() error {
	const what = "the freelist"
	id := c.meta.freelist
	h, err := c.header(id, what, freelistPageFlag)
	if err != nil {
		return err
	}
	off := int64(id)*c.pageSize + pageHeaderSize
	count, skip := uint64(h.count), int64(0)
	if h.count == 0xFFFF { // the count is in the first element
		b, err := c.read(off, 8, what+": its count")
		if err != nil {
			return err
		}
		count, skip = native.Uint64(b), 8
	}
	room := (int64(h.overflow)+1)*c.pageSize - pageHeaderSize - skip
	if count > uint64(room/8) {
		return c.corrupt("%s: page %d claims %d free pages, more than it holds", what, id, count)
	}
	b, err := c.read(off+skip, int64(count)*8, what)
	if err != nil {
		return err
	}
	for i := range count {
		p := native.Uint64(b[i*8:])
		switch {
		case p < 2 || p >= c.meta.hwm:
			return c.corrupt("%s lists page %d, out of range [2, %d)", what, p, c.meta.hwm)
		case c.isFreed(p):
			return c.corrupt("%s lists page %d twice", what, p)
		case c.isUsed(p):
			return c.corrupt("%s lists page %d, which is the freelist's own", what, p)
		}
		c.freed[p/64] |= 1 << (p % 64)
	}
	return nil
}

// bounds are the keys a subtree may hold, lo <= key < hi (nil: unbounded):
// a branch page's key is the least key under it, and the next key of the
// branch is greater than every key under it.
type bounds struct{ lo, hi []byte }

// walkTree checks the tree of pages under page id, at the given depth, whose
// keys must lie within b. If buckets, it reads its leaf pages and checks the
// buckets they hold (only one level down: weft opens no nested bucket).
func (c *fileCheck) walkTree(what string, id uint64, depth int, buckets bool, b bounds) error {
	if depth > maxTreeDepth {
		return c.corrupt("%s: the tree is deeper than %d levels at page %d", what, maxTreeDepth, id)
	}
	h, err := c.header(id, what, branchPageFlag, leafPageFlag)
	if err != nil {
		return err
	}
	if h.flags == leafPageFlag && !buckets && !c.full {
		return nil
	}
	pageEnd := (int64(h.overflow) + 1) * c.pageSize // from the start of the page
	if pageHeaderSize+int64(h.count)*elementSize > pageEnd {
		return c.corrupt("%s: page %d claims %d elements, more than fit in it", what, id, h.count)
	}
	if h.flags == leafPageFlag && !buckets {
		// Nothing of a data leaf is kept after checkLeaf: reuse a buffer.
		if int64(cap(c.leaf)) < pageEnd {
			c.leaf = make([]byte, pageEnd)
		}
		page := c.leaf[:pageEnd]
		if err := c.readAt(page, int64(id)*c.pageSize); err != nil {
			return c.readError(err, fmt.Sprintf("%s: page %d", what, id))
		}
		return c.checkLeaf(what, id, h, page, depth, buckets, b)
	}
	page, err := c.read(int64(id)*c.pageSize, pageEnd, fmt.Sprintf("%s: page %d", what, id))
	if err != nil {
		return err
	}
	if h.flags == leafPageFlag {
		return c.checkLeaf(what, id, h, page, depth, buckets, b)
	}
	if h.count == 0 {
		return c.corrupt("%s: branch page %d is empty", what, id)
	}
	keys := make([][]byte, h.count)
	for i := range int64(h.count) {
		at := pageHeaderSize + i*elementSize
		e := page[at:]
		kOff := at + int64(native.Uint32(e))
		kEnd := kOff + int64(native.Uint32(e[4:]))
		if kEnd > pageEnd {
			return c.corrupt("%s: a key of branch page %d lies outside the page", what, id)
		}
		keys[i] = page[kOff:kEnd]
	}
	if err := c.checkOrder(what, "branch", id, keys, b); err != nil {
		return err
	}
	for i := range int64(h.count) {
		child := bounds{lo: keys[i], hi: b.hi}
		if i+1 < int64(h.count) {
			child.hi = keys[i+1]
		}
		if err := c.walkTree(what, native.Uint64(page[pageHeaderSize+i*elementSize+8:]), depth+1, buckets, child); err != nil {
			return err
		}
	}
	return nil
}

// checkOrder checks that the keys of a page are non-empty, strictly
// increasing and within b; otherwise bbolt's searches (Get, Seek) go astray
// while its iteration still finds every key.
func (c *fileCheck) checkOrder(what, kind string, id uint64, keys [][]byte, b bounds) error {
	for i, k := range keys {
		switch {
		case len(k) == 0:
			return c.corrupt("%s: %s page %d has an empty key", what, kind, id)
		case i > 0 && bytes.Compare(keys[i-1], k) >= 0:
			return c.corrupt("%s: the keys of %s page %d are out of order", what, kind, id)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if b.lo != nil && bytes.Compare(keys[0], b.lo) < 0 || b.hi != nil && bytes.Compare(keys[len(keys)-1], b.hi) >= 0 {
		return c.corrupt("%s: the keys of %s page %d lie outside the range its parent gives it", what, kind, id)
	}
	return nil
}

// checkLeaf checks that every key and value of leaf page id lies inside
// the page and that its keys are in order within b and, if buckets, checks
// the buckets it holds. page is the whole page.
func (c *fileCheck) checkLeaf(what string, id uint64, h pageHeader, page []byte, depth int, buckets bool, b bounds) error {
	if h.count == 0 && buckets {
		if err := c.checkBlank(what, id, depth, page); err != nil {
			return err
		}
	}
	pageEnd := int64(len(page))
	var keys [][]byte
	if buckets { // kept while checkBucket checks the leaves under it
		keys = make([][]byte, h.count)
	} else {
		if cap(c.keys) < int(h.count) {
			c.keys = make([][]byte, h.count)
		}
		keys = c.keys[:h.count]
	}
	for i := range int64(h.count) {
		at := pageHeaderSize + i*elementSize
		e := page[at:]
		kOff := at + int64(native.Uint32(e[4:]))
		vOff := kOff + int64(native.Uint32(e[8:]))
		vEnd := vOff + int64(native.Uint32(e[12:]))
		if vEnd > pageEnd {
			return c.corrupt("%s: a key or value of leaf page %d lies outside the page", what, id)
		}
		keys[i] = page[kOff:vOff]
	}
	if err := c.checkOrder(what, "leaf", id, keys, b); err != nil {
		return err
	}
	if !buckets {
		return nil
	}
	for i := range int64(h.count) {
		at := pageHeaderSize + i*elementSize
		e := page[at:]
		if native.Uint32(e)&bucketLeafFlag == 0 {
			continue
		}
		vOff := at + int64(native.Uint32(e[4:])) + int64(native.Uint32(e[8:]))
		value := page[vOff : vOff+int64(native.Uint32(e[12:]))]
		if err := c.checkBucket(fmt.Sprintf("bucket %q", keys[i]), value, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkBucket checks the bucket whose header (and inline page, if any) is
// value.
func (c *fileCheck) checkBucket(what string, value []byte, depth int) error {
	if len(value) < bucketHeaderSize {
		return c.corrupt("%s: its header has %d bytes", what, len(value))
	}
	if root := native.Uint64(value); root != 0 {
		return c.walkTree(what, root, depth, false, bounds{})
	}
	// An inline bucket: a leaf page inside the value.
	page := value[bucketHeaderSize:]
	if len(page) < pageHeaderSize {
		return c.corrupt("%s: its inline page has %d bytes", what, len(page))
	}
	h := parseHeader(page)
	if h.flags != leafPageFlag {
		return c.corrupt("%s: its inline page has type %#x", what, h.flags)
	}
	n := int64(h.count)
	if pageHeaderSize+n*elementSize > int64(len(page)) {
		return c.corrupt("%s: its inline page claims %d elements, more than fit in it", what, h.count)
	}
	keys := make([][]byte, n)
	for i := range n {
		e := page[pageHeaderSize+i*elementSize:]
		at := pageHeaderSize + i*elementSize
		kOff := at + int64(native.Uint32(e[4:]))
		vOff := kOff + int64(native.Uint32(e[8:]))
		if vOff+int64(native.Uint32(e[12:])) > int64(len(page)) {
			return c.corrupt("%s: a key or value of its inline page lies outside it", what)
		}
		keys[i] = page[kOff:vOff]
	}
	return c.checkOrder(what, "inline", 0, keys, bounds{})
}

// checkBlank checks an empty leaf page of the root bucket. Open initialises
// a bbolt file without buckets as a new store, so an empty root bucket must
// really be one: the only page of the tree, and all zeros after its header
// as bbolt writes it, not a weft store's root page whose count was damaged.
func (c *fileCheck) checkBlank(what string, id uint64, depth int, page []byte) error {
	if depth > 0 {
		return c.corrupt("%s: leaf page %d under a branch page is empty", what, id)
	}
	if slices.ContainsFunc(page[pageHeaderSize:], func(x byte) bool { return x != 0 }) {
		return c.corrupt("%s: its page %d counts no keys but holds data", what, id)
	}
	return nil
}
