package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/weftflow/weft/engine"
)

// Operations of a receiver log [Entry].
const (
	OpHandled  = "handled"  // the first delivery of an effect ID: the receiver acted on it
	OpDup      = "dup"      // a later delivery of a handled ID with the same content: ignored
	OpConflict = "conflict" // a later delivery of a handled ID with different content: an ID was reused
)

// KindActivity is the Entry.Kind of an activity attempt reported by
// [Receiver.Activity]; the other kinds are interp.EffectKind names
// ("setup", "teardown", "completed", ...).
const KindActivity = "activity"

// Entry is one line of a receiver log.
type Entry struct {
	Op       string `json:"op"`
	ID       string `json:"id"` // the effect ID
	Kind     string `json:"kind"`
	Instance string `json:"inst"`
	Type     string `json:"type,omitempty"`
	Callback uint64 `json:"cb,omitempty"`
	Data     []byte `json:"data,omitempty"` // setup data; the output of a completed instance
	Life     int    `json:"life"`           // the process incarnation that wrote the entry
	// Fence is the fence token of the lease the effect was performed
	// under (engine.EffectInfo.Fence): 0 for an engine without leases and
	// for activities.
	Fence uint64 `json:"fence,omitempty"`
}

// same reports whether two deliveries carry the same effect (whatever
// lease they were performed under).
func (e Entry) same(o Entry) bool {
	return e.ID == o.ID && e.Kind == o.Kind && e.Instance == o.Instance && e.Type == o.Type &&
		e.Callback == o.Callback && bytes.Equal(e.Data, o.Data)
}

// Receiver is the outside world of the crash test: a de-duplicating
// receiver of effects that survives SIGKILL. Every delivery is appended to
// an append-only log file and fsynced before the receiver returns, so an
// effect the engine acknowledged (which it does only after the receiver
// returned nil) is on disk. The first delivery of an ID is logged as
// handled, later ones as duplicates: handled exactly once, delivered at
// least once. It serves as the [engine.SetupHandler] of custom events, as
// the finish hook ([Receiver.Finish]) and from inside activities
// ([Receiver.Activity]). Safe for concurrent use.
type Receiver struct {
	mu      sync.Mutex
	f       *os.File
	life    int
	size    int64 // bytes of complete lines in the file
	handled map[string]Entry
	late    []Entry // a lazy receiver's entries not yet written
	stop    chan struct{}
	shared  bool // other processes append to the file too (OpenSharedReceiver)
}

// OpenReceiver opens (creating it if needed) the receiver log at path for
// incarnation life. A torn last line, left by a process killed while
// appending, is cut off; any other undecodable line is an error.
func OpenReceiver(path string, life int) (*Receiver, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	r := &Receiver{f: f, life: life, handled: map[string]Entry{}}
	if err := r.load(path); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// OpenSharedReceiver opens the receiver log at path, like [OpenReceiver],
// for one of several processes that append to it at once: every delivery
// takes an exclusive lock on the file (flock), first reads what the other
// processes appended since (so that an effect handled by another process is
// logged as a duplicate here), then appends its line, releases the lock and
// fsyncs. The log is thus one sequence, in the order the deliveries were
// made, with one de-duplication across all the processes. A process killed
// while it holds the lock releases it (the kernel does), and the torn line
// it may leave is cut off by the next writer. life must be unique across
// the processes and their incarnations. Only on Unix.
func OpenSharedReceiver(path string, life int) (*Receiver, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	r := &Receiver{f: f, life: life, handled: map[string]Entry{}, shared: true}
	unlock, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("receiver log %s: %w", path, err)
	}
	err = r.load(path)
	unlock()
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *Receiver) load(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	entries, good, err := parseLog(data)
	if err != nil {
		return fmt.Errorf("receiver log %s: %w", path, err)
	}
	if good < len(data) {
		if err := r.f.Truncate(int64(good)); err != nil {
			return err
		}
	}
	if _, err := r.f.Seek(int64(good), 0); err != nil {
		return err
	}
	r.size = int64(good)
	if err := r.f.Sync(); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	for _, e := range entries {
		if e.Op == OpHandled {
			r.handled[e.ID] = e
		}
	}
	return nil
}

// ReadLog reads the receiver log at path. torn reports a last line cut
// short by a kill, which is not returned.
func ReadLog(path string) (entries []Entry, torn bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	entries, good, err := parseLog(data)
	if err != nil {
		return nil, false, fmt.Errorf("receiver log %s: %w", path, err)
	}
	return entries, good < len(data), nil
}

// parseLog decodes the complete lines of data and returns how many bytes
// they span.
func parseLog(data []byte) (entries []Entry, good int, err error) {
	for good < len(data) {
		nl := bytes.IndexByte(data[good:], '\n')
		if nl < 0 {
			break // torn: the writer died in the middle of the line
		}
		var e Entry
		if err := json.Unmarshal(data[good:good+nl], &e); err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", len(entries)+1, err)
		}
		entries = append(entries, e)
		good += nl + 1
	}
	return entries, good, nil
}

// Setup implements [engine.SetupHandler].
func (r *Receiver) Setup(_ context.Context, info engine.EffectInfo) error { return r.Receive(info) }

// Teardown implements [engine.SetupHandler].
func (r *Receiver) Teardown(_ context.Context, info engine.EffectInfo) error { return r.Receive(info) }

// Finish is an [engine.FinishFunc].
func (r *Receiver) Finish(_ context.Context, info engine.EffectInfo) error { return r.Receive(info) }

// Receive records the delivery of an effect.
func (r *Receiver) Receive(info engine.EffectInfo) error {
	return r.record(Entry{ID: info.ID, Kind: info.Kind.String(), Instance: info.Instance,
		Type: info.Type, Callback: info.Callback, Data: info.Data, Fence: info.Fence})
}

// Activity records an attempt of an activity of instance, identified by
// the effect ID in ctx ([engine.EffectID]).
func (r *Receiver) Activity(ctx context.Context, instance string) error {
	id := engine.EffectID(ctx)
	if id == "" {
		return errors.New("crashtest: activity context has no effect ID")
	}
	return r.record(Entry{ID: id, Kind: KindActivity, Instance: instance})
}

func (r *Receiver) record(e Entry) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shared {
		return r.recordShared(e)
	}
	e.Op, e.Life = OpHandled, r.life
	if prev, ok := r.handled[e.ID]; ok {
		e.Op = OpConflict
		if prev.same(e) {
			e.Op = OpDup
		}
	}
	if r.stop != nil {
		r.late = append(r.late, e)
	} else if err := r.append(e); err != nil {
		return err
	}
	if e.Op == OpHandled {
		r.handled[e.ID] = e
	}
	return nil
}

// append writes one line and fsyncs it. After a failure the line is cut
// off again, so that the next one does not continue a torn line, and the
// delivery is not recorded: the engine retries it.
func (r *Receiver) append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := r.f.Write(b); err != nil {
		return errors.Join(err, r.cut())
	}
	if err := r.f.Sync(); err != nil {
		return errors.Join(err, r.cut())
	}
	r.size += int64(len(b))
	return nil
}

// recordShared is record for a shared log: under the file lock, it reads
// what the other processes appended, classifies e against all of it and
// appends it; then, the lock released, it fsyncs.
func (r *Receiver) recordShared(e Entry) error {
	unlock, err := lockFile(r.f)
	if err != nil {
		return err
	}
	if err := r.catchUp(); err != nil {
		unlock()
		return err
	}
	e.Op, e.Life = OpHandled, r.life
	if prev, ok := r.handled[e.ID]; ok {
		e.Op = OpConflict
		if prev.same(e) {
			e.Op = OpDup
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		unlock()
		return err
	}
	b = append(b, '\n')
	if _, err := r.f.WriteAt(b, r.size); err != nil {
		err = errors.Join(err, r.f.Truncate(r.size))
		unlock()
		return err
	}
	r.size += int64(len(b))
	if e.Op == OpHandled {
		r.handled[e.ID] = e
	}
	unlock()
	// The line is in the file for every reader now; a failed fsync makes
	// the engine deliver the effect again, which is logged as a duplicate.
	return r.f.Sync()
}

// catchUp reads the lines other processes appended to a shared log since
// this receiver last looked, with the file locked. A torn last line was
// left by a process killed while appending (the lock is free, so it is
// not writing any more): it is cut off.
func (r *Receiver) catchUp() error {
	fi, err := r.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == r.size {
		return nil
	}
	if fi.Size() < r.size {
		return fmt.Errorf("receiver log shrank from %d to %d bytes", r.size, fi.Size())
	}
	data := make([]byte, fi.Size()-r.size)
	if _, err := r.f.ReadAt(data, r.size); err != nil {
		return err
	}
	entries, good, err := parseLog(data)
	if err != nil {
		return fmt.Errorf("receiver log after byte %d: %w", r.size, err)
	}
	for _, e := range entries {
		if e.Op == OpHandled {
			r.handled[e.ID] = e
		}
	}
	r.size += int64(good)
	if good < len(data) {
		return r.f.Truncate(r.size)
	}
	return nil
}

func (r *Receiver) cut() error {
	if err := r.f.Truncate(r.size); err != nil {
		return err
	}
	_, err := r.f.Seek(r.size, 0)
	return err
}

// lazy breaks the receiver on purpose, for the test that shows that the
// crash test can fail: from now on it acknowledges every delivery at once
// and writes it to the log only at the next tick of every (or at Close), so
// a kill loses what it acknowledged since the last tick.
func (r *Receiver) lazy(every time.Duration) {
	r.stop = make(chan struct{})
	go func() {
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-r.stop:
				return
			}
			r.mu.Lock()
			_ = r.flush() // what fails is tried again at the next tick
			r.mu.Unlock()
		}
	}()
}

// Close closes the log file; a lazy receiver writes what it owes first.
func (r *Receiver) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if r.stop != nil {
		close(r.stop)
		err = r.flush()
	}
	return errors.Join(err, r.f.Close())
}

// flush writes the entries a lazy receiver owes.
func (r *Receiver) flush() error {
	for i, e := range r.late {
		if err := r.append(e); err != nil {
			r.late = r.late[i:]
			return err
		}
	}
	r.late = nil
	return nil
}

// syncDir makes a new file's directory entry durable.
func syncDir(dir string) error {
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
