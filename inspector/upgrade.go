package inspector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/diagram"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/simulate"
	"github.com/weftflow/weft/storage"
)

// brokenShown is how many broken instances the upgrade page lists.
const brokenShown = 50

type upgradeData struct {
	Workflow   string
	Version    int   // today's
	Next       int   // the upgrade shown
	Versions   []int // the upgrades to pick from
	Summary    simulate.VerifySummary
	Short      bool // the census limit stopped the check: more instances are stored
	Read       int  // stored instances read by the check
	Broken     []simulate.InstanceReport
	Lost       []statusCount // path, instances that would lose it
	Current    template.HTML
	NextSVG    template.HTML
	PlanID     string
	PlanEvent  string
	PlanBody   string
	Plan       string
	PlanErr    string
	PlanEvents []string // the events the plan's instance waits for
}

func (h *handler) upgrade(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("workflow")
	if name == "" {
		h.fail(w, r, badRequest("which workflow? give ?workflow=NAME"))
		return
	}
	cur := h.definition(name, 0)
	if cur == nil {
		h.fail(w, r, notFound("no definition of workflow %q here", name))
		return
	}
	ups := h.upgradesOf(name)
	if len(ups) == 0 {
		h.fail(w, r, notFound("no upgrade of workflow %q is registered with this inspector (inspector.WithUpgrades)", name))
		return
	}
	d := upgradeData{Workflow: name, Version: cur.Version(), PlanID: q.Get("id"), PlanEvent: q.Get("event"), PlanBody: q.Get("payload")}
	var next *dsl.Definition
	for _, u := range ups {
		d.Versions = append(d.Versions, u.Version())
		if next == nil || u.Version() > next.Version() {
			next = u
		}
	}
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			h.fail(w, r, badRequest("version %q: want a number", v))
			return
		}
		next = nil
		for _, u := range ups {
			if u.Version() == n {
				next = u
			}
		}
		if next == nil {
			h.fail(w, r, notFound("no upgrade of workflow %q at version %d", name, n))
			return
		}
	}
	d.Next = next.Version()
	ctx := r.Context()
	lost := map[string]bool{}
	lostCount := map[string]int{}
	ls := &limitedStore{Store: h.e.Store(), left: h.cfg.census}
	sum, err := simulate.Verify(ctx, ls, next, simulate.VerifyOptions{}, func(rep simulate.InstanceReport) error {
		if rep.OK {
			return nil
		}
		if len(d.Broken) < brokenShown {
			d.Broken = append(d.Broken, rep)
		}
		if rep.Cause == simulate.CausePosition && rep.Path != "" {
			lost[rep.Path] = true
			lostCount[rep.Path]++
		}
		return nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Summary, d.Short, d.Read = sum, ls.short, h.cfg.census-ls.left
	for _, p := range slices.Sorted(maps.Keys(lostCount)) {
		d.Lost = append(d.Lost, statusCount{Status: p, Count: lostCount[p]})
	}
	c, err := h.census(ctx, name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	curSVG, err := h.svg(cur, diagram.Overlay{Counts: c.Parked[name], Lost: lost})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	nextSVG, err := h.svg(next, diagram.Overlay{Lost: lost, Link: func(string) string { return "" }})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Current, d.NextSVG = template.HTML(curSVG), template.HTML(nextSVG) // diagram.SVG escapes what it writes
	if d.PlanID != "" {
		h.plan(r, &d, cur, next)
	}
	h.render(w, http.StatusOK, "upgrade", page{Title: "Upgrade " + name, Data: d})
}

// limitedStore is a store whose List hands out at most left instances in
// all, so that simulate.Verify, which reads the store page by page, stops
// at the census limit.
type limitedStore struct {
	storage.Store
	left  int
	short bool
}

func (s *limitedStore) List(ctx context.Context, after string, limit int) ([]storage.Instance, error) {
	if s.left <= 0 {
		s.short = true
		return nil, nil
	}
	page, err := s.Store.List(ctx, after, min(limit, s.left))
	if len(page) == min(limit, s.left) && limit > s.left {
		s.short = true // the page was cut: there may be more
	}
	s.left -= len(page)
	return page, err
}

// plan fills in the plan of one event on one instance under today's
// definition and the upgrade, or why there is none.
func (h *handler) plan(r *http.Request, d *upgradeData, cur, next *dsl.Definition) {
	in, err := h.e.Get(r.Context(), d.PlanID)
	if err != nil {
		d.PlanErr = err.Error()
		return
	}
	if in.Workflow != d.Workflow {
		d.PlanErr = fmt.Sprintf("instance %q is of workflow %q", in.ID, in.Workflow)
		return
	}
	for _, th := range in.Meta.Threads {
		for _, p := range th.Waits {
			if p.Event != "" {
				d.PlanEvents = append(d.PlanEvents, p.Event)
			}
		}
	}
	if in.Meta.Status.Finished() {
		d.PlanErr = fmt.Sprintf("instance %q is %s: it takes no more events", in.ID, in.Meta.Status)
		return
	}
	if d.PlanEvent == "" {
		return
	}
	ev, err := planEvent(in.Meta, d.PlanEvent, d.PlanBody, h.cfg.now())
	if err != nil {
		d.PlanErr = err.Error()
		return
	}
	d.Plan = simulate.Plan(cur, next, in.State, in.Meta, ev).String()
}

// planEvent builds the event of a plan: "resume", "cancel", or the
// pending callback of the named event, with payload (JSON) for a custom
// event; a timer fires at its deadline, anything else now.
func planEvent(m interp.Meta, event, payload string, now time.Time) (interp.Event, error) {
	now = now.UTC().Truncate(time.Second)
	switch event {
	case "resume":
		return interp.Event{Kind: interp.EventResume, Time: m.Due}, nil
	case "cancel":
		return interp.Event{Kind: interp.EventCancel, Time: now}, nil
	}
	var names []string
	for _, th := range m.Threads {
		for _, p := range th.Waits {
			names = append(names, p.Event)
			if p.Event != event || event == "" {
				continue
			}
			ev := interp.Event{Kind: interp.EventCallback, Callback: p.Callback, Time: now}
			if p.Kind == interp.Timer {
				ev.Time = p.At
				return ev, nil
			}
			var v any
			if strings.TrimSpace(payload) != "" {
				dec := json.NewDecoder(bytes.NewReader([]byte(payload)))
				if err := dec.Decode(&v); err != nil {
					return ev, fmt.Errorf("the payload is not JSON: %w", err)
				}
			}
			b, err := codec.Marshal(v)
			if err != nil {
				return ev, err
			}
			ev.Payload = b
			return ev, nil
		}
	}
	return interp.Event{}, fmt.Errorf("instance %q waits for no event %q (it waits for: %s)", m.Instance, event, strings.Join(names, ", "))
}
