// Package storage defines how weft persists workflow instances: the [Store]
// interface, the values it stores and the errors it returns.
//
// The weft interpreter is pure: given an instance's state and an event it
// computes a new state and a list of effects. A host engine turns that into
// durable progress by writing the new state, the effects (a transactional
// outbox) and the instance's next due time in one atomic [Store.Commit], and
// only then dispatching the effects. Storage knows nothing about workflows:
// records and effects are opaque bytes.
//
// Adapters live in subpackages: [github.com/weftflow/weft/storage/memory]
// keeps everything in memory; persistent adapters implement the same
// interface and pass the same conformance suite,
// [github.com/weftflow/weft/storage/storagetest].
//
// # The contract
//
// A store holds instances, each identified by a unique ID (non-empty, at most
// [MaxIDLen] bytes, any bytes, ordered byte-wise). [Store.Create] stores a new
// instance at version 1 (after a deleted one's: see below). [Store.Commit] replaces an instance's contents if its
// stored version equals [Commit.Expect], and bumps the version by one. This
// compare-and-set is the only concurrency control: a writer loads an
// instance, computes, and commits with Expect set to the version it loaded;
// if another writer got there first it receives [ErrConflict] and must reload.
// Instances are deleted only by [Retention.Delete], which a host calls for
// instances that ended, and which refuses while they have effects left. A
// deleted instance leaves a tombstone (its version and a few bytes of the
// host's), and a Create of its ID must name it: the new instance's
// versions follow the deleted one's, and its host continues its own
// numbering from the tombstone ([DeletedError]).
//
// Every write also appends effects to the outbox. [Store.Outbox] reads the
// oldest unacknowledged effects without removing them; the host dispatches
// them and removes them with [Store.Ack]. Delivery is therefore at least
// once: a crash between dispatch and Ack dispatches again, and receivers
// deduplicate by [Effect.ID]. An effect ID must not equal the ID of an effect
// still in the outbox ([ErrExists]); once acknowledged, an ID is forgotten and
// may be used again.
//
// [Instance.Due] feeds the due index: [Store.DueBefore] returns the instances
// whose Due is set and has passed, so a host can resume timers after a
// restart. The zero time means "not due". A store with [Pages] also reads
// the due index and the outbox on from a position ([Pages.DueAfter],
// [Pages.OutboxAfter]), so that a host whose first page is all in flight
// reads the next one rather than the first again. Stores keep Due at
// microsecond precision in UTC ([NormalizeDue]), and a non-zero Due must lie
// between the Unix epoch and the year 10000. [Store.List] pages through all
// instances by ID for tools and scans; [Listing.Find] pages through the
// instances of a workflow, of a status or with a due time, by ID or by due
// time, with an opaque cursor, and [Listing.Count] counts them per status,
// from indexes that make neither read every instance.
//
// Values cross the interface by copy: a store never keeps a caller's slices
// and never returns its own, so callers may mutate both inputs and results.
// Nil and empty byte slices are equivalent and a store may return either.
//
// Limits passed to Outbox, DueBefore and List must be positive; a limit of
// zero or less is [ErrInvalid] rather than "no limit", so that a forgotten
// argument cannot turn into an unbounded read.
//
// # Atomicity
//
// Create and Commit are all or nothing. When a Commit succeeds, the new
// record, its Due in the due index and its effects in the outbox become
// visible together; when it fails, for whatever reason, none of them is
// written and the version is unchanged. Within one process every operation is
// linearizable: once a method returns, every later call observes its effect.
// An adapter whose data several processes may open at once (a database
// server) says so in its package documentation, and for it the promise
// holds across processes: once a method returns in one process, every call
// that starts later, in any process, observes its effect. memory and bolt
// are single-process adapters (bolt locks its file).
//
// # Ordering
//
// The outbox is ordered oldest first. Effects of one write keep their slice
// order. Effects of one instance follow its versions. Across instances, if
// one write returns before another starts, the first write's effects come
// first; writes that overlap in time may be ordered either way.
//
// DueBefore orders by Due, earliest first, breaking ties by instance ID; List
// orders by instance ID. Both compare IDs byte-wise, as Go compares strings.
//
// # Claims
//
// [Claims] lets several processes share a store without doing the same
// work twice. Every [Store] implements it (memory, bolt and postgres do);
// the engine does not use claims yet (that comes with the multi-process
// engine). storagetest checks them.
//
// An instance has work at a time now when its Due is set and not after now,
// or when it has an effect in the outbox (not dead-lettered) whose
// [Effect.NotBefore] is zero or not after now. [Claims.Claim] leases such
// instances, earliest work first (an effect without NotBefore counts as the
// earliest), ties by ID; an instance with no work is leased only by
// [Claims.Acquire]. A lease is live before its Expires; an instance holds at
// most one live lease, and its current lease is the last one issued unless
// it was released. An expired lease stays current until another is issued,
// so a slow holder nobody replaced may still finish.
//
// Every lease carries a fence token. Tokens are per instance and only grow:
// every lease of an instance has a greater token than every earlier lease of
// it, across releases, expiries, takeovers by other processes, restarts and
// reopenings. Tokens of different instances are unrelated.
//
// Fenced calls apply only with the instance's current lease, and otherwise
// fail with [ErrFenced] and change nothing: [Commit] with [Commit.Lease] set,
// [Claims.Renew] (which also needs a live lease), [Claims.Release],
// [Claims.Pending], [Claims.AckLeased], [Claims.Retry] and
// [Claims.DeadLetter]. AckLeased, Retry and DeadLetter touch only effects of
// the leased instance. The unfenced writes (Create, Commit without a lease,
// Ack, Requeue) stay for tools and single-process hosts.
//
// Retry state lives with the effect: Retry sets its Attempts, NotBefore and
// LastError (and so when it is work again); a NotBefore given on input
// (Create, Commit) is kept and indexed like Due, at the same precision;
// Attempts and LastError are ignored on input. [Effect.Seq] is the effect's
// outbox position, assigned by the store: it grows with every effect
// appended, in outbox order, and Outbox, Pending and DeadLetters return it.
// [Claims.Pending] lists a leased instance's effects whether or not they
// are ready; [Store.Outbox] lists every instance's effects, ready or not,
// and neither lists dead letters. [Claims.DeadLetter] moves an effect out of
// the outbox into the dead letters, where it keeps its ID (a write of an
// effect with that ID fails with [ErrExists]) and [Store.Ack] does not
// reach it, until [Claims.Requeue] appends it to the outbox again, ready at
// once, with Attempts reset.
//
// [Claims.NextWork] tells a host when to look again: now if work is ready,
// else the earliest time at which an instance will have work and no live
// lease, else the zero time.
//
// Every claims method takes the caller's clock (ClaimRequest.Now, the now of
// Renew and NextWork), except in an adapter that implements [Clocked] and
// reports true: then its own clock decides, so that one clock rules expiry
// and readiness across machines.
//
// # Journal
//
// A store also keeps, per instance, an optional journal ([Journal]): one
// entry per transition the host chooses to record, appended by the Create
// or Commit that writes the transition ([Instance.Journal]), in the same
// atomic write, so that the journal and the record never disagree. A write
// that fails appends nothing; Load and List never return the field. Entries
// are opaque to the store, apart from their [JournalEntry.Seq], which
// orders them and must be greater than the instance's last entry's (and
// between 1 and [MaxJournalSeq]), and their [JournalEntry.Time], kept like
// a Due (microseconds, UTC, zero or between the Unix epoch and the year
// 10000). A Commit whose entry's Seq is not after the last one fails with
// [ErrInvalid] and writes nothing: the one ErrInvalid that depends on what
// the store holds, reported after ErrNotFound, ErrFenced and ErrConflict
// and before ErrExists.
//
// [Journal.ReadJournal] reads an instance's entries from a Seq on, in Seq
// order. A journal is bounded by a [JournalKeep], applied in the write that
// appends an entry ([JournalWrite.Keep]) or later by [Journal.TrimJournal]:
// it keeps the last entries, or those since a time, and always the newest,
// and it trims only up to a starting point (an entry that carries the
// record as it was before it, [JournalEntry.Base], or an instance's first
// entry), so that the kept window can be replayed from its first entry.
// [JournalKeep.Cut] states the rule; adapters apply it as it does. An
// instance without a journal, or that does not exist, has an empty one.
// Nothing that drives an instance reads the journal, so it does not slow
// resuming; an instance's journal goes with the instance.
//
// # Errors
//
// Methods return errors wrapping the sentinels [ErrNotFound], [ErrExists],
// [ErrConflict], [ErrFenced], [ErrLeased], [ErrClosed] and [ErrInvalid],
// with context such as the
// operation and the instance ID, as in
//
//	storage: commit "order-17": version conflict (expected 3, stored 4)
//
// Use [errors.Is] to test for them. Errors about one instance name its ID.
// A context that is already canceled or past its deadline makes any method
// fail, before doing any work, with an error wrapping ctx.Err(), so that
// errors.Is(err, context.Canceled) holds.
//
// [ErrInvalid] depends on the arguments alone and is reported without
// touching stored state: besides bad IDs, Dues and limits, a lease TTL
// under [DuePrecision], an effect NotBefore outside the range of a Due, and
// a [Commit.Lease] of another instance (a journal entry's Seq that is not
// after the last one is the exception: see Journal). When several state-dependent errors
// apply to one Commit, the first of [ErrNotFound], [ErrFenced],
// [ErrConflict], [ErrExists] wins. The order matters: two writers racing
// from the same version derive the same effect IDs, and the loser must see
// ErrConflict (reload and retry), not ErrExists; and a zombie whose lease
// was taken over must see ErrFenced (stop), not ErrConflict (reload and
// retry). Fenced claims calls check the lease before the effect
// ([ErrFenced] before [ErrNotFound]).
//
// A write that fails with an error wrapping [ErrOutcomeUnknown] may or may
// not have taken effect (the connection broke while it was in flight);
// reload before retrying. Adapters that can tell report it; the others
// leave every error but the sentinels above ambiguous, as [Store.Commit]
// says.
//
// # Wake-ups and locks
//
// Two optional interfaces serve hosts that share a store between
// processes. A [Waker] tells a process soon after another committed work,
// so that it polls [Claims.NextWork] less often; a wake-up is a hint and
// may be lost. A [Locker] holds a named lock across every process using
// the data, released when its holder unlocks, dies or loses its
// connection ([Lock.Lost] says so), for maintenance that must run in one
// process at a time. Test for them with a type assertion; storagetest
// checks Locker when a store implements it.
//
// # Fewer round trips
//
// An [AckReleaser] acknowledges a leased instance's effects and releases
// its lease in one fenced write ([AckReleaser.AckRelease]), for a host
// whose last effect finished the instance. A [PendingWithDead] reads a
// leased instance's pending effects and whether it has dead letters in one
// call, so that a host need not look for dead letters ahead of a teardown
// or a finishing effect when there are none. memory, bolt and postgres
// implement both; storagetest checks them when a store does (AckRelease,
// PendingWithDead).
//
// # Writing an adapter
//
// An adapter implements [Store] and must pass
// [github.com/weftflow/weft/storage/storagetest.Run]:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s := open(t) // a fresh, empty store
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Some advice:
//
//   - Check ctx.Err() first, then validate arguments with [Commit.Validate],
//     [Instance.Validate], [ValidateEffects] and [ValidateLimit] so that every
//     adapter rejects the same inputs in the same way.
//   - Store Due as [NormalizeDue] returns it. A big-endian unsigned count of
//     microseconds since the Unix epoch followed by the instance ID makes a
//     due-index key that sorts correctly as bytes.
//   - Assign outbox positions from a counter that only grows, inside the
//     write transaction, so that effects of one instance follow its versions.
//   - Do the version check, the effect-ID check and all three writes (record,
//     due index, outbox) in one transaction; check the version before the
//     effect IDs.
//   - Order IDs byte-wise: in SQL use a binary column type or the "C"
//     collation.
//   - Copy byte slices on the way in and out.
//   - Make Close idempotent and make every other method return [ErrClosed]
//     afterwards.
//   - Keep journal entries keyed by instance and Seq, so that reading an
//     instance's journal, finding its last Seq and trimming it visit only
//     its entries; write them, check the Seq and apply the Keep in the
//     transaction of the record. A store that never got a journal entry
//     need not have anywhere to keep one (bolt creates its bucket with the
//     first entry).
//   - Keep per instance the last token issued, apart from the lease itself,
//     so that releasing never lets a token repeat; check the fence in the
//     same transaction as the write it guards.
//   - Index ready effects by (NotBefore, outbox position) and effects by
//     (instance, outbox position), so that Claim and Pending do not scan
//     the outbox.
//   - If processes on several machines share the store, implement
//     [Clocked] and use the database's clock.
//   - Pass [github.com/weftflow/weft/storage/storagetest.WithShared] if the
//     adapter can open its data twice, so that the suite races two stores.
//   - Keep each instance's earliest work time (the least of its Due and its
//     outbox effects' NotBefore, which does not depend on now) with the
//     instance and index it with the ID, so that Claim and NextWork read
//     instances in work order and stop early instead of ranking the whole
//     backlog. Writes that only add effects can lower it; writes that
//     remove or postpone effects must recompute it.
//   - Index instances by (workflow, status, ID) and keep a count per
//     (workflow, status), updated in the write that changes an instance,
//     so that [Listing.Find] reads a page from an index and
//     [Listing.Count] reads counters; build [Page.Next] with [NextCursor]
//     and decode [Query.After] with [Query.Validate].
//   - Make [Retention.Delete] check the version and both the outbox and
//     the dead letters in the transaction that deletes, and keep the
//     instance's last fence token and its tombstone. Make Create read the
//     tombstone in the transaction that creates, so that a Create racing
//     a Delete of the same ID either finds the instance (ErrExists) or
//     sees its tombstone.
package storage
