package storagetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// model is the simplest possible store: the specification the state-machine
// test compares a real store against.
type model struct {
	instances map[string]storage.Instance // as Load should return them
	outbox    []storage.Effect            // pending, oldest first
}

// pendingID reports whether an effect with the given ID is in the outbox.
func (m *model) pendingID(id string) bool {
	return slices.ContainsFunc(m.outbox, func(e storage.Effect) bool { return e.ID == id })
}

// create returns the error Create must fail with (nil if it must succeed)
// and applies it to the model if it succeeds.
func (m *model) create(inst storage.Instance, effs []storage.Effect) error {
	if err := inst.Validate(); err != nil {
		return storage.ErrInvalid
	}
	if err := storage.ValidateEffects(inst.ID, effs); err != nil {
		return storage.ErrInvalid
	}
	if _, ok := m.instances[inst.ID]; ok {
		return storage.ErrExists
	}
	for _, e := range effs {
		if m.pendingID(e.ID) {
			return storage.ErrExists
		}
	}
	inst.Version = 1
	inst.Due = storage.NormalizeDue(inst.Due)
	m.instances[inst.ID] = inst
	m.outbox = append(m.outbox, effs...)
	return nil
}

// commit is like create, for Commit.
func (m *model) commit(c storage.Commit) error {
	if err := c.Validate(); err != nil {
		return storage.ErrInvalid
	}
	old, ok := m.instances[c.Instance.ID]
	if !ok {
		return storage.ErrNotFound
	}
	if old.Version != c.Expect {
		return storage.ErrConflict
	}
	for _, e := range c.Effects {
		if m.pendingID(e.ID) {
			return storage.ErrExists
		}
	}
	inst := c.Instance
	inst.Version = old.Version + 1
	inst.Due = storage.NormalizeDue(inst.Due)
	m.instances[inst.ID] = inst
	m.outbox = append(m.outbox, c.Effects...)
	return nil
}

func (m *model) ack(ids []string) {
	m.outbox = slices.DeleteFunc(m.outbox, func(e storage.Effect) bool { return slices.Contains(ids, e.ID) })
}

func (m *model) list(after string, limit int) []storage.Instance {
	var out []storage.Instance
	for _, inst := range m.instances {
		if inst.ID > after {
			out = append(out, inst)
		}
	}
	slices.SortFunc(out, func(a, b storage.Instance) int { return strings.Compare(a.ID, b.ID) })
	return out[:min(limit, len(out))]
}

func (m *model) due(before time.Time, limit int) []storage.Due {
	var out []storage.Due
	for _, inst := range m.instances {
		if !inst.Due.IsZero() && !inst.Due.After(before) {
			out = append(out, storage.Due{ID: inst.ID, At: inst.Due})
		}
	}
	slices.SortFunc(out, func(a, b storage.Due) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out[:min(limit, len(out))]
}

// Generators. Small pools of IDs make clashes (existing instances, pending
// effect IDs, ties in the due index) common.
var (
	genInstanceID = rapid.SampledFrom([]string{"a", "b", "c", "d", "a\x00", "é"})
	genEffectID   = rapid.SampledFrom([]string{"e0", "e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"})
	genAfter      = rapid.SampledFrom([]string{"", "a", "a\x00", "b", "bb", "c", "d", "é", "z"})
	genStatus     = rapid.SampledFrom([]string{"", "running", "waiting", "completed"})
	genData       = rapid.SliceOfN(rapid.Byte(), 0, 8)
	genLimit      = rapid.IntRange(1, 8)
	// Times a few seconds around base, some of them less than a microsecond
	// apart, so that truncation makes ties.
	genTime = rapid.Custom(func(t *rapid.T) time.Time {
		sec := rapid.IntRange(-1, 6).Draw(t, "sec")
		ns := rapid.SampledFrom([]int{0, 1, 999, 1000, 1500, 999_999}).Draw(t, "ns")
		return base.Add(time.Duration(sec)*time.Second + time.Duration(ns))
	})
	genDue = rapid.Custom(func(t *rapid.T) time.Time {
		if rapid.IntRange(0, 3).Draw(t, "zero") == 0 {
			return time.Time{}
		}
		return genTime.Draw(t, "due")
	})
)

func genInstance(t *rapid.T, id string) storage.Instance {
	return storage.Instance{
		ID:       id,
		Workflow: rapid.SampledFrom([]string{"", "w1", "w2"}).Draw(t, "workflow"),
		Version:  rapid.Uint64Range(0, 3).Draw(t, "version"), // ignored
		Status:   genStatus.Draw(t, "status"),
		Due:      genDue.Draw(t, "due"),
		Data:     genData.Draw(t, "data"),
	}
}

// genEffects draws up to three effects of instance; sometimes two share an ID.
func genEffects(t *rapid.T, instance string) []storage.Effect {
	ids := rapid.SliceOfN(genEffectID, 0, 3).Draw(t, "effects")
	effs := make([]storage.Effect, len(ids))
	for i, id := range ids {
		effs[i] = storage.Effect{ID: id, Instance: instance, Data: genData.Draw(t, "effect data")}
	}
	return effs
}

// testModel runs random sequences of operations against a store and the
// model, and compares every result and, after every step, the whole state.
func testModel(t *testing.T, open opener) {
	rapid.Check(t, func(rt *rapid.T) {
		s := open.open(t)
		rt.Cleanup(func() {
			if err := s.Close(); err != nil {
				rt.Errorf("Close: %v", err)
			}
		})
		ctx := context.Background()
		m := &model{instances: make(map[string]storage.Instance)}

		// checkErr compares an error with the model's verdict.
		checkErr := func(rt *rapid.T, op string, err, want error) {
			rt.Helper()
			switch {
			case want == nil && err != nil:
				rt.Fatalf("%s: unexpected error %v", op, err)
			case want != nil && !errors.Is(err, want):
				rt.Fatalf("%s: got error %v, want %v", op, err, want)
			}
		}

		actions := map[string]func(*rapid.T){
			"create": func(rt *rapid.T) {
				inst := genInstance(rt, genInstanceID.Draw(rt, "id"))
				effs := genEffects(rt, inst.ID)
				want := m.create(inst, effs)
				v, err := s.Create(ctx, inst, effs)
				checkErr(rt, "Create", err, want)
				if err == nil && v != 1 {
					rt.Fatalf("Create = version %d, want 1", v)
				}
			},
			"commit": func(rt *rapid.T) {
				inst := genInstance(rt, genInstanceID.Draw(rt, "id"))
				expect := rapid.Uint64Range(0, 4).Draw(rt, "expect")
				if cur, ok := m.instances[inst.ID]; ok && rapid.IntRange(0, 3).Draw(rt, "fresh") > 0 {
					expect = cur.Version // usually commit on top of the current version
				}
				c := storage.Commit{Instance: inst, Expect: expect, Effects: genEffects(rt, inst.ID)}
				want := m.commit(c)
				v, err := s.Commit(ctx, c)
				checkErr(rt, "Commit", err, want)
				if err == nil && v != expect+1 {
					rt.Fatalf("Commit = version %d, want %d", v, expect+1)
				}
			},
			"ack": func(rt *rapid.T) {
				ids := rapid.SliceOfN(genEffectID, 0, 4).Draw(rt, "ids")
				if len(m.outbox) > 0 && rapid.Bool().Draw(rt, "ack oldest") {
					ids = append(ids, m.outbox[0].ID)
				}
				m.ack(ids)
				if err := s.Ack(ctx, ids...); err != nil {
					rt.Fatalf("Ack(%q): %v", ids, err)
				}
			},
			"load": func(rt *rapid.T) {
				id := genInstanceID.Draw(rt, "id")
				got, err := s.Load(ctx, id)
				want, ok := m.instances[id]
				if !ok {
					checkErr(rt, "Load", err, storage.ErrNotFound)
					return
				}
				checkErr(rt, "Load", err, nil)
				if d := diff(want, got); d != "" {
					rt.Fatalf("Load(%q) (-want +got):\n%s", id, d)
				}
			},
			"outbox": func(rt *rapid.T) {
				limit := genLimit.Draw(rt, "limit")
				got := mustOutbox(rt, s, limit)
				if d := diff(m.outbox[:min(limit, len(m.outbox))], got); d != "" {
					rt.Fatalf("Outbox(%d) (-want +got):\n%s", limit, d)
				}
			},
			"due": func(rt *rapid.T) {
				before := genTime.Draw(rt, "before")
				limit := genLimit.Draw(rt, "limit")
				if d := diff(m.due(before, limit), mustDue(rt, s, before, limit)); d != "" {
					rt.Fatalf("due index: DueBefore(%v, %d) (-want +got):\n%s", before, limit, d)
				}
			},
			"list": func(rt *rapid.T) {
				after := genAfter.Draw(rt, "after")
				limit := genLimit.Draw(rt, "limit")
				if d := diff(m.list(after, limit), mustList(rt, s, after, limit)); d != "" {
					rt.Fatalf("List(%q, %d) (-want +got):\n%s", after, limit, d)
				}
			},
			"": func(rt *rapid.T) {
				want := state{
					Instances: m.list("", all),
					Outbox:    m.outbox,
					Due:       m.due(farFuture, all),
				}
				got := snapshot(rt, s)
				if d := diff(want.Due, got.Due); d != "" {
					rt.Fatalf("the due index and the model disagree (-model +store):\n%s", d)
				}
				if d := diff(want, got); d != "" {
					rt.Fatalf("store and model disagree (-model +store):\n%s", d)
				}
			},
		}
		if open.reopen != nil {
			// Close and reopen: the "" check that follows compares the
			// reopened store, due index included, with the model.
			actions["reopen"] = func(*rapid.T) { s = open.again(t, s) }
		}
		rt.Repeat(actions)
	})
}
