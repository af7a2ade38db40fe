package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/journal"
)

// history prints instance id's journal: a line per entry in plain words,
// or with asJSON one JSON document with every entry (payloads as JSON).
func (p *Program) history(ctx context.Context, e *engine.Engine, id string, asJSON bool) error {
	if _, err := e.Get(ctx, id); err != nil {
		return err
	}
	var entries []journal.Entry
	for from := uint64(0); ; {
		page, err := e.History(ctx, id, from, 1000)
		if err != nil {
			return err
		}
		entries = append(entries, page...)
		if len(page) < 1000 {
			break
		}
		from = page[len(page)-1].Seq + 1
	}
	if asJSON {
		views := make([]historyView, 0, len(entries))
		for _, en := range entries {
			v := historyView{Entry: en, Time: en.At.Format("2006-01-02T15:04:05.000000Z07:00")}
			if en.Event.Payload != nil {
				if pv, err := decodeAny(en.Event.Payload); err == nil {
					v.Payload = pv
				}
			}
			views = append(views, v)
		}
		return writeJSON(p.Stdout, views)
	}
	if len(entries) == 0 {
		_, err := fmt.Fprintf(p.Stdout, "%s: no journal (its workflow keeps none, see engine.WithJournal)\n", id)
		return err
	}
	var b strings.Builder
	if entries[0].Seq > 1 {
		fmt.Fprintf(&b, "(entries before #%d were trimmed by the journal's bounds)\n", entries[0].Seq)
	}
	for _, en := range entries {
		b.WriteString(en.String())
		b.WriteByte('\n')
	}
	_, err := fmt.Fprint(p.Stdout, b.String())
	return err
}

// historyView is an entry as `inspect --history --json` prints it.
type historyView struct {
	journal.Entry
	Time    string `json:"time"`
	Payload any    `json:"payload,omitempty"`
}
