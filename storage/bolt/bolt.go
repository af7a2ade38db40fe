package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/internal/locktable"
)

// Errors returned by [Open] and by the methods of [Store], besides the
// sentinels of package storage. Test for them with [errors.Is]; the messages
// name the file.
var (
	// ErrLocked means the file is locked: another process, or another Store
	// in this process, has it open read-write (or, for a read-write Open,
	// read-only). Open waited [WithTimeout] for the lock and gave up. The
	// error also wraps bbolt's timeout error.
	ErrLocked = errors.New("file is locked by another process or store")

	// ErrNotWeftStore means the file is not a weft store: it is not a bbolt
	// file at all, or it is a bbolt file with buckets but without weft's
	// meta bucket. Open wrote nothing to it.
	ErrNotWeftStore = errors.New("not a weft store")

	// ErrFormatTooNew means the file is a weft store written in a newer
	// format than this code understands. Open wrote nothing to it; use a
	// newer weft.
	ErrFormatTooNew = errors.New("weft store format is newer than this code")

	// ErrReadOnly is returned by Create, Commit and Ack on a store opened
	// with [WithReadOnly].
	ErrReadOnly = errors.New("store opened read-only")

	// ErrWriteFailed means a write transaction could not be written to the
	// file (disk full, I/O error, failed fsync). The error also wraps the
	// underlying error. After the first such failure the Store refuses every
	// later write with ErrWriteFailed: close it and open the file again.
	// The writes of the failing transaction also match
	// storage.ErrOutcomeUnknown (they may have reached the file); the
	// refused ones do not (they wrote nothing).
	ErrWriteFailed = errors.New("write failed")

	// ErrCorrupt means the file is damaged: Open found it cut short or its
	// pages inconsistent (and wrote nothing to it), or a stored value or the
	// bucket layout does not decode, or bbolt failed reading a damaged page.
	ErrCorrupt = errors.New("corrupt store")
)

// DefaultTimeout is how long [Open] waits for the file lock unless
// [WithTimeout] says otherwise.
const DefaultTimeout = time.Second

// DefaultMaxBatch is the largest number of writes that share one
// transaction unless [WithMaxBatch] says otherwise.
const DefaultMaxBatch = 1000

// fileMode is the permission of files Open creates.
const fileMode = 0o600

// An Option configures [Open].
type Option func(*options)

type options struct {
	timeout  time.Duration
	noSync   bool
	readOnly bool
	maxBatch int
	full     bool
	// tune, if set, adjusts the bbolt options of the read-write or
	// read-only open of the file itself (not of the read-only format check
	// that precedes a read-write open of an existing file). Tests only.
	tune func(*bbolt.Options)
	// linger, if set, replaces ackLinger. Tests only.
	linger *time.Duration
	// noCheck skips checkFile, to show that the tests of damaged files
	// fail without it. Tests only.
	noCheck bool
}

// WithTimeout sets how long Open waits for the file lock before it fails
// with [ErrLocked]. The default is [DefaultTimeout]; zero or less means try
// once and do not wait.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithUnsafeNoSync turns fsync off: commits reach the operating system but
// not necessarily the disk before they return, so an operating system crash
// or power loss can lose acknowledged commits or corrupt the file. A crash
// of the process alone loses nothing. Use it for tests and benchmarks only.
func WithUnsafeNoSync() Option {
	return func(o *options) { o.noSync = true }
}

// WithReadOnly opens the file read-only, for offline tools such as the
// upgrade verifier: Create, Commit and Ack fail with [ErrReadOnly], and the
// file must already be a weft store. Several read-only stores may share a
// file, but a read-only open takes a shared lock that a read-write holder
// blocks (and the other way round), so it fails with [ErrLocked] while a
// read-write Store has the file open; verify a copy of a live file instead.
func WithReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}

// WithMaxBatch caps how many concurrent writes (Create, Commit, Ack) share
// one transaction. The default is [DefaultMaxBatch]; 1 turns group commit
// off. Values below 1 count as 1.
func WithMaxBatch(n int) Option {
	return func(o *options) { o.maxBatch = max(n, 1) }
}

// WithFullCheck makes Open also check every leaf page of the store before
// using it: that every key and value lies inside its page and that the keys
// are in order. Open then reads every page of the trees rather than the
// branch pages and a header of each leaf, which takes time in proportion to
// the file's size.
// Offline tools reading a file of unknown origin (a copy, a backup) may want
// it; see "Damaged files" in the package documentation for what Open checks
// without it.
func WithFullCheck() Option {
	return func(o *options) { o.full = true }
}

// Store is a [storage.Store] kept in one bbolt file. Create one with [Open];
// it is safe for concurrent use.
type Store struct {
	db        *bbolt.DB
	file      *os.File // db's file, for abandon
	path      string
	readOnly  bool
	maxBatch  int
	ackLinger time.Duration // see writeLoop

	// mu is held for reading by every method for its whole duration, and
	// for writing by Close, so that Close waits for calls in flight.
	mu     sync.RWMutex
	closed bool

	reqs       chan *request // to the writer goroutine
	quit       chan struct{} // closed by Close to stop the writer
	writerDone chan struct{} // closed by the writer when it stops

	failed   atomic.Pointer[error] // the first write failure, if any
	wedged   atomic.Bool           // bbolt panicked in its own transaction code (see wedge)
	wedgedCh chan struct{}         // closed when wedged is set

	transactions atomic.Uint64
	writes       atomic.Uint64

	// readers is set once the claims indexes have been read (or are about
	// to be): from then on every write transaction keeps them. See
	// keyUnindexed.
	readers atomic.Bool
	// current says whether the claims indexes were current in the file
	// after the last write transaction (no keyUnindexed).
	current atomic.Bool

	locks *locktable.Table // TryLock's (locker.go)
}

var _ storage.Store = (*Store)(nil)

// Open opens the weft store in the bbolt file at path, creating and
// initialising the file if it does not exist or is empty.
//
// It fails with [ErrLocked] if another process or Store holds the file,
// [ErrNotWeftStore] if the file is something else, [ErrFormatTooNew] if a
// newer weft wrote it, and [ErrCorrupt] if the file is damaged (cut short,
// or with pages that are not what they should be: see "Damaged files" in
// the package documentation); in these cases it writes nothing to the
// file. The caller must Close the store.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{timeout: DefaultTimeout, maxBatch: DefaultMaxBatch}
	for _, opt := range opts {
		opt(&o)
	}

	info, err := os.Stat(path)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	case o.readOnly && !exists:
		return nil, fmt.Errorf("bolt: open %s read-only: %w", path, err)
	case exists && info.IsDir():
		return nil, fmt.Errorf("bolt: open %s: is a directory: %w", path, ErrNotWeftStore)
	case o.readOnly && info.Size() == 0:
		return nil, fmt.Errorf("bolt: open %s read-only: empty file: %w", path, ErrNotWeftStore)
	}

	if o.readOnly {
		db, file, err := openDB(path, &o, true, o.tune)
		if err != nil {
			return nil, err
		}
		if err := guard(func() error {
			return db.View(func(tx *bbolt.Tx) error {
				fresh, err := checkLayout(tx, path)
				if err == nil && fresh {
					err = fmt.Errorf("bolt: open %s read-only: an empty bbolt file: %w", path, ErrNotWeftStore)
				}
				return err
			})
		}); err != nil {
			closeDB(db, file, err)
			return nil, inOpen(path, err)
		}
		return &Store{db: db, file: file, path: path, readOnly: true, wedgedCh: make(chan struct{}), locks: locktable.New()}, nil
	}

	// Check an existing file read-only before opening it read-write: bbolt
	// itself may write to a file when it opens it read-write.
	if exists && info.Size() > 0 {
		db, file, err := openDB(path, &o, true, nil)
		if err != nil {
			return nil, err
		}
		rebuild := false
		err = guard(func() error {
			return db.View(func(tx *bbolt.Tx) error {
				if _, err := checkLayout(tx, path); err != nil {
					return err
				}
				var err error
				rebuild, err = claimsStale(tx)
				rebuild = rebuild || listingStale(tx)
				return err
			})
		})
		if panicked(err) {
			abandon(file)
		} else if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("bolt: open %s: %w", path, cerr)
		}
		err = inOpen(path, err)
		// Claims indexes that disagree with the outbox were left by an
		// older weft, or read through damage: check every page before
		// prepareClaims rebuilds them, so a damaged file is refused, never
		// written.
		if err == nil && rebuild && !o.full && !o.noCheck {
			err = checkFile(path, o.timeout, true)
		}
		if err != nil {
			return nil, err
		}
	}

	db, file, err := openDB(path, &o, false, o.tune)
	if err != nil {
		return nil, err
	}
	// Check again (the file may have changed between the two opens), and
	// initialise a new file in a transaction that rolls back on error.
	var fresh bool
	err = guard(func() error {
		return db.View(func(tx *bbolt.Tx) error {
			fresh, err = checkLayout(tx, path)
			return err
		})
	})
	if err == nil && fresh {
		err = guard(func() error {
			return db.Update(func(tx *bbolt.Tx) error {
				if fresh, err := checkLayout(tx, path); err != nil || !fresh {
					return err
				}
				return initLayout(tx)
			})
		})
	}
	if err == nil {
		err = guard(func() error { return prepareClaims(db) })
	}
	if err == nil {
		err = guard(func() error { return prepareListing(db) })
	}
	err = inOpen(path, err)
	if err == nil && !exists && !o.noSync {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		closeDB(db, file, err)
		return nil, err
	}

	s := &Store{
		db:         db,
		file:       file,
		wedgedCh:   make(chan struct{}),
		path:       path,
		maxBatch:   o.maxBatch,
		ackLinger:  ackLingerFor(o),
		reqs:       make(chan *request, o.maxBatch),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		locks:      locktable.New(),
	}
	// (If this read fails, current stays false: the first reader of the
	// claims indexes then writes a rebuild that finds nothing to do.)
	_ = guard(func() error {
		return db.View(func(tx *bbolt.Tx) error { s.current.Store(!unindexed(tx)); return nil })
	})
	go s.writeLoop()
	return s, nil
}

// openDB opens the bbolt file and translates bbolt's errors.
func openDB(path string, o *options, readOnly bool, tune func(*bbolt.Options)) (*bbolt.DB, *os.File, error) {
	timeout := o.timeout
	if timeout <= 0 {
		timeout = time.Nanosecond // bbolt: zero waits forever; this tries once
	}
	bo := &bbolt.Options{
		Timeout:      timeout,
		ReadOnly:     readOnly,
		NoSync:       o.noSync,
		NoGrowSync:   o.noSync,
		FreelistType: bbolt.FreelistArrayType,
	}
	if tune != nil {
		tune(bo)
	}
	var err error
	if !o.noCheck {
		err = checkFile(path, timeout, o.full)
	}
	var db *bbolt.DB
	var file *os.File
	if err == nil {
		db, file, err = guardedOpen(path, bo)
	}
	switch {
	case err == nil:
		return db, file, nil
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrNotWeftStore):
		return nil, nil, inOpen(path, err)
	case errors.Is(err, berrors.ErrTimeout):
		mode := "read-write" // as the caller asked, even for the read-only check
		if o.readOnly {
			mode = "read-only"
		}
		wait := "without waiting"
		if o.timeout > 0 {
			wait = "after waiting " + o.timeout.String()
		}
		return nil, nil, fmt.Errorf("bolt: open %s %s: %w (gave up %s): %w",
			path, mode, ErrLocked, wait, err)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch),
		!isSystemError(err) && !looksLikeBolt(path):
		return nil, nil, fmt.Errorf("bolt: open %s: %w: not a bbolt file: %w", path, ErrNotWeftStore, err)
	default:
		return nil, nil, inOpen(path, err) // checkFile's errors name the file already
	}
}

// inOpen names path in err unless err already does (the errors of
// checkLayout and checkFile do).
func inOpen(path string, err error) error {
	if err == nil || strings.HasPrefix(err.Error(), "bolt: open "+path) {
		return err
	}
	return fmt.Errorf("bolt: open %s: %w", path, err)
}

// isSystemError reports whether err comes from the operating system rather
// than from bbolt's reading of the file.
func isSystemError(err error) bool {
	var errno syscall.Errno
	var pathErr *fs.PathError
	return errors.As(err, &errno) || errors.As(err, &pathErr)
}

// boltMagic is the magic number in a bbolt meta page, after the 16-byte page
// header.
const boltMagic = 0xED0CDAED

// looksLikeBolt reports whether the file at path has bbolt's magic number
// where either meta page would hold it, for any page size bbolt supports.
// It is used only to classify files bbolt refused to open.
func looksLikeBolt(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return true // cannot tell: do not claim it is something else
	}
	defer f.Close()
	var buf [4]byte
	for i := -1; i <= 14; i++ { // page 0, then page 1 for page sizes 1 KiB to 16 MiB
		off := int64(0)
		if i >= 0 {
			off = 1 << 10 << i
		}
		if n, _ := f.ReadAt(buf[:], off+16); n == 4 &&
			(binary.LittleEndian.Uint32(buf[:]) == boltMagic || binary.BigEndian.Uint32(buf[:]) == boltMagic) {
			return true
		}
	}
	return false
}

// checkLayout reports whether tx sees a bbolt file with no buckets at all
// (fresh), or a weft store of a format this code reads (not fresh); anything
// else is an error.
func checkLayout(tx *bbolt.Tx, path string) (fresh bool, err error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return false, fmt.Errorf("bolt: open %s: %w: a bbolt file with bucket %q but no %q bucket",
				path, ErrNotWeftStore, k, bucketMeta)
		}
		return true, nil
	}
	v := meta.Get(keyFormat)
	if len(v) != 8 || binary.BigEndian.Uint64(v) == 0 {
		return false, fmt.Errorf("bolt: open %s: %w: bucket %q has no format version", path, ErrNotWeftStore, bucketMeta)
	}
	switch version := binary.BigEndian.Uint64(v); {
	case version > formatVersion:
		return false, fmt.Errorf("bolt: open %s: %w: format %d, this code reads format %d",
			path, ErrFormatTooNew, version, formatVersion)
	case version < formatVersion:
		return false, fmt.Errorf("bolt: open %s: %w: unknown old format %d", path, ErrNotWeftStore, version)
	}
	if v := meta.Get(keySeq); len(v) != 8 {
		return false, fmt.Errorf("bolt: open %s: %w: no outbox sequence", path, ErrCorrupt)
	}
	for _, name := range dataBuckets {
		if tx.Bucket(name) == nil {
			return false, fmt.Errorf("bolt: open %s: %w: bucket %q is missing", path, ErrCorrupt, name)
		}
	}
	return false, nil
}

// initLayout creates the buckets of the current format in an empty file.
func initLayout(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := meta.Put(keyFormat, u64(formatVersion)); err != nil {
		return err
	}
	if err := meta.Put(keySeq, u64(0)); err != nil {
		return err
	}
	for _, name := range dataBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

// syncDir makes a newly created file's directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be synced there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Path returns the path of the store's file, as passed to [Open].
func (s *Store) Path() string { return s.path }

// Stats counts the work of a [Store] since [Open].
type Stats struct {
	// Transactions is the number of read-write bbolt transactions committed
	// by Create, Commit and Ack. Unless fsync is off, each one synced the
	// file (bbolt syncs twice per transaction: data pages, then the meta
	// page).
	Transactions uint64
	// Writes is the number of Create, Commit and Ack calls those
	// transactions applied. Writes / Transactions is the average group
	// commit size.
	Writes uint64
}

// Stats returns counters of the store's write activity.
func (s *Store) Stats() Stats {
	return Stats{Transactions: s.transactions.Load(), Writes: s.writes.Load()}
}

// WriteTo writes a consistent copy of the whole store file to w, as of the
// last committed write, while the store stays in use: writes continue
// during the copy. The copy opens with [Open] like the original, so it suits
// backups and offline tools (for example [WithReadOnly] upgrade verification
// of production data) without stopping the host. A write that must grow
// the file's memory map waits until the copy is done.
func (s *Store) WriteTo(w io.Writer) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, fmt.Errorf("bolt: copy %s: %w", s.path, storage.ErrClosed)
	}
	var n int64
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("bolt: copy %s: %w", s.path, err)
	}
	return n, nil
}

// Close implements [storage.Store.Close]. It waits for calls in flight,
// stops the writer and closes the file, releasing its lock.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.locks.Close()
	if !s.readOnly {
		close(s.quit)
		select {
		case <-s.writerDone:
		case <-s.wedgedCh: // the writer may wait for bbolt's locks forever
		}
	}
	if s.wedged.Load() {
		abandon(s.file)
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("bolt: close %s: %w", s.path, err)
	}
	return nil
}

// Load implements [storage.Store.Load].
func (s *Store) Load(ctx context.Context, id string) (storage.Instance, error) {
	if err := ctx.Err(); err != nil {
		return storage.Instance{}, fmt.Errorf("storage: load %q: %w", id, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return storage.Instance{}, fmt.Errorf("storage: load %q: %w", id, storage.ErrClosed)
	}
	var inst storage.Instance
	err := s.view(func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketInstances).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("instance %w", storage.ErrNotFound)
		}
		var err error
		inst, err = decodeInstance(id, v)
		return err
	})
	if err != nil {
		return storage.Instance{}, fmt.Errorf("storage: load %q: %w", id, err)
	}
	return inst, nil
}

// Outbox implements [storage.Store.Outbox].
func (s *Store) Outbox(ctx context.Context, limit int) ([]storage.Effect, error) {
	return s.OutboxAfter(ctx, 0, limit)
}

// OutboxAfter implements [storage.Pages.OutboxAfter]: a cursor seek to the
// key after after (outbox keys are the effects' Seq, big-endian).
func (s *Store) OutboxAfter(ctx context.Context, after uint64, limit int) ([]storage.Effect, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: outbox: %w", err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: outbox: %w", storage.ErrClosed)
	}
	if after == math.MaxUint64 {
		return nil, nil
	}
	var out []storage.Effect
	err := s.view(func(tx *bbolt.Tx) error {
		c, retry := tx.Bucket(bucketOutbox).Cursor(), &retryStates{tx: tx}
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			e, err := decodeEffect(k, v)
			if err != nil {
				return err
			}
			if err := fillEffect(retry, k, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: outbox: %w", err)
	}
	return out, nil
}

// DueBefore implements [storage.Store.DueBefore].
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int) ([]storage.Due, error) {
	return s.DueAfter(ctx, t, storage.Due{}, limit)
}

// DueAfter implements [storage.Pages.DueAfter]: a cursor seek to after's
// key in the due index, and past it if it is there.
func (s *Store) DueAfter(ctx context.Context, t time.Time, after storage.Due, limit int) ([]storage.Due, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: due before %v: %w", t, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: due before %v: %w", t, storage.ErrClosed)
	}
	if t.Before(time.Unix(0, 0)) {
		return nil, nil // every stored Due is at or after the epoch
	}
	end := uint64(math.MaxUint64) // t is after every storable Due
	if t.Before(maxDue) {
		end = uint64(t.UnixMicro()) // t is after the epoch: truncating is flooring
	}
	var out []storage.Due
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		var k []byte
		switch seek, from := dueSeek(after); {
		case from:
			k, _ = c.First()
		case seek == nil:
			return nil // nothing storable comes after after
		default:
			k, _ = c.Seek(seek)
		}
		for ; k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) >= 8 && binary.BigEndian.Uint64(k) > end {
				break
			}
			d, err := parseDueKey(k)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: due before %v: %w", t, err)
	}
	return out, nil
}

// List implements [storage.Store.List].
func (s *Store) List(ctx context.Context, after string, limit int) ([]storage.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: list after %q: %w", after, err)
	}
	if err := storage.ValidateLimit(limit); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("storage: list after %q: %w", after, storage.ErrClosed)
	}
	var out []storage.Instance
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketInstances).Cursor()
		k, v := c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
		for ; k != nil && len(out) < limit; k, v = c.Next() {
			inst, err := decodeInstance(string(k), v)
			if err != nil {
				return err
			}
			out = append(out, inst)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: list after %q: %w", after, err)
	}
	return out, nil
}
