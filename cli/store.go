package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/postgres"
)

// StoreFlags are the flags by which a command names its store, and the one
// way every command opens it: a bbolt file (--db FILE) or a PostgreSQL
// database (--postgres DSN, with --schema NAME). Extra commands use it the
// way the built-in ones do:
//
//	var sf cli.StoreFlags
//	sf.Register(fs)
//	... parse ...
//	st, closeStore, err := sf.Open(ctx, true)
//	if err != nil {
//		return err
//	}
//	defer closeStore()
type StoreFlags struct {
	DB       string // --db FILE: a bbolt file
	Postgres string // --postgres DSN: a PostgreSQL connection string or URL
	Schema   string // --schema NAME: the Postgres schema; "" is postgres.DefaultSchema

	// Create lets Open make a store that does not exist yet: a new bbolt
	// file, or a new (or older, migrated) Postgres schema. Without it a
	// missing store is an error and a Postgres schema is never changed.
	Create bool

	// Timeout is how long a bbolt open waits for the file lock: 0 is one
	// second, less than 0 does not wait.
	Timeout time.Duration

	// postgresSet and schemaSet record that the flags were given, even
	// with an empty value ("--postgres=" for the PG* environment).
	postgresSet, schemaSet bool
}

// StoreUsage is the help text of the store flags, for a command's Help.
const StoreUsage = `  --db FILE        a bbolt store file
  --postgres DSN   a PostgreSQL store: a connection URL or key=value string
                   ("postgres://user@host:5432/db", "host=db user=weft");
                   libpq's PG* environment variables and ~/.pgpass fill in
                   what it leaves out, so the password need not be on the
                   command line; --postgres= uses the environment alone
  --schema NAME    the Postgres schema of the store (default "weft")
`

// Register defines --db, --postgres and --schema on fs.
func (f *StoreFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.DB, "db", f.DB, "a bbolt store file")
	fs.Var(setString{&f.Postgres, &f.postgresSet}, "postgres", "a PostgreSQL connection string")
	fs.Var(setString{&f.Schema, &f.schemaSet}, "schema", "the PostgreSQL schema")
}

// setString is a string flag that records that it was set.
type setString struct {
	s   *string
	set *bool
}

func (v setString) String() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}

func (v setString) Set(s string) error {
	*v.s, *v.set = s, true
	return nil
}

// Named reports whether the flags name a store (either --db or
// --postgres was given), for a command with a default store, as the demo
// has.
func (f *StoreFlags) Named() bool { return f.DB != "" || f.isPostgres() }

func (f *StoreFlags) isPostgres() bool { return f.Postgres != "" || f.postgresSet }

// Check reports a *[UsageError] unless the flags name exactly one store:
// --db or --postgres, not both, and --schema only with --postgres.
func (f *StoreFlags) Check() error {
	switch {
	case f.DB != "" && f.isPostgres():
		return &UsageError{Msg: "--db and --postgres both name a store: give one"}
	case !f.Named():
		return &UsageError{Msg: "--db FILE or --postgres DSN is required"}
	case f.schemaSet && !f.isPostgres():
		return &UsageError{Msg: "--schema names a PostgreSQL schema: it goes with --postgres"}
	case f.isPostgres():
		if err := postgres.ValidateSchemaName(f.schema()); err != nil {
			return &UsageError{Msg: "--schema: " + err.Error()}
		}
	}
	return nil
}

func (f *StoreFlags) schema() string {
	if f.Schema == "" {
		return postgres.DefaultSchema
	}
	return f.Schema
}

// String describes the store for messages, without a password: the file,
// or "postgres USER@HOST:PORT/DATABASE schema NAME".
func (f *StoreFlags) String() string {
	if !f.isPostgres() {
		return f.DB
	}
	return fmt.Sprintf("postgres %s schema %s", describeDSN(f.Postgres), f.schema())
}

// Open opens the store the flags name: read-only (for tools that must not
// write: inspect, verify, plan) or read-write. It returns the store and the
// function that closes it (and whatever Open made for it).
//
// Errors are a *[UsageError] from [StoreFlags.Check], or a *[StoreError]
// saying what could not be opened and why, with the underlying error
// wrapped: [bolt.ErrLocked] for a bbolt file another process holds,
// [ErrNoStore] for a store that does not exist and may not be created,
// [postgres.ErrSchemaTooOld] or [postgres.ErrSchemaTooNew], a
// *pgconn.ConnectError for a server that cannot be reached. No message
// holds the DSN's password.
//
// A read-only bbolt store takes a shared lock that a running service's
// read-write lock excludes (inspect a copy); a read-write one takes the
// file's exclusive lock. A read-only Postgres store opens connections
// whose transactions are read-only (default_transaction_read_only), so
// nothing the command does can write, and never migrates the schema.
func (f *StoreFlags) Open(ctx context.Context, readOnly bool) (storage.Store, func() error, error) {
	if err := f.Check(); err != nil {
		return nil, nil, err
	}
	if f.isPostgres() {
		return f.openPostgres(ctx, readOnly)
	}
	return f.openBolt(readOnly)
}

// ErrNoStore means the store a command names does not exist (a missing
// file, an empty Postgres schema) and the command does not create one.
var ErrNoStore = errors.New("no weft store there")

// StoreError reports that the store could not be opened.
type StoreError struct {
	Store string // the store, as StoreFlags.String describes it
	Msg   string // what went wrong, naming the store ("cannot reach postgres at ...")
	Hint  string // what to do about it, or ""
	Err   error  // the underlying error

	detail string // shown instead of Err's message when set
}

// Error returns the message, the underlying error's, and the hint on a
// line of its own.
func (e *StoreError) Error() string {
	s := e.Msg
	switch {
	case e.detail != "":
		s += ": " + e.detail
	case e.Err != nil:
		s += ": " + e.Err.Error()
	}
	if e.Hint != "" {
		s += "\n  " + e.Hint
	}
	return s
}

// Unwrap returns the underlying error.
func (e *StoreError) Unwrap() error { return e.Err }

func (f *StoreFlags) openBolt(readOnly bool) (storage.Store, func() error, error) {
	opts := []bolt.Option{bolt.WithTimeout(f.timeout())}
	if readOnly {
		opts = append(opts, bolt.WithReadOnly(), bolt.WithFullCheck())
	}
	if !f.Create {
		if _, err := os.Stat(f.DB); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &StoreError{Store: f.String(), Msg: "cannot open bbolt file " + f.DB, Err: fmt.Errorf("%w: the file does not exist", ErrNoStore)}
		}
	}
	st, err := bolt.Open(f.DB, opts...)
	if err == nil {
		return st, st.Close, nil
	}
	e := &StoreError{Store: f.String(), Msg: "cannot open bbolt file " + f.DB, Err: err}
	switch {
	case errors.Is(err, bolt.ErrLocked) && readOnly:
		e.Msg = "bbolt file " + f.DB + " is locked by a process that has it open read-write"
		e.Hint = "a running service holds its store's file: work on a copy of the file instead"
	case errors.Is(err, bolt.ErrLocked):
		e.Msg = "bbolt file " + f.DB + " is locked by another process"
		e.Hint = "a running service holds its store's file: stop it first (or keep the store in PostgreSQL, which many processes share)"
	case errors.Is(err, bolt.ErrCorrupt):
		e.Msg = "bbolt file " + f.DB + " is damaged"
	case errors.Is(err, bolt.ErrNotWeftStore):
		e.Msg = "bbolt file " + f.DB + " is not a weft store"
	}
	return nil, nil, e
}

func (f *StoreFlags) timeout() time.Duration {
	if f.Timeout == 0 {
		return time.Second
	}
	return f.Timeout
}

// connectTimeout bounds each connection attempt when the DSN sets no
// connect_timeout, so that a host that does not answer fails the command
// instead of hanging it.
const connectTimeout = 10 * time.Second

func (f *StoreFlags) openPostgres(ctx context.Context, readOnly bool) (storage.Store, func() error, error) {
	where := describeDSN(f.Postgres)
	pc, err := pgxpool.ParseConfig(f.Postgres)
	if err != nil {
		// pgx leaves the password out of the connection string it quotes.
		return nil, nil, &StoreError{Store: f.String(), Msg: "bad --postgres connection string", Err: err}
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = connectTimeout
	}
	// As postgres.Open does: a canceled command cancels its statement on
	// the server too.
	pc.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: time.Second}
	}
	opts := []postgres.Option{postgres.WithSchema(f.schema())}
	if readOnly {
		pc.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if readOnly || !f.Create {
		opts = append(opts, postgres.WithoutMigrate())
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, nil, &StoreError{Store: f.String(), Msg: "cannot open postgres at " + where, Err: err}
	}
	st, err := postgres.OpenPool(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, nil, f.postgresError(where, err)
	}
	return st, func() error {
		err := st.Close()
		pool.Close()
		return err
	}, nil
}

// postgresError explains an error of postgres.OpenPool.
func (f *StoreFlags) postgresError(where string, err error) error {
	var ce *pgconn.ConnectError
	schema := strconv.Quote(f.schema())
	switch {
	case errors.As(err, &ce):
		// The message of the inner error: the outer ones repeat the
		// schema, user and database.
		detail := err.Error()
		if inner := errors.Unwrap(ce); inner != nil {
			detail = oneLine(inner.Error())
		}
		return &StoreError{Store: f.String(), Msg: "cannot reach postgres at " + where, Err: err, detail: detail}
	case errors.Is(err, postgres.ErrSchemaTooOld) && !f.Create:
		return &StoreError{Store: f.String(), Msg: "postgres at " + where + ": schema " + schema + " holds no weft store, or one older than this binary",
			Hint: "check --schema; an older schema is migrated by the services that use it, or with postgres.MigrationSQL",
			Err:  fmt.Errorf("%w: %w", ErrNoStore, err), detail: err.Error()}
	case errors.Is(err, postgres.ErrSchemaTooNew):
		return &StoreError{Store: f.String(), Msg: "postgres at " + where + ": schema " + schema + " was written by a newer weft", Hint: "use a newer weft", Err: err}
	}
	return &StoreError{Store: f.String(), Msg: "cannot open postgres at " + where, Err: err}
}

// oneLine joins the distinct lines of s with "; ": pgx reports each
// connection attempt (one per host, and one per TLS mode) on a line, often
// the same line twice.
func oneLine(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(lines, l) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "; ")
}

// describeDSN names the server and database of a connection string,
// without its password: "USER@HOST:PORT/DATABASE", or a placeholder when
// the string does not parse (pgx's own error then says why).
func describeDSN(dsn string) string {
	cc, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "(unparsable connection string)"
	}
	s := cc.Host
	if s == "" || s[0] == '/' {
		s = "socket " + s
	}
	if cc.Port != 0 {
		s += ":" + strconv.Itoa(int(cc.Port))
	}
	if cc.User != "" {
		s = cc.User + "@" + s
	}
	return s + "/" + cc.Database
}

// openEngine opens the store sf names (read-only if readOnly) and an
// engine over it with the program's definitions registered. Call close
// when done.
func (p *Program) openEngine(ctx context.Context, sf StoreFlags, readOnly bool) (e *engine.Engine, close func() error, err error) {
	st, closeStore, err := sf.Open(ctx, readOnly)
	if err != nil {
		return nil, nil, err
	}
	if e, err = engine.New(st); err == nil {
		err = e.Register(p.Definitions...)
	}
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return e, closeStore, nil
}
