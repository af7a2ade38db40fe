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
// instance at version 1. [Store.Commit] replaces an instance's contents if its
// stored version equals [Commit.Expect], and bumps the version by one. This
// compare-and-set is the only concurrency control: a writer loads an
// instance, computes, and commits with Expect set to the version it loaded;
// if another writer got there first it receives [ErrConflict] and must reload.
// Instances are never deleted.
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
// restart. The zero time means "not due". Stores keep Due at microsecond
// precision in UTC ([NormalizeDue]), and a non-zero Due must lie between the
// Unix epoch and the year 10000. [Store.List] pages through all instances by
// ID for tools and scans.
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
// # Errors
//
// Methods return errors wrapping the sentinels [ErrNotFound], [ErrExists],
// [ErrConflict], [ErrClosed] and [ErrInvalid], with context such as the
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
// touching stored state. When several state-dependent errors apply to one
// Commit, the first of [ErrNotFound], [ErrConflict], [ErrExists] wins. The
// order matters: two writers racing from the same version derive the same
// effect IDs, and the loser must see ErrConflict (reload and retry), not
// ErrExists.
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
package storage
