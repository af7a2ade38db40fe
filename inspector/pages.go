package inspector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/weftflow/weft/diagram"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// statuses in the order pages show them.
var statuses = []string{"running", "canceling", "completed", "failed", "canceled"}

// maxPath bounds a statement path given in a query.
const maxPath = 4096

// deadShown is how many dead letters the overview lists.
const deadShown = 20

// outboxScan is how many outbox entries the instance page reads to find
// the instance's own.
const outboxScan = 1000

// row is an instance as the lists show it.
type row struct {
	ID       string
	Workflow string
	Status   string
	Threads  []string // "main@cart/shopping"
	Due      *when
	Failure  string
}

func (h *handler) row(in engine.Instance) row {
	r := row{ID: in.ID, Workflow: in.Workflow, Status: in.Meta.Status.String(), Due: h.when(in.Meta.Due)}
	for _, th := range in.Meta.Threads {
		r.Threads = append(r.Threads, th.ID+" @ "+pathName(th.Path))
	}
	if f := in.Meta.Failure; f != nil {
		r.Failure = f.Message
		if f.Path != "" {
			r.Failure = f.Path + ": " + f.Message
		}
	}
	return r
}

func pathName(p string) string {
	if p == "" {
		return "(start)"
	}
	return p
}

type workflowCounts struct {
	Name     string
	Known    bool
	Version  int
	Total    int
	Statuses []statusCount
	Upgrades []int
}

type statusCount struct {
	Status string
	Count  int
}

type deadRow struct {
	ID        string
	Instance  string
	Kind      string
	Attempts  uint32
	LastError string
}

func deadRowOf(e storage.Effect) deadRow {
	d := deadRow{ID: e.ID, Instance: e.Instance, Attempts: e.Attempts, LastError: e.LastError}
	info, err := outbox.Decode(e)
	if err != nil {
		d.Kind = "? (" + err.Error() + ")"
		return d
	}
	d.Kind = engine.KindName(info.Kind)
	switch {
	case info.Type != "":
		d.Kind += " " + info.Type
	case info.Path != "":
		d.Kind += " " + info.Path
	}
	return d
}

type overviewData struct {
	Workflows []workflowCounts
	Census    *census
	Due       []row
	Failures  []row
	Dead      []deadRow
	DeadMore  bool
}

func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := h.census(ctx, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := overviewData{Census: c}
	names := map[string]bool{}
	for _, def := range h.e.Definitions() {
		names[def.Name()] = true
	}
	for n := range c.Status {
		names[n] = true
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		wc := workflowCounts{Name: n}
		if def := h.definition(n, 0); def != nil {
			wc.Known, wc.Version = true, def.Version()
		}
		for _, u := range h.upgradesOf(n) {
			wc.Upgrades = append(wc.Upgrades, u.Version())
		}
		for _, s := range statuses {
			k := c.Status[n][s]
			wc.Total += k
			wc.Statuses = append(wc.Statuses, statusCount{s, k})
		}
		d.Workflows = append(d.Workflows, wc)
	}
	for _, in := range c.Due {
		d.Due = append(d.Due, h.row(in))
	}
	for _, in := range c.Failures {
		d.Failures = append(d.Failures, h.row(in))
	}
	dead, err := h.e.Store().DeadLetters(ctx, "", deadShown+1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(dead) > deadShown {
		dead, d.DeadMore = dead[:deadShown], true
	}
	for _, e := range dead {
		d.Dead = append(d.Dead, deadRowOf(e))
	}
	h.render(w, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Notice: r.URL.Query().Get("done"), Data: d})
}

type instancesData struct {
	Filter    filter
	After     string
	Rows      []row
	Found     found
	Workflows []string
	Statuses  []string
	NextLink  string
	FirstLink string
}

func (h *handler) instances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := filter{Workflow: q.Get("workflow"), Status: q.Get("status"), Prefix: q.Get("prefix"), At: q.Get("at")}
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		h.fail(w, r, badRequest("unknown status %q: want one of %s", f.Status, strings.Join(statuses, ", ")))
		return
	}
	if len(f.Prefix) > storage.MaxIDLen || len(f.At) > maxPath || len(q.Get("after")) > storage.MaxIDLen {
		h.fail(w, r, badRequest("an instance ID is at most %d bytes", storage.MaxIDLen))
		return
	}
	after := q.Get("after")
	res, err := listPage(r.Context(), h.e, f, after, h.cfg.pageSize, h.cfg.scanBudget)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := instancesData{Filter: f, After: after, Found: res, Statuses: statuses}
	for _, def := range h.e.Definitions() {
		d.Workflows = append(d.Workflows, def.Name())
	}
	if f.Workflow != "" && !slices.Contains(d.Workflows, f.Workflow) {
		d.Workflows = append(d.Workflows, f.Workflow)
	}
	for _, in := range res.Instances {
		d.Rows = append(d.Rows, h.row(in))
	}
	if res.Next != "" {
		d.NextLink = query("instances", "workflow", f.Workflow, "status", f.Status, "prefix", f.Prefix, "at", f.At, "after", res.Next)
	}
	if after != "" {
		d.FirstLink = query("instances", "workflow", f.Workflow, "status", f.Status, "prefix", f.Prefix, "at", f.At)
	}
	h.render(w, http.StatusOK, "instances", page{Title: "Instances", Nav: "instances", Data: d})
}

type threadRow struct {
	ID      string
	Path    string
	Phase   string
	Attempt uint32
	RetryAt *when
}

type waitRow struct {
	Thread   string
	Path     string
	Event    string
	Kind     string
	Type     string
	Callback uint64
	At       *when
	Attempt  uint32
	Setup    bool
	Payload  string // for a custom event: its payload type, as JSON of its zero value
	PayType  string
	Fields   []payloadField // the payload's form, when it has plain fields (else JSON)
}

type effectRow struct {
	ID        string
	Kind      string
	Attempts  uint32
	LastError string
	Ready     *when
}

type instanceData struct {
	ID          string
	Workflow    string
	Known       bool
	Status      string
	Finished    bool
	Version     uint64
	DefVersion  uint32
	Seq         uint64
	Started     *when
	Due         *when
	StateType   string
	State       *node
	StateErr    string
	OutputErr   string
	Output      *node
	Threads     []threadRow
	Waits       []waitRow
	Failure     *interp.Failure
	Migrated    []uint32
	Outbox      []effectRow
	OutboxShort bool
	Dead        []deadRow
	Journal     []string
	JournalErr  string
	Diagram     template.HTML
	Upgrades    []int
}

func (h *handler) instance(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.URL.Query().Get("id")
	if id == "" {
		h.fail(w, r, badRequest("which instance? give ?id=ID"))
		return
	}
	if len(id) > storage.MaxIDLen {
		h.fail(w, r, badRequest("an instance ID is at most %d bytes", storage.MaxIDLen))
		return
	}
	in, err := h.e.Get(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m := in.Meta
	d := instanceData{ID: in.ID, Workflow: in.Workflow, Status: m.Status.String(), Finished: m.Status.Finished(),
		Version: in.Version, DefVersion: max(m.Version, 1), Seq: m.Seq, Started: h.when(m.Started), Due: h.when(m.Due),
		Failure: m.Failure, Migrated: m.Migrated}
	def := h.definition(in.Workflow, 0)
	d.Known = def != nil
	for _, u := range h.upgradesOf(in.Workflow) {
		d.Upgrades = append(d.Upgrades, u.Version())
	}
	if d.State, d.StateType, err = h.decodeState(in); err != nil {
		d.StateErr = err.Error()
	}
	if d.Output, err = decodeOutput(in); err != nil {
		d.OutputErr = err.Error()
	}
	for _, th := range m.Threads {
		t := threadRow{ID: th.ID, Path: th.Path, Phase: th.Phase.String(), Attempt: th.Attempt}
		if th.Phase == interp.PhaseRetry {
			t.RetryAt = h.when(th.At)
		}
		d.Threads = append(d.Threads, t)
		for _, p := range th.Waits {
			wr := waitRow{Thread: th.ID, Path: th.Path, Event: p.Event, Kind: p.Kind.String(), Type: p.Type,
				Callback: p.Callback, At: h.when(p.At), Attempt: p.Attempt, Setup: p.Setup}
			if p.Kind == interp.Custom {
				if pt := payloadType(def, th.Path, p.Event); pt != nil {
					wr.PayType, wr.Payload, wr.Fields = pt.String(), zeroJSON(pt), formFields(pt)
				}
			}
			d.Waits = append(d.Waits, wr)
		}
	}
	if d.Outbox, d.OutboxShort, err = h.outboxOf(ctx, id); err != nil {
		h.fail(w, r, err)
		return
	}
	if d.Dead, err = h.deadOf(ctx, id); err != nil {
		h.fail(w, r, err)
		return
	}
	entries, err := h.e.History(ctx, id, 0, 500)
	if err != nil {
		d.JournalErr = err.Error()
	}
	for _, en := range entries {
		d.Journal = append(d.Journal, en.String())
	}
	if def := h.definition(in.Workflow, int(d.DefVersion)); def != nil {
		hl := map[string]bool{}
		for _, th := range m.Threads {
			hl[th.Path] = true
		}
		if m.Failure != nil && m.Failure.Path != "" {
			hl[m.Failure.Path] = true
		}
		svg, err := h.svg(def, diagram.Overlay{Highlight: hl})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		d.Diagram = template.HTML(svg) // diagram.SVG escapes what it writes
	}
	h.render(w, http.StatusOK, "instance", page{Title: "Instance " + id, Notice: r.URL.Query().Get("done"), Data: d})
}

// payloadType returns the payload type of the custom event named event of
// the wait at path, or nil.
func payloadType(def *dsl.Definition, path, event string) reflect.Type {
	if def == nil {
		return nil
	}
	n, _ := def.Lookup(path)
	for _, on := range n.Arms() {
		if on.Name() == event {
			return on.Payload()
		}
	}
	return nil
}

// zeroJSON is the JSON of t's zero value: what a payload looks like, to
// start the form from.
func zeroJSON(t reflect.Type) string {
	b, err := json.MarshalIndent(reflect.New(t).Interface(), "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

func (h *handler) outboxOf(ctx context.Context, id string) ([]effectRow, bool, error) {
	all, err := h.e.Store().Outbox(ctx, outboxScan)
	if err != nil {
		return nil, false, err
	}
	var out []effectRow
	for _, e := range all {
		if e.Instance != id {
			continue
		}
		er := effectRow{ID: e.ID, Attempts: e.Attempts, LastError: e.LastError}
		er.Ready = h.when(e.NotBefore)
		dr := deadRowOf(e)
		er.Kind = dr.Kind
		out = append(out, er)
	}
	return out, len(all) == outboxScan, nil
}

func (h *handler) deadOf(ctx context.Context, id string) ([]deadRow, error) {
	var out []deadRow
	prefix := id + "/" // effect IDs are "instance/seq/index"
	for after := prefix; ; {
		page, err := h.e.Store().DeadLetters(ctx, after, 100)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if !strings.HasPrefix(e.ID, prefix) {
				return out, nil
			}
			if e.Instance == id {
				out = append(out, deadRowOf(e))
			}
		}
		if len(page) < 100 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// svg draws def with o, each statement linked to the instances parked
// there.
func (h *handler) svg(def *dsl.Definition, o diagram.Overlay) (string, error) {
	if o.Link == nil {
		name := def.Name()
		o.Link = func(path string) string { return query("instances", "workflow", name, "at", path) }
	}
	var b bytes.Buffer
	if err := diagram.SVG(&b, def, o); err != nil {
		return "", err
	}
	return b.String(), nil
}

type diagramData struct {
	Workflow  string
	Version   int
	Highlight string
	Threads   []threadRow
	SVG       template.HTML
	Census    *census
	Parked    []statusCount // path, count
}

func (h *handler) diagramPage(w http.ResponseWriter, r *http.Request) {
	d, err := h.diagramOf(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "diagram", page{Title: "Workflow " + d.Workflow, Nav: "diagram", Data: d})
}

// diagramSVG serves the diagram alone, as an SVG file.
func (h *handler) diagramSVG(w http.ResponseWriter, r *http.Request) {
	d, err := h.diagramOf(r)
	if err != nil {
		http.Error(w, err.Error(), statusOf(err))
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write([]byte(d.SVG))
}

func (h *handler) diagramOf(r *http.Request) (*diagramData, error) {
	q := r.URL.Query()
	name := q.Get("workflow")
	version := 0
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, badRequest("version %q: want a positive number", v)
		}
		version = n
	}
	d := &diagramData{Workflow: name, Highlight: q.Get("highlight")}
	hl := map[string]bool{}
	if d.Highlight != "" {
		in, err := h.e.Get(r.Context(), d.Highlight)
		if err != nil {
			return nil, err
		}
		if name == "" {
			name, d.Workflow = in.Workflow, in.Workflow
		}
		if in.Workflow != name {
			return nil, badRequest("instance %q is of workflow %q, not %q", in.ID, in.Workflow, name)
		}
		if version == 0 {
			version = int(max(in.Meta.Version, 1))
		}
		for _, th := range in.Meta.Threads {
			hl[th.Path] = true
			d.Threads = append(d.Threads, threadRow{ID: th.ID, Path: th.Path, Phase: th.Phase.String()})
		}
	}
	if name == "" {
		return nil, badRequest("which workflow? give ?workflow=NAME")
	}
	def := h.definition(name, version)
	if def == nil {
		return nil, notFound("no definition of workflow %q%s here", name, versionText(version))
	}
	c, err := h.census(r.Context(), name)
	if err != nil {
		return nil, err
	}
	d.Census, d.Version = c, def.Version()
	parked := c.Parked[name]
	for _, p := range slices.Sorted(maps.Keys(parked)) {
		d.Parked = append(d.Parked, statusCount{Status: p, Count: parked[p]})
	}
	svg, err := h.svg(def, diagram.Overlay{Counts: parked, Highlight: hl})
	if err != nil {
		return nil, err
	}
	d.SVG = template.HTML(svg) // diagram.SVG escapes every name it writes
	return d, nil
}

func versionText(v int) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf(" at version %d", v)
}
