// Package bolt is weft's embedded [storage.Store]: everything lives in one
// bbolt file (go.etcd.io/bbolt) owned by one process.
//
//	s, err := bolt.Open("weft.db")
//	if err != nil { ... }
//	defer s.Close()
//
// [Open] creates and initialises the file if it does not exist (or is
// empty), and otherwise checks that it is a weft store of a format this code
// reads before writing anything to it: a file that is something else fails
// with [ErrNotWeftStore], one written by a newer weft with [ErrFormatTooNew].
// The store passes the conformance suite
// [github.com/weftflow/weft/storage/storagetest].
//
// # Layout
//
// Format version 1 uses five top-level buckets. Integers in keys are 8-byte
// big-endian, so that byte order is numeric order.
//
//	weft       meta: "format" -> format version (1)
//	                 "seq"    -> sequence number of the last effect appended
//	instances  instance ID -> instance record
//	outbox     sequence number -> effect
//	effects    effect ID -> sequence number (pending effects only)
//	due        Unix microseconds of Due ++ 0x00 ++ instance ID -> empty
//
// An instance record is the version as a uvarint, the workflow name and the
// status each as a uvarint length and bytes, the due code as a uvarint (0 for
// "not due", else Unix microseconds plus one), and then the data to the end
// of the value. An effect is its ID and its instance ID, each as a uvarint
// length and bytes, then the data to the end of the value.
//
// The outbox is read in key order, which is append order: Commit takes the
// next sequence numbers from the meta bucket inside its transaction. The
// effects bucket finds an effect's sequence number for Ack and detects
// duplicate effect IDs. The due bucket holds one key per instance whose Due
// is set, so DueBefore is a cursor scan from the start that stops at the
// first key after its time: earliest first, ties by instance ID. Due is kept
// at microsecond precision in UTC ([storage.NormalizeDue]); a Commit that
// moves or clears Due deletes the old key.
//
// The format version changes whenever any of this does. A newer weft may
// migrate older files; an older weft refuses newer ones.
//
// # Claims
//
// Claims ([storage.Claims]) add five buckets to format 1, additively: a
// file without them opens read-write and gains them.
//
//	leases   instance ID -> token, expiry code (0: released), owner
//	retry    effect ID -> attempts, not-before code, last error
//	dead     effect ID -> outbox sequence, retry state, effect
//	ready    not-before code ++ sequence number -> instance ID
//	pending  uvarint length ++ instance ID ++ sequence number -> empty
//
// A lease record outlives its release, so that tokens only grow, across
// reopenings too. ready and pending index the outbox for Claim, Pending,
// NextWork and Delete, and only those read them: a Store keeps them from
// the first such call after Open on. Until then its writes leave them
// alone and mark the file as not keeping them (the key "unindexed" in
// meta), and the first reader rebuilds them from the outbox in a write
// of its own; an engine running alone on the file without leases, which
// reads neither, saves two index writes for every effect committed and
// two for every one acknowledged. Every read-write Open checks an unmarked
// file's indexes against the outbox and rebuilds them if they disagree (as
// after writes by an older weft that did not know them); an older weft
// does the same with a marked file, whose indexes it does not trust
// either. The store is single-process: its claims are linearizable
// within the process that holds the file lock, and the caller's clock
// decides expiry and readiness.
//
// # Journal
//
// Journals ([storage.Journal]) add one bucket to format 1, additively,
// created by the first write that appends an entry: a file whose
// instances never had a journal keeps the layout above, and a weft that
// does not know the bucket ignores it.
//
//	journal  uvarint length ++ instance ID ++ Seq -> entry
//
// An entry is its time code as a uvarint (as the due code), its data as a
// uvarint length and bytes, and then its Base to the end of the value. An
// instance's entries are adjacent, in Seq order, so ReadJournal is a
// cursor scan from the first wanted Seq, the Seq check reads one key
// before the instance's largest possible one, and trimming reads the heads
// of the instance's entries and deletes a prefix of them. Create and
// Commit write the entry, and apply its Keep, in their own transaction
// (which group commit may share with other writes), after every check: a
// refused write, or a crash, leaves no entry without its record.
//
// # Listing
//
// Listing ([storage.Listing]) adds two buckets to format 1, additively,
// and a key to the meta bucket:
//
//	kinds    uvarint length ++ workflow ++ uvarint length ++ status ++ instance ID -> empty
//	counts   uvarint length ++ workflow ++ uvarint length ++ status -> 8-byte count
//	weft/listed  ID of the last write transaction that kept them
//
// Create, Commit (when the workflow or status changes) and Delete keep
// them in the same transaction as the instance, so Find reads a page of
// one workflow and status from kinds and Count reads counts, whatever the
// file holds. Every write transaction records its ID under listed; a
// read-write Open that finds another ID there (an older weft wrote last)
// or no buckets rebuilds them from the instances, after checking every
// page. Delete keeps the instance's lease record (released), so that a
// re-created instance's tokens still grow, and leaves its tombstone:
//
//	tombstones  instance ID -> uvarint version ++ the host's tombstone
//
// made by the first Delete (files that never deleted have no such bucket),
// and read by Create in the transaction that creates.
//
// # Durability
//
// Create, Commit and Ack each write one bbolt read-write transaction: the
// record, its due-index key and its outbox entries together, after the
// version check (compare-and-set) and the effect-ID check, so a failed write
// changes nothing. A write returns only after bbolt has written the
// transaction and synced the file (bbolt syncs the data pages, then the meta
// page that makes them current). A crash at any moment leaves the file at
// the last synced transaction: every acknowledged write is there and no
// half-written one is. A newly created file's directory is synced too.
//
// [WithUnsafeNoSync] turns fsync off, for tests and benchmarks: a crash of
// the operating system or a power loss can then lose acknowledged writes or
// corrupt the file.
//
// If writing or syncing the file fails (a full disk, an I/O error), the
// write and every write sharing its transaction fail with an error wrapping
// [ErrWriteFailed] and the underlying error (errors.Is(err,
// syscall.ENOSPC) holds for a full disk), and the Store refuses every later
// write the same way: bbolt's view of a file whose write failed halfway
// cannot be trusted. Reads keep working. Close the store and open the file
// again once the cause is fixed; the reopened store holds exactly the
// acknowledged writes (but see the caveats).
//
// # Group commit
//
// A single writer goroutine applies writes. It takes every write waiting
// for it (up to [WithMaxBatch], default 1000) and applies them one after the
// other in one transaction, then commits and syncs once for all of them;
// writes that arrive meanwhile wait for the next transaction. A lone
// Create or Commit is committed at once, and under concurrency the batch
// size adapts to the fsync latency. The one wait: a batch of Acks alone,
// right after a transaction that held a Create or Commit, waits up to a
// millisecond for a Create or Commit to share its transaction (an engine
// acknowledges a commit's effects while the next commit is being
// prepared; without the wait every such send paid two fsyncs). An Ack
// still returns only after its transaction is synced.
//
// Each write gets its own result: a write rejected by its checks
// (ErrConflict, ErrNotFound, ErrExists) writes nothing and does not
// disturb the others, and a later write in the same
// transaction sees the earlier ones (two racing commits from the same
// version: the first wins, the second gets ErrConflict). [Store.Stats]
// counts writes and transactions.
//
// A write whose context is canceled before the writer reaches it is dropped
// with the context's error; once queued, a call waits for its outcome rather
// than abandon it, so a returned error always means nothing was written
// (except as described under Caveats).
//
// Reads (Load, Outbox, DueBefore, List) run in their own read-only
// transactions, concurrently with each other and with the writer, and see
// the last committed transaction.
//
// # Locking
//
// bbolt locks the file with flock: a read-write open takes an exclusive
// lock, a read-only open ([WithReadOnly]) a shared one. Open waits for the
// lock for [WithTimeout] (default [DefaultTimeout]) and then fails with
// [ErrLocked], naming the file. The lock belongs to the open file, so a
// second Store on the same file in the same process is refused just like
// another process. Several read-only stores may share a file, but a
// read-write holder blocks them and they block it: to inspect or verify a
// live store, copy it with [Store.WriteTo] from inside the process (or copy
// the file after Close) and open the copy read-only.
//
// # Damaged files
//
// bbolt maps the file into memory and trusts it: a page past the end of a
// file cut short (a partial copy) faults with SIGBUS when read, which kills
// the process, and damaged pages make bbolt panic, even inside its Open. So
// Open first reads the file with plain reads, under a shared lock, before
// bbolt maps it: both meta pages (magic, version, checksum), picking the one
// bbolt will use (the valid one with the higher transaction ID); that the
// file holds every page that meta page counts; the freelist page; and the
// trees of the root bucket and of every top-level bucket down to their leaf
// pages (each page exists, carries its own ID and a branch or leaf type, is
// used once and is not free, so no tree loops; the keys of branch pages are
// in order). A damaged file fails with [ErrCorrupt] ([ErrNotWeftStore] if no
// bbolt meta page is there at all), read-only or not, and Open writes
// nothing to it. [WithFullCheck] also checks every leaf page: its keys and
// values lie inside it and its keys are in order; without it, a damaged key
// of a data page can make a search miss a record that iteration finds.
//
// Every read through bbolt, in Open and later, runs with
// runtime/debug.SetPanicOnFault and turns a panic into an error wrapping
// ErrCorrupt, so damage the check did not look at fails that call, not the
// process. A write that meets a damaged page fails with ErrCorrupt; if its
// commit does, the store refuses later writes as after [ErrWriteFailed].
// A panic inside bbolt's own transaction code (beginning, committing or
// rolling back, as when the file's meta pages are damaged under a running
// store) can leave bbolt's locks held; the store is then wedged: every later
// call fails with ErrCorrupt at once, a write in flight fails with
// [storage.ErrOutcomeUnknown], and Close releases the file without waiting
// for bbolt (its memory map stays until the process ends). Open does not check page accounting or record contents (records are
// checked as they are read).
//
// # Caveats
//
//   - One process at a time. Several processes or machines need a
//     server-backed store.
//   - If a failure hits the very last step of a transaction (writing or
//     syncing bbolt's meta page), the write returns [ErrWriteFailed] yet may
//     have reached the file, and may be visible to reads in this process and
//     present after reopening. Treat ErrWriteFailed as "outcome unknown":
//     reopen and reload before retrying, as after a crash. The writes of
//     the failing transaction also match [storage.ErrOutcomeUnknown], so
//     callers (the engine's OutcomeUnknownError) need not know this
//     package; the writes refused after it do not, as they wrote nothing. Failures while
//     writing the data pages (the usual case for a full disk) leave the file
//     unchanged.
//   - When bbolt fails to grow the file it reports the cause as text only,
//     so errors.Is finds [ErrWriteFailed] but not, say, syscall.ENOSPC.
//   - The file never shrinks: bbolt reuses freed pages but does not return
//     them to the file system. Compact it offline (bbolt compact) if a
//     burst of pending effects made it large.
//   - The file is memory-mapped. A write that grows the map waits for read
//     transactions in progress; every read here is one short transaction.
//   - Ack is a write transaction like Commit (with its fsync); acknowledge
//     effects in batches. An Ack of IDs none of which is pending writes
//     nothing.
//   - A value (an encoded record or effect) may not exceed bbolt's limit of
//     about 2 GiB ([storage.ErrInvalid]); records of many megabytes make
//     every commit copy them and are better kept elsewhere.
package bolt
