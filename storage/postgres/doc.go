// Package postgres is a [storage.Store] kept in PostgreSQL, for running weft
// in several processes on one database. It is built on pgx v5 and its
// connection pool, pgxpool.
//
// Open a store with a connection string, or on a pool you configure with
// [OpenPool]:
//
//	s, err := postgres.Open(ctx, "postgres://weft@db.internal/app", postgres.WithSchema("weft"))
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// The store keeps its tables in one schema ([DefaultSchema] unless
// [WithSchema] names another). Any number of stores, in any number of
// processes, may be open on the same schema: they share instances, outbox and
// due index, and [Store.Commit]'s compare-and-set holds across all of them,
// because it is a single SQL statement checking the version in the row it
// updates.
//
// # Commits
//
// Create and Commit are one statement each, so one round trip: the record
// update (with its compare-and-set on the version), the outbox insert and the
// due index change are data-modifying parts of one statement, which Postgres
// runs atomically. A failed commit writes nothing; [storage.ErrNotFound],
// [storage.ErrConflict] and [storage.ErrExists] are told apart in the
// contract's order. Any other error from Commit (a lost connection, a
// canceled context) leaves the outcome unknown, as the contract allows.
//
// Outbox positions come from an identity column, assigned by the write that
// appends the effects after it has locked the instance's row, so an
// instance's effects follow its versions and writes that do not overlap in
// time are read back in the order they were made.
//
// # Claims
//
// The store implements [storage.Claims]: leases with fence tokens are rows
// of a leases table, kept after release so that tokens only grow; Claim is
// one statement that locks its candidate instances FOR NO KEY UPDATE SKIP
// LOCKED and grants with a conditional upsert, so two claimers in any
// processes never lease one instance twice; fenced writes hold the lease row
// FOR SHARE in the transaction of the write (a fenced Commit in its one
// statement, so it costs one round trip like an unfenced one). A
// dead letter stays in its outbox row, flagged, keeping its ID taken. The
// caller's now decides expiry and readiness (the store does not implement
// [storage.Clocked]): processes sharing a schema need synchronized clocks.
//
// Claim and NextWork do not rank the backlog: each instance row stores its
// earliest work time (work_at, the least of its due and its outbox
// effects' not_before; migration 4), indexed with its ID, so Claim reads
// the index in work order and stops after Limit instances without a live
// lease, and NextWork reads the first such instance and the live leases.
// Create and Commit lower the stored time in their one statement; Ack,
// AckLeased, Retry and DeadLetter recompute it while holding the
// instance's row lock. Release does not wait for the WAL flush: a release
// lost in a crash of the server only leaves the lease to expire.
//
// # Wake-ups
//
// The store implements [storage.Waker] with LISTEN/NOTIFY on one channel
// per schema ("weft_" and 16 hex digits of the SHA-256 of the schema name).
// A Create or Commit that writes effects or sets a Due less than a minute
// after the process's clock, and a Requeue that moves an effect, ask the
// store's notifier goroutine for a notification; it sends pg_notify from
// a pooled connection after the write committed (a NOTIFY inside the
// write's transaction serializes commits), at most one every 5 ms, so a
// burst of commits gives one notification. [Store.Wakeups] opens a
// connection of its own, outside the pool, that LISTENs and delivers into
// a 1-buffered channel; it reconnects with backoff (50 ms to 5 s) and
// delivers a value after reconnecting, for what it may have missed. Close
// stops the notifier and closes every Wakeups channel.
//
// # Locks
//
// The store implements [storage.Locker] with session-level advisory locks:
// [Store.TryLock] takes a connection from the pool, runs
// pg_try_advisory_lock on the key [LockKey] derives from the schema and
// the lock's name, and keeps the connection until Unlock, so a lock lasts
// as long as its session: Postgres releases it when the process dies or
// the connection breaks. A goroutine pings the connection every second and
// closes [storage.Lock.Lost] when the session is gone. Each held lock takes
// one of the pool's connections; Close unlocks them all.
//
// # Outcome unknown
//
// Writes (Create, Commit and the claims writes) report
// [storage.ErrOutcomeUnknown] when the statement that commits them, or
// their transaction's COMMIT, may have reached the server before the
// failure: a broken connection (pgconn.SafeToRetry false) or a session the
// server ended (a FATAL error, as pg_terminate_backend gives). An error the
// server reported for the statement (a constraint violation, a statement
// canceled because the context ended), a failure before anything was sent
// (no connection to be had), and a failure before a transaction's COMMIT
// mean the write did not happen, and do not wrap it.
//
// # Journal
//
// Journals ([storage.Journal]) are kept in the table journal (migration
// 6), one row per entry keyed by (instance, seq). Create and Commit with
// an entry stay one statement: a CTE inserts the entry from the row the
// record write returns, the Commit's UPDATE carries the Seq check (the
// entry must come after the journal's newest row, which the statement
// also returns so that Commit can report [storage.ErrInvalid]), and a
// Keep is a DELETE CTE over the journal as the statement sees it plus the
// new entry. TrimJournal is one statement too.
//
// # Schema and migrations
//
// The schema's SQL ships with the package (migrations/*.sql, embedded).
// [Open] applies the missing migrations under a Postgres advisory lock,
// records each in the schema's schema_migrations table, and refuses a schema
// migrated by a newer binary with [ErrSchemaTooNew]. With [WithoutMigrate]
// Open changes nothing and refuses a missing or older schema with
// [ErrSchemaTooOld]; operators then apply the script [MigrationSQL] prints,
// or call [Migrate]. [SchemaVersion] is the version this package needs.
//
// # Storage
//
// IDs are bytea, so any bytes are allowed and IDs order byte-wise, as the
// contract requires; Workflow and Status are bytea too, since the contract
// treats them as opaque strings that need not be UTF-8. Due is a nullable
// timestamptz with a partial index on (due, id), which holds only instances
// that are due at some time. docs/storage-postgres.md describes the tables
// and indexes. Migration 5 indexes instances by (workflow, status, id) and
// (status, id) for [Store.Find] and [Store.Count], and dead letters by
// instance for [Store.Delete], which deletes in one statement under the
// instance's row lock and keeps its lease row (released) for the token.
// The same statement upserts the ID's row in the table tombstones
// (migration 7): the deleted instance's version and the host's bytes.
// Create reads that row, and whether the instance's row exists, in the
// snapshot of its one statement, and inserts only if the row does not
// exist and the tombstone is absent or named, at the tombstone's version
// plus one; so a Create racing the Delete of its ID finds the row
// ([storage.ErrExists]) or the tombstone ([storage.DeletedError]). If the
// ID is both created and deleted by others while its statement runs, a
// trigger on instances (migration 8) reads the tombstone again after the
// insert and fails the statement, and Create returns the DeletedError
// (docs/storage-postgres.md, Tombstones).
//
// # Tests
//
// The package's tests need a server: they use WEFT_POSTGRES_DSN, by default
// postgres://postgres@127.0.0.1:5432/test, each in a schema of its own that
// it drops at the end. Without a server they skip, saying how to run them;
// with CI=true they fail instead.
//
// The package example (Example) needs a server too, so it has no Output
// comment: go test compiles it but does not run it, and TestExample runs
// it against the test server, skipping when there is none.
package postgres
