package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/weftflow/weft/cli"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/internal/pgtest"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/bolt"
	"github.com/weftflow/weft/storage/postgres"
)

// backend is one kind of store the commands run on.
type backend struct {
	name  string
	flags []string // the command-line flags that name the store
	// open opens the store read-write for a test's setup and checks; the
	// test closes it before running a command (a bbolt file admits one
	// writer).
	open func(t *testing.T) storage.Store
}

// eachBackend runs f on a fresh bbolt file and on a fresh Postgres schema
// (skipped without a server, failed under CI=true).
func eachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("bolt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "store.db")
		f(t, backend{name: "bolt", flags: []string{"--db", path}, open: func(t *testing.T) storage.Store {
			t.Helper()
			st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
			if err != nil {
				t.Fatal(err)
			}
			return st
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		schema := pgtest.Schema(t, "cli_test_")
		f(t, backend{name: "postgres", flags: []string{"--postgres", pgtest.DSN(), "--schema", schema}, open: func(t *testing.T) storage.Store {
			t.Helper()
			st, err := postgres.Open(context.Background(), pgtest.DSN(), postgres.WithSchema(schema))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}})
	})
}

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// deadLetterStore fills b's store: two approval requests, each with its
// ask-manager setup effect in the outbox, and a pizza order, whose setup
// effects are then dead-lettered through storage.Claims directly, as a
// host would after too many failed attempts. It returns the IDs of the
// two dead letters.
func deadLetterStore(t *testing.T, b backend) (string, string) {
	t.Helper()
	ctx := context.Background()
	st := b.open(t)
	defer st.Close()
	e := newEngine(t, st, engine.WithClock(engine.NewFakeClock(t0)))
	if err := e.Register(approval.Workflow, pizza.Workflow); err != nil {
		t.Fatal(err)
	}
	for _, r := range []approval.Request{{ID: "req-1", User: "ada", Amount: 300}, {ID: "req-2", User: "bo", Amount: 4000}} {
		if err := e.Start(ctx, approval.Workflow, r.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Start(ctx, pizza.Workflow, "order-1", pizza.Order{Customer: "cy"}); err != nil {
		t.Fatal(err)
	}
	claims := st.(storage.Claims)
	dead := func(id string, r storage.RetryState) string {
		t.Helper()
		l, err := claims.Acquire(ctx, id, storage.ClaimRequest{Owner: "test", Now: t0, TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		effs, err := claims.Pending(ctx, l, 10)
		if err != nil || len(effs) != 1 {
			t.Fatalf("pending effects of %s: %v %+v", id, err, effs)
		}
		if err := claims.DeadLetter(ctx, l, effs[0].ID, r); err != nil {
			t.Fatal(err)
		}
		if err := claims.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
		return effs[0].ID
	}
	a := dead("req-1", storage.RetryState{Attempts: 7, NotBefore: t0.Add(time.Hour), LastError: "smtp: 550 mailbox unavailable\n(second line of detail)"})
	c := dead("req-2", storage.RetryState{Attempts: 12, LastError: strings.Repeat("the manager's inbox refuses the message; ", 4)})
	return a, c
}

func TestDeadLettersAndRequeue(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		first, second := deadLetterStore(t, b)
		if first != "req-1/1/1" || second != "req-2/1/1" {
			t.Fatalf("dead letters %q and %q: the golden files name req-1/1/1 and req-2/1/1", first, second)
		}
		cmd := func(wantCode int, args ...string) (string, string) {
			t.Helper()
			p, out, errb := tool(pizza.Workflow, approval.Workflow)
			args = append(args, b.flags...)
			if code := runTool(p, args...); code != wantCode {
				t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errb)
			}
			return out.String(), errb.String()
		}

		// The same tables from both stores.
		out, _ := cmd(0, "inspect")
		golden(t, "inspect/table-dead.txt", out)
		out, _ = cmd(0, "inspect", "--dead")
		golden(t, "inspect/dead.txt", out)
		out, _ = cmd(0, "inspect", "req-2", "--dead")
		if !strings.HasPrefix(out, "ID         INSTANCE  KIND               ATTEMPTS  LAST ERROR\nreq-2/1/1  req-2 ") || strings.Contains(out, "req-1") ||
			!strings.Contains(out, "\n1 dead letter;") {
			t.Errorf("inspect --dead req-2:\n%s", out)
		}
		out, _ = cmd(0, "inspect", "order-1", "--dead")
		if out != "no dead letters of \"order-1\"\n" {
			t.Errorf("inspect --dead order-1: %q", out)
		}
		out, _ = cmd(0, "inspect", "--dead", "--json")
		var views []map[string]any
		if err := json.Unmarshal([]byte(out), &views); err != nil {
			t.Fatalf("inspect --dead --json: %v\n%s", err, out)
		}
		if len(views) != 2 || views[0]["id"] != first || views[0]["instance"] != "req-1" || views[0]["workflow"] != "approval" ||
			views[0]["kind"] != "setup ask-manager" || views[0]["attempts"] != 7.0 ||
			views[0]["lastError"] != "smtp: 550 mailbox unavailable\n(second line of detail)" || views[1]["id"] != second {
			t.Errorf("inspect --dead --json:\n%s", out)
		}

		// Requeue one by ID, with an ID that is no dead letter: exit 1
		// naming it, the other moved all the same.
		out, errs := cmd(1, "requeue", first, "nope/1/1", first)
		if out != "requeued 1 dead letter\n" || !strings.Contains(errs, `1 of 2 IDs named no dead letter (acknowledged, already requeued, or mistyped): "nope/1/1"`) {
			t.Errorf("requeue %s nope/1/1: stdout %q stderr %q", first, out, errs)
		}
		st := b.open(t)
		claims := st.(storage.Claims)
		back := outboxEffect(t, st, first)
		if back == nil || back.Attempts != 0 || back.LastError != "smtp: 550 mailbox unavailable\n(second line of detail)" || !back.NotBefore.IsZero() {
			t.Errorf("requeued effect in the outbox: %+v", back)
		}
		if dl, err := claims.DeadLetters(ctx, "", 10); err != nil || len(dl) != 1 || dl[0].ID != second {
			t.Errorf("dead letters after requeue of %s: %v %+v", first, err, dl)
		}
		st.Close()

		out, _ = cmd(0, "inspect")
		if !strings.HasSuffix(out, "\n1 dead letter: list them with 'orders inspect --dead', put them back with 'orders requeue'\n") {
			t.Errorf("inspect after one requeue:\n%s", out)
		}
		out, _ = cmd(0, "requeue", "--all")
		if out != "requeued 1 dead letter\n" {
			t.Errorf("requeue --all: %q", out)
		}
		out, _ = cmd(0, "requeue", "--all")
		if out != "requeued 0 dead letters\n" {
			t.Errorf("requeue --all of nothing: %q", out)
		}
		out, _ = cmd(0, "inspect")
		golden(t, "inspect/table-requeued.txt", out)
		out, _ = cmd(0, "inspect", "--dead")
		if out != "no dead letters\n" {
			t.Errorf("inspect --dead after requeue --all: %q", out)
		}
		st = b.open(t)
		defer st.Close()
		if outboxEffect(t, st, second) == nil {
			t.Errorf("%s is not back in the outbox", second)
		}
	})
}

// outboxEffect returns the outbox's effect id, or nil.
func outboxEffect(t *testing.T, st storage.Store, id string) *storage.Effect {
	t.Helper()
	effs, err := st.Outbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range effs {
		if e.ID == id {
			return &e
		}
	}
	return nil
}

// The read-only commands, on both stores.
func TestReadOnlyCommandsOnEachStore(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		deadLetterStore(t, b)
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"inspect", "order-1"}, 0, `"Customer": "cy"`},
			{[]string{"inspect", "--json"}, 0, `"id": "req-2"`},
			{[]string{"inspect", "nope"}, 1, ""},
			{[]string{"verify", "--schedules", "2"}, 0, "verified 3 instances of 2 workflows: 3 ok, 0 broken\n"},
			{[]string{"verify", "--json"}, 0, `{"summary":{"broken":0,"instances":3,"ok":3,"unknown":0}}`},
			{[]string{"plan", "order-1", "add", `{"Item":"funghi"}`, "--at", "2026-11-25T09:10:00Z"}, 0, "instance order-1, event add"},
			{[]string{"plan", "req-2", "decide", `{"Approve":true}`, "--at", "2026-11-25T09:10:00Z"}, 0, "old: approval v1"},
		} {
			p, out, errb := tool(pizza.Workflow, approval.Workflow)
			p.Upgrades = append(p.Upgrades, pizza.WorkflowV2)
			args := append(append([]string(nil), c.args...), b.flags...)
			if code := runTool(p, args...); code != c.code || !strings.Contains(out.String(), c.want) {
				t.Errorf("%q: exit %d, want %d; stdout lacks %q?\n%s%s", c.args, code, c.code, c.want, out, errb)
			}
		}
	})
}

func TestStoreUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect"}, "--db FILE or --postgres DSN is required"},
		{[]string{"verify"}, "--db FILE or --postgres DSN is required"},
		{[]string{"plan", "a", "b"}, "--db FILE or --postgres DSN is required"},
		{[]string{"requeue", "--all"}, "--db FILE or --postgres DSN is required"},
		{[]string{"inspect", "--db", "x.db", "--postgres", "postgres://h/d"}, "--db and --postgres both name a store: give one"},
		{[]string{"requeue", "--all", "--postgres=", "--db", "x.db"}, "--db and --postgres both name a store: give one"},
		{[]string{"inspect", "--db", "x.db", "--schema", "s"}, "--schema names a PostgreSQL schema: it goes with --postgres"},
		{[]string{"verify", "--postgres", "postgres://h/d", "--schema", "pg_x"}, `--schema: storage: postgres: schema name "pg_x" starts with "pg_"`},
		{[]string{"inspect", "--db", "x.db", "a", "b"}, "at most one instance ID"},
		{[]string{"verify", "--db", "x.db", "extra"}, `unexpected arguments ["extra"]`},
		{[]string{"plan", "--db", "x.db", "a"}, "want ID EVENT [PAYLOAD-JSON]"},
		{[]string{"requeue", "--db", "x.db"}, "want effect IDs to requeue, or --all"},
		{[]string{"requeue", "--db", "x.db", "--all", "a/1/1"}, "--all requeues every dead letter: give it or effect IDs, not both"},
	} {
		p, out, errb := tool()
		code := runTool(p, c.args...)
		if code != 2 || out.Len() != 0 || !strings.HasPrefix(errb.String(), "orders "+c.args[0]+": "+c.want) ||
			!strings.Contains(errb.String(), "Usage: orders "+c.args[0]) {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %q\nwant exit 2 and %q", c.args, code, out, errb, c.want)
		}
	}
}

// Opening fails with an error that says what and why, never with the
// password of the connection string, and a command that does not create
// stores leaves none behind.
func TestStoreOpenErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect", "--db", missing}, "orders inspect: cannot open bbolt file " + missing + ": no weft store there: the file does not exist\n"},
		{[]string{"requeue", "--all", "--db", missing}, "orders requeue: cannot open bbolt file " + missing + ": no weft store there: the file does not exist\n"},
		{[]string{"inspect", "--postgres", "postgres://u:sekret@127.0.0.1:1/db"}, "orders inspect: cannot reach postgres at u@127.0.0.1:1/db: "},
		{[]string{"verify", "--postgres", "host=127.0.0.1 port=1 user=u password=sekret dbname=db"}, "orders verify: cannot reach postgres at u@127.0.0.1:1/db: "},
		{[]string{"requeue", "a", "--postgres", "postgres://u:sekret@[::1/db"}, "orders requeue: bad --postgres connection string: cannot parse `postgres://u:xxxxx@[::1/db`"},
	} {
		p, out, errb := tool()
		code := runTool(p, c.args...)
		if code != 1 || out.Len() != 0 || !strings.HasPrefix(errb.String(), c.want) || strings.Contains(errb.String(), "sekret") {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %q\nwant exit 1 and %q", c.args, code, out, errb, c.want)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a command created %s: %v", missing, err)
	}
}

// A bbolt file held read-write by a running service cannot be opened by
// the commands; the error says so, and what to do.
func TestLockedBoltFile(t *testing.T) {
	path := newStore(t, nil)
	st, err := bolt.Open(path, bolt.WithUnsafeNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inspect"}, "is locked by a process that has it open read-write: "},
		{[]string{"verify"}, "work on a copy of the file instead"},
		{[]string{"requeue", "--all"}, "is locked by another process: "},
		{[]string{"requeue", "a/1/1"}, "stop it first"},
	} {
		p, _, errb := tool()
		if code := runTool(p, append(c.args, "--db", path)...); code != 1 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q on a locked file: exit %d, stderr %q; want exit 1 and %q", c.args, code, errb, c.want)
		}
	}
	sf := cli.StoreFlags{DB: path, Timeout: time.Millisecond}
	_, _, err = sf.Open(context.Background(), false)
	var se *cli.StoreError
	if !errors.As(err, &se) || !errors.Is(err, bolt.ErrLocked) || se.Store != path {
		t.Errorf("Open of a locked file: %v", err)
	}
}

// A read-only open cannot write: bbolt refuses, and Postgres runs the
// store's statements in read-only transactions. Neither creates a store.
func TestReadOnlyOpenCannotWrite(t *testing.T) {
	ctx := context.Background()
	eachBackend(t, func(t *testing.T, b backend) {
		var sf cli.StoreFlags
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		sf.Register(fs)
		if _, err := cli.ParseFlags(fs, b.flags); err != nil {
			t.Fatal(err)
		}
		// No store yet: refused, and none made.
		_, _, err := sf.Open(ctx, true)
		var se *cli.StoreError
		if !errors.As(err, &se) || !errors.Is(err, cli.ErrNoStore) {
			t.Fatalf("read-only open of no store: %v", err)
		}
		if b.name == "postgres" && schemaExists(t, sf.Schema) {
			t.Errorf("a read-only open created schema %s", sf.Schema)
		}
		if _, _, err := sf.Open(ctx, false); !errors.Is(err, cli.ErrNoStore) {
			t.Fatalf("read-write open of no store, without Create: %v", err)
		}
		b.open(t).Close() // create the store

		st, closeStore, err := sf.Open(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		defer closeStore()
		_, err = st.Create(ctx, storage.Instance{ID: "x", Workflow: "w"}, nil)
		if err == nil {
			t.Fatal("Create on a read-only store succeeded")
		}
		if _, err := st.Load(ctx, "x"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("after the refused Create: %v", err)
		}
	})
}

func schemaExists(t *testing.T, schema string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestPostgresMissingSchema(t *testing.T) {
	pgtest.Need(t)
	schema := "cli_test_never_created"
	for _, args := range [][]string{{"inspect"}, {"verify"}, {"plan", "a", "b"}, {"requeue", "--all"}} {
		p, out, errb := tool()
		code := runTool(p, append(args, "--postgres", pgtest.DSN(), "--schema", schema)...)
		if code != 1 || out.Len() != 0 || !strings.Contains(errb.String(), `: schema "cli_test_never_created" holds no weft store, or one older than this binary`) {
			t.Errorf("%q: exit %d\nstdout %q\nstderr %q", args, code, out, errb)
		}
	}
	if schemaExists(t, schema) {
		pgtest.Drop(t, schema)
		t.Errorf("a command created schema %s", schema)
	}
}
