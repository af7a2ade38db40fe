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
// processes never lease one instance twice; fenced writes, a fenced Commit
// included, hold the lease row FOR SHARE in the transaction of the write. A
// dead letter stays in its outbox row, flagged, keeping its ID taken. The
// caller's now decides expiry and readiness (the store does not implement
// [storage.Clocked]): processes sharing a schema need synchronized clocks.
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
// and indexes.
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
