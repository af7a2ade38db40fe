package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weftflow/weft/cli"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/examples/approval"
	"github.com/weftflow/weft/examples/pizza"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/journal"
)

var demoCommand = cli.Command{
	Name:    "demo",
	Summary: "run the example workflows on an embedded bbolt store (or PostgreSQL), with simulated users and a simulated clock",
	Usage:   "[--db FILE | --postgres DSN [--schema NAME]] [--serve [--addr HOST:PORT]]",
	Help: `With no flag the demo needs no database: it runs on a temporary bbolt
file, removed at the end. With --db it keeps the store in FILE; with
--postgres it runs on a PostgreSQL schema (created if missing; the demo
refuses one that already holds instances: name a fresh one with --schema).
Look at the store afterwards with 'weft inspect' and the same flags.

Flags:
  --db FILE        keep the store in FILE (a new or empty bbolt file)
  --postgres DSN   run on PostgreSQL: a connection URL or key=value string;
                   libpq's PG* environment variables and ~/.pgpass fill in
                   what it leaves out
  --schema NAME    the Postgres schema (default "weft_demo")
  --serve          then serve the inspector (package inspector) on the
                   demo's store, with actions on, until interrupted
  --addr HOST:PORT where --serve listens (default 127.0.0.1:8080; a
                   loopback address only)
`,
	Run: runDemo,
}

// demoSchema is the Postgres schema of the demo unless --schema names
// another: not the default "weft", so that a demo cannot mix its instances
// into a real store.
const demoSchema = "weft_demo"

// start of the demo's simulated day.
var demoStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func runDemo(ctx context.Context, p *cli.Program, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sf := cli.StoreFlags{Schema: demoSchema, Create: true}
	sf.Register(fs)
	serve := fs.Bool("serve", false, "")
	addr := fs.String("addr", "127.0.0.1:8080", "")
	rest, err := cli.ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &cli.UsageError{Msg: fmt.Sprintf("unexpected arguments %q", rest)}
	}
	if *serve && !loopbackAddr(*addr) {
		return &cli.UsageError{Msg: fmt.Sprintf("--addr %s: the demo serves its inspector, actions on, on a loopback address only (127.0.0.1:PORT)", *addr)}
	}
	if !sf.Named() {
		dir, err := os.MkdirTemp("", "weft-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		sf.DB = filepath.Join(dir, "demo.db")
	}
	st, closeStore, err := sf.Open(ctx, false)
	if err != nil {
		return err
	}
	defer closeStore()
	// The script starts instances under fixed IDs: a store that holds some
	// already (an earlier demo) would refuse them halfway.
	if insts, err := st.List(ctx, "", 1); err != nil {
		return err
	} else if len(insts) > 0 {
		return fmt.Errorf("%s already holds instances (%q, ...): run the demo on a new store (another --db file, or --schema)", sf.String(), insts[0].ID)
	}
	where := "bbolt file " + sf.DB + " (fsync on)"
	if sf.DB == "" {
		where = sf.String()
	}
	d := &demo{out: p.Stdout, clock: engine.NewFakeClock(demoStart), versions: map[string]uint64{}}
	// The demo keeps a bounded journal of every instance: 'weft inspect
	// ID --history' prints it, and 'weft verify --replay' replays it.
	if d.e, err = engine.New(st, engine.WithClock(d.clock), engine.WithFinish(d.finished),
		engine.WithJournal("", journal.Policy{Keep: 1000})); err != nil {
		return err
	}
	if err := d.e.Register(approval.Workflow, pizza.Workflow); err != nil {
		return err
	}
	d.e.Handle("ask-manager", engine.SetupFuncs{SetupFunc: d.askManager, TeardownFunc: d.withdraw})
	d.e.Handle("confirm-order", engine.SetupFuncs{SetupFunc: d.askConfirm, TeardownFunc: d.withdraw})

	fmt.Fprintf(d.out, "weft demo: workflows approval and pizza on %s, simulated clock\n", where)
	if err := d.script(ctx); err != nil {
		return err
	}
	if err := d.summary(ctx, sf.String()); err != nil || !*serve {
		return err
	}
	return d.serveDemo(ctx, *addr, slog.New(slog.NewTextHandler(p.Stderr, nil)))
}

type demo struct {
	out      io.Writer
	e        *engine.Engine
	clock    *engine.FakeClock
	versions map[string]uint64 // last printed version of each instance
}

// script is the simulated users: customers, managers, a kitchen and a
// courier, acting at simulated times.
func (d *demo) script(ctx context.Context) error {
	at := func(clock string) time.Time {
		var h, m int
		fmt.Sscanf(clock, "%d:%d", &h, &m)
		y, mo, day := demoStart.Date()
		return time.Date(y, mo, day, h, m, 0, 0, time.UTC)
	}
	type action struct {
		at       time.Time
		who      string
		id       string
		event    string // "" starts the instance with input
		payload  any
		workflow string
	}
	empty := struct{}{}
	actions := []action{
		{at("09:00"), "ada", "req-1", "", approval.Request{ID: "req-1", User: "ada", Amount: 300}, "approval"},
		{at("09:00"), "bo", "req-2", "", approval.Request{ID: "req-2", User: "bo", Amount: 4000}, "approval"},
		{at("09:00"), "cy", "req-3", "", approval.Request{ID: "req-3", User: "cy", Amount: 20}, "approval"},
		{at("09:00"), "nobody", "req-4", "", approval.Request{ID: "req-4"}, "approval"},
		{at("09:01"), "dan", "order-1", "", pizza.Order{Customer: "dan"}, "pizza"},
		{at("09:01"), "eve", "order-2", "", pizza.Order{Customer: "eve"}, "pizza"},
		{at("09:01"), "fay", "order-3", "", pizza.Order{Customer: "fay"}, "pizza"},
		{at("09:02"), "dan", "order-1", "add", pizza.Add{Item: "margherita"}, ""},
		{at("09:02"), "dan", "order-1", "add", pizza.Add{Item: "funghi"}, ""},
		{at("09:02"), "eve", "order-2", "add", pizza.Add{Item: "calzone"}, ""},
		{at("09:03"), "fay", "order-3", "submit", empty, ""}, // rejected: empty cart
		{at("09:03"), "fay", "order-3", "add", pizza.Add{Item: "diavola"}, ""},
		{at("09:04"), "manager", "req-2", "decide", approval.Decision{Approve: false}, ""}, // rejected: no reason
		{at("09:04"), "manager", "req-2", "decide", approval.Decision{Approve: false, Reason: "over budget"}, ""},
		{at("09:04"), "dan", "order-1", "submit", empty, ""},
		{at("09:04"), "fay", "order-3", "submit", empty, ""},
		{at("09:06"), "manager", "req-1", "decide", approval.Decision{Approve: true}, ""},
		{at("09:07"), "manager", "order-1", "confirm", pizza.Confirmation{OK: true}, ""},
		{at("09:07"), "manager", "order-3", "confirm", pizza.Confirmation{OK: false}, ""},
		{at("09:25"), "kitchen", "order-1", "cooked", empty, ""},
		{at("09:30"), "gus", "order-4", "", pizza.Order{Customer: "gus"}, "pizza"},
		{at("09:31"), "gus", "order-4", "add", pizza.Add{Item: "quattro formaggi"}, ""},
		{at("09:31"), "gus", "order-4", "submit", empty, ""},
		{at("09:32"), "manager", "order-4", "confirm", pizza.Confirmation{OK: true}, ""},
		{at("09:50"), "courier", "order-1", "delivered", empty, ""},
		// The next morning, after order-2's cart has been abandoned.
		{at("09:05").Add(24 * time.Hour), "hal", "req-5", "", approval.Request{ID: "req-5", User: "hal", Amount: 120}, "approval"},
	}
	for _, a := range actions {
		if err := d.advance(ctx, a.at); err != nil {
			return err
		}
		if a.event == "" {
			fmt.Fprintf(d.out, "%s  %-7s starts %s %s\n", d.now(), a.who, a.workflow, a.id)
			def := approval.Workflow
			if a.workflow == "pizza" {
				def = pizza.Workflow
			}
			if err := d.e.Start(ctx, def, a.id, a.payload); err != nil {
				return err
			}
		} else {
			var reply any
			err := d.e.Send(ctx, a.id, a.event, a.payload, &reply)
			switch {
			case err != nil && isRejection(err):
				fmt.Fprintf(d.out, "%s  %-7s sends %s to %s: rejected (%s)\n", d.now(), a.who, a.event, a.id, cause(err))
			case err != nil:
				return err
			default:
				fmt.Fprintf(d.out, "%s  %-7s sends %s to %s, reply %v\n", d.now(), a.who, a.event, a.id, reply)
			}
		}
		if err := d.drain(ctx); err != nil {
			return err
		}
	}
	// req-5 and order-4 are left running, to be looked at with inspect.
	return d.advance(ctx, d.clock.Now().Add(time.Minute))
}

// advance moves the simulated clock to t, stopping at every due time on the
// way so timers fire when they are due.
func (d *demo) advance(ctx context.Context, t time.Time) error {
	for {
		next, err := d.nextDue(ctx)
		if err != nil {
			return err
		}
		if next.IsZero() || next.After(t) {
			break
		}
		if next.After(d.clock.Now()) {
			d.clock.Set(next)
		}
		fmt.Fprintf(d.out, "%s  (clock) timers due\n", d.now())
		if err := d.drain(ctx); err != nil {
			return err
		}
	}
	if t.After(d.clock.Now()) {
		d.clock.Set(t)
	}
	return nil
}

func (d *demo) nextDue(ctx context.Context) (time.Time, error) {
	var next time.Time
	insts, err := d.e.List(ctx, "", 1000)
	if err != nil {
		return next, err
	}
	for _, inst := range insts {
		if due := inst.Meta.Due; !due.IsZero() && (next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	return next, nil
}

// drain lets the engine do everything due now, then prints the instances
// that moved.
func (d *demo) drain(ctx context.Context) error {
	if err := d.e.Drain(ctx); err != nil {
		return err
	}
	insts, err := d.e.List(ctx, "", 1000)
	if err != nil {
		return err
	}
	for _, inst := range insts {
		if d.versions[inst.ID] == inst.Version {
			continue
		}
		d.versions[inst.ID] = inst.Version
		fmt.Fprintf(d.out, "         %-8s %-9s %s\n", inst.ID, inst.Meta.Status, positions(inst.Meta))
	}
	return nil
}

func positions(m interp.Meta) string {
	if m.Status.Finished() {
		if m.Failure != nil {
			return "failed at " + m.Failure.Path + ": " + m.Failure.Message
		}
		return ""
	}
	var parts []string
	for _, th := range m.Threads {
		s := th.ID + " at " + th.Path
		var waits []string
		for _, w := range th.Waits {
			switch {
			case w.Kind == interp.Activity:
				waits = append(waits, fmt.Sprintf("activity, attempt %d", w.Attempt))
			case w.Kind == interp.Timer:
				waits = append(waits, w.Event+" at "+w.At.UTC().Format("Jan 2 15:04"))
			default:
				waits = append(waits, w.Event)
			}
		}
		if len(waits) > 0 {
			s += " waiting for " + strings.Join(waits, " | ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func (d *demo) now() string { return d.clock.Now().Format("Jan 2 15:04") }

func (d *demo) askManager(ctx context.Context, info engine.EffectInfo) error {
	var ask map[string]any
	if err := info.Decode(&ask); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "         effect %s: ask the manager to approve %v for %v\n", info.ID, ask["user"], ask["amount"])
	return nil
}

func (d *demo) askConfirm(ctx context.Context, info engine.EffectInfo) error {
	var ask map[string]any
	if err := info.Decode(&ask); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "         effect %s: ask the manager to confirm %v's order %v\n", info.ID, ask["customer"], ask["items"])
	return nil
}

func (d *demo) withdraw(ctx context.Context, info engine.EffectInfo) error {
	fmt.Fprintf(d.out, "         effect %s: withdraw the question of %s\n", info.ID, info.Instance)
	return nil
}

func (d *demo) finished(ctx context.Context, info engine.EffectInfo) error {
	msg := info.Error
	if info.Kind == interp.EffectCompleted {
		var out string
		if err := info.Decode(&out); err != nil {
			return err
		}
		msg = out
	}
	fmt.Fprintf(d.out, "         effect %s: %s %s: %s\n", info.ID, info.Instance, info.Kind, msg)
	return nil
}

func (d *demo) summary(ctx context.Context, db string) error {
	insts, err := d.e.List(ctx, "", 1000)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nSummary (%d instances, store %s):\n", len(insts), db)
	for _, inst := range insts {
		var out string
		if inst.Meta.Status == interp.StatusCompleted {
			if err := inst.DecodeOutput(&out); err != nil {
				return err
			}
		} else if inst.Meta.Failure != nil {
			out = inst.Meta.Failure.Message
		}
		fmt.Fprintf(d.out, "  %-8s %-9s %-10s %-16s %s\n", inst.ID, inst.Workflow, inst.Meta.Status, fmt.Sprintf("transitions: %d", inst.Version), out)
	}
	const traced = "order-1"
	h, err := d.e.History(ctx, traced, 0, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\nWhat happened to %s, from its journal ('weft inspect %s --history'):\n", traced, traced)
	for _, en := range h {
		fmt.Fprintf(d.out, "  %s\n", en)
	}
	return nil
}

func isRejection(err error) bool { return errors.Is(err, interp.ErrRejected) }

// cause is the handler's message of a rejection.
func cause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}
