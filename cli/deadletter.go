package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// deadPage is how many dead letters one call reads.
const deadPage = 500

var requeueCommand = Command{
	Name:    "requeue",
	Summary: "put dead-lettered effects back into the outbox, to be tried again",
	Usage:   "--db FILE|--postgres DSN (EFFECT-ID... | --all)",
	Help: `A dead letter is an effect whose delivery failed too often: it stays in
the store, out of the outbox, until it is requeued. 'inspect --dead' lists
them. Requeue puts the named ones (or with --all every one) back at the end
of the outbox, ready at once, with their attempts reset to 0 and their last
error kept, and prints how many it moved.

The store is opened read-write. A PostgreSQL store can be requeued while
services run on it. A bbolt file cannot: a running service holds its
file's lock, and requeue then fails saying the file is locked; stop the
service first (or requeue from inside it, with storage.Claims.Requeue).

Exit status 1 when a named ID is not a dead letter (already requeued,
acknowledged, or mistyped); the others are requeued all the same.

Flags:
` + StoreUsage + `  --all            requeue every dead letter
`,
	Run: runRequeue,
}

func runRequeue(ctx context.Context, p *Program, args []string) error {
	fs := newFlags("requeue")
	var sf StoreFlags
	sf.Register(fs)
	all := fs.Bool("all", false, "")
	ids, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := sf.Check(); err != nil {
		return err
	}
	switch {
	case *all && len(ids) > 0:
		return &UsageError{Msg: "--all requeues every dead letter: give it or effect IDs, not both"}
	case !*all && len(ids) == 0:
		return &UsageError{Msg: "want effect IDs to requeue, or --all"}
	}
	st, closeStore, err := sf.Open(ctx, false)
	if err != nil {
		return err
	}
	defer closeStore()
	if *all {
		n, err := requeueAll(ctx, st)
		if n > 0 || err == nil {
			fmt.Fprintf(p.Stdout, "requeued %s\n", plural(n, "dead letter"))
		}
		return err
	}
	// engine.RequeueDead brings back, with each ID, the dead letters of
	// its instance that waited behind it, in the order the instance
	// emitted them. The IDs that name no dead letter are reported.
	dead, err := allDead(ctx, st)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var missed []string
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if !dead[id] {
			missed = append(missed, fmt.Sprintf("%q", id))
		}
	}
	moved, err := engine.RequeueDead(ctx, st, ids...)
	fmt.Fprintf(p.Stdout, "requeued %s\n", plural(moved, "dead letter"))
	if err != nil {
		return err
	}
	if len(missed) > 0 {
		return fmt.Errorf("%d of %s named no dead letter (acknowledged, already requeued, or mistyped): %s",
			len(missed), plural(len(seen), "ID"), strings.Join(missed, ", "))
	}
	return nil
}

// allDead returns the IDs of every dead letter.
func allDead(ctx context.Context, claims storage.Claims) (map[string]bool, error) {
	ids := map[string]bool{}
	for after := ""; ; {
		page, err := claims.DeadLetters(ctx, after, deadPage)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			ids[e.ID] = true
		}
		if len(page) < deadPage {
			return ids, nil
		}
		after = page[len(page)-1].ID
	}
}

// requeueAll requeues every dead letter and returns how many it moved.
func requeueAll(ctx context.Context, claims storage.Claims) (int, error) {
	dead, err := allDead(ctx, claims)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(dead))
	for id := range dead {
		ids = append(ids, id)
	}
	return engine.RequeueDead(ctx, claims, ids...)
}

// countDeadLetters counts the store's dead letters.
func countDeadLetters(ctx context.Context, claims storage.Claims) (int, error) {
	dead, err := allDead(ctx, claims)
	return len(dead), err
}

// deadLetterView is the readable form of a dead letter.
type deadLetterView struct {
	ID        string `json:"id"`
	Instance  string `json:"instance"`
	Workflow  string `json:"workflow,omitempty"`
	Kind      string `json:"kind"`                // the effect's kind, with its custom event type or statement
	Attempts  uint32 `json:"attempts"`            // failed attempts
	LastError string `json:"lastError"`           // why the last one failed
	Undecoded string `json:"undecoded,omitempty"` // why the effect's data does not decode as the engine's
}

func deadView(e storage.Effect) deadLetterView {
	v := deadLetterView{ID: e.ID, Instance: e.Instance, Attempts: e.Attempts, LastError: e.LastError}
	info, err := outbox.Decode(e)
	if err != nil {
		v.Kind, v.Undecoded = "?", err.Error()
		return v
	}
	v.Workflow, v.Kind = info.Workflow, engine.KindName(info.Kind)
	switch {
	case (info.Kind == interp.EffectSetup || info.Kind == interp.EffectTeardown) && info.Type != "":
		v.Kind += " " + info.Type
	case (info.Kind == interp.EffectRunActivity || info.Kind == interp.EffectCancelActivity) && info.Path != "":
		v.Kind += " " + info.Path
	}
	return v
}

// deadLetters prints the store's dead letters (of one instance, if
// instance is not empty), as a table or as JSON.
func (p *Program) deadLetters(ctx context.Context, st storage.Store, instance string, asJSON bool) error {
	views := []deadLetterView{}
	for after := ""; ; {
		page, err := st.DeadLetters(ctx, after, deadPage)
		if err != nil {
			return err
		}
		for _, e := range page {
			if instance == "" || e.Instance == instance {
				views = append(views, deadView(e))
			}
		}
		if len(page) < deadPage {
			break
		}
		after = page[len(page)-1].ID
	}
	if asJSON {
		return writeJSON(p.Stdout, views)
	}
	if len(views) == 0 {
		if instance != "" {
			_, err := fmt.Fprintf(p.Stdout, "no dead letters of %q\n", instance)
			return err
		}
		_, err := fmt.Fprintln(p.Stdout, "no dead letters")
		return err
	}
	tw := tabwriter.NewWriter(p.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tINSTANCE\tKIND\tATTEMPTS\tLAST ERROR")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", v.ID, v.Instance, v.Kind, v.Attempts, cell(v.LastError, 72))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(p.Stdout, "\n%s; put them back with '%s requeue ID...' or '%s requeue --all'\n",
		plural(len(views), "dead letter"), p.Name, p.Name)
	return err
}

// cell is s for a table cell: its first line, at most n runes, marked
// when cut.
func cell(s string, n int) string {
	cut := false
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s, cut = s[:i], true
	}
	if utf8.RuneCountInString(s) > n {
		s, cut = string([]rune(s)[:n]), true
	}
	if cut {
		s += "…"
	}
	return s
}
