package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	dead      []storage.Effect            // dead letters, by ID
	leases    map[string]*modelLease      // by instance
	tombs     map[string]modelTomb        // deleted instances, by ID
}

// modelTomb is what Delete keeps of a deleted instance.
type modelTomb struct {
	version uint64
	data    []byte
}

// modelLease is an instance's last lease and whether it is current.
type modelLease struct {
	storage.Lease
	held bool
}

// pendingID reports whether an effect with the given ID is in the outbox
// or among the dead letters (where it still holds its ID).
func (m *model) pendingID(id string) bool {
	has := func(e storage.Effect) bool { return e.ID == id }
	return slices.ContainsFunc(m.outbox, has) || slices.ContainsFunc(m.dead, has)
}

// stored returns effects as the store keeps them: NotBefore normalized,
// retry state cleared (it is ignored on input).
func stored(effs []storage.Effect) []storage.Effect {
	out := make([]storage.Effect, len(effs))
	for i, e := range effs {
		e.NotBefore = storage.NormalizeDue(e.NotBefore)
		e.Attempts, e.LastError, e.Seq = 0, "", 0
		out[i] = e
	}
	return out
}

// current reports whether l is its instance's current lease.
func (m *model) current(l storage.Lease) bool {
	r := m.leases[l.Instance]
	return r != nil && r.held && r.Token == l.Token
}

// live reports whether the instance id holds a lease live at now.
func (m *model) live(id string, now time.Time) bool {
	r := m.leases[id]
	return r != nil && r.held && r.Expires.After(now)
}

// workAt returns when the instance id's work began, if it has work at now.
func (m *model) workAt(id string, now time.Time) (time.Time, bool) {
	var first time.Time
	found := false
	note := func(t time.Time) {
		if !t.After(now) && (!found || t.Before(first)) {
			first, found = t, true
		}
	}
	if d := m.instances[id].Due; !d.IsZero() {
		note(d)
	}
	for _, e := range m.outbox {
		if e.Instance == id {
			note(e.NotBefore)
		}
	}
	return first, found
}

// claimable returns the instances Claim at now must lease, in order.
func (m *model) claimable(now time.Time, limit int) []string {
	type work struct {
		id string
		at time.Time
	}
	var ws []work
	for id := range m.instances {
		if at, ok := m.workAt(id, now); ok && !m.live(id, now) {
			ws = append(ws, work{id, at})
		}
	}
	slices.SortFunc(ws, func(a, b work) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	out := make([]string, 0, len(ws))
	for _, w := range ws[:min(limit, len(ws))] {
		out = append(out, w.id)
	}
	return out
}

// nextWork is NextWork's answer.
func (m *model) nextWork(now time.Time) time.Time {
	var best time.Time
	for id := range m.instances {
		at, ok := m.workAt(id, farFuture.AddDate(1, 0, 0))
		if !ok {
			continue
		}
		if r := m.leases[id]; r != nil && r.held && r.Expires.After(now) && r.Expires.After(at) {
			at = r.Expires
		}
		if !at.After(now) {
			at = now
		}
		if best.IsZero() || at.Before(best) {
			best = at
		}
	}
	return best
}

// grant records a lease the store issued, checking that its token grew.
func (m *model) grant(l storage.Lease) error {
	r := m.leases[l.Instance]
	if r != nil && l.Token <= r.Token {
		return fmt.Errorf("lease of %q has token %d, not more than the earlier %d", l.Instance, l.Token, r.Token)
	}
	m.leases[l.Instance] = &modelLease{Lease: l, held: true}
	return nil
}

// effectOf returns the index in the outbox of the effect id of instance.
func (m *model) effectOf(instance, id string) int {
	return slices.IndexFunc(m.outbox, func(e storage.Effect) bool { return e.ID == id && e.Instance == instance })
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
	version := uint64(1)
	if t, ok := m.tombs[inst.ID]; ok {
		if inst.Version != t.version {
			return storage.ErrDeleted
		}
		version = t.version + 1
	}
	for _, e := range effs {
		if m.pendingID(e.ID) {
			return storage.ErrExists
		}
	}
	inst.Version = version
	inst.Due = storage.NormalizeDue(inst.Due)
	m.instances[inst.ID] = inst
	m.outbox = append(m.outbox, stored(effs)...)
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
	if c.Lease != nil && !m.current(*c.Lease) {
		return storage.ErrFenced
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
	m.outbox = append(m.outbox, stored(c.Effects)...)
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

// genEffects draws up to three effects of instance; sometimes two share an
// ID, some have a NotBefore, and some carry retry state the store must
// ignore.
func genEffects(t *rapid.T, instance string) []storage.Effect {
	ids := rapid.SliceOfN(genEffectID, 0, 3).Draw(t, "effects")
	effs := make([]storage.Effect, len(ids))
	for i, id := range ids {
		effs[i] = storage.Effect{ID: id, Instance: instance, Data: genData.Draw(t, "effect data")}
		if rapid.IntRange(0, 3).Draw(t, "not before") == 0 {
			effs[i].NotBefore = genTime.Draw(t, "not before")
		}
		if rapid.IntRange(0, 7).Draw(t, "junk") == 0 {
			effs[i].Attempts, effs[i].LastError, effs[i].Seq = 3, "ignored", 99
		}
	}
	return effs
}

// genRetry draws a retry state.
func genRetry(t *rapid.T) storage.RetryState {
	return storage.RetryState{
		Attempts:  rapid.Uint32Range(0, 5).Draw(t, "attempts"),
		NotBefore: genDue.Draw(t, "not before"),
		LastError: rapid.SampledFrom([]string{"", "timeout", "refused"}).Draw(t, "last error"),
	}
}

// testModel runs random sequences of operations against a store and the
// model, and compares every result and, after every step, the whole state.
func testModel(t *testing.T, open opener) {
	rapid.Check(t, func(rt *rapid.T) {
		s := open.forCheck(t, rt)
		ctx := context.Background()
		m := &model{instances: make(map[string]storage.Instance), leases: make(map[string]*modelLease), tombs: make(map[string]modelTomb)}
		// now is the claimers' clock: it moves forward by steps that make
		// leases expire and effects become ready. issued is every lease
		// the store handed out, current or stale, for fenced calls.
		now := base.Add(-2 * time.Second)
		var issued []storage.Lease
		genLease := func(rt *rapid.T) storage.Lease {
			if len(issued) == 0 || rapid.IntRange(0, 9).Draw(rt, "unknown lease") == 0 {
				return storage.Lease{Instance: genInstanceID.Draw(rt, "lease instance"), Token: rapid.Uint64Range(1, 3).Draw(rt, "token")}
			}
			return rapid.SampledFrom(issued).Draw(rt, "lease")
		}
		genTTL := rapid.SampledFrom([]time.Duration{time.Microsecond, 500 * time.Millisecond, time.Second, 3 * time.Second})

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
				if t, ok := m.tombs[inst.ID]; ok && rapid.IntRange(0, 3).Draw(rt, "name the tombstone") > 0 {
					inst.Version = t.version // usually as a host does once told of it
				}
				effs := genEffects(rt, inst.ID)
				tomb := m.tombs[inst.ID] // (before create, which may replace it)
				want := m.create(inst, effs)
				v, err := s.Create(ctx, inst, effs)
				checkErr(rt, "Create", err, want)
				if err == nil && v != m.instances[inst.ID].Version {
					rt.Fatalf("Create = version %d, want %d", v, m.instances[inst.ID].Version)
				}
				var de *storage.DeletedError
				if errors.Is(want, storage.ErrDeleted) && (!errors.As(err, &de) || de.ID != inst.ID || de.Version != tomb.version || !bytes.Equal(de.Tombstone, tomb.data)) {
					rt.Fatalf("Create over a tombstone: error %v (%+v), want a *DeletedError of %q at version %d with tombstone %q", err, de, inst.ID, tomb.version, tomb.data)
				}
			},
			"commit": func(rt *rapid.T) {
				inst := genInstance(rt, genInstanceID.Draw(rt, "id"))
				expect := rapid.Uint64Range(0, 4).Draw(rt, "expect")
				if cur, ok := m.instances[inst.ID]; ok && rapid.IntRange(0, 3).Draw(rt, "fresh") > 0 {
					expect = cur.Version // usually commit on top of the current version
				}
				c := storage.Commit{Instance: inst, Expect: expect, Effects: genEffects(rt, inst.ID)}
				if !storeClock(s) && rapid.Bool().Draw(rt, "fenced") {
					l := genLease(rt)
					l.Instance = inst.ID
					c.Lease = &l
				}
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
					Instances:   m.list("", all),
					Outbox:      m.outbox,
					Due:         m.due(farFuture, all),
					DeadLetters: m.dead,
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
		addListingActions(actions, &s, m, checkErr)
		if !storeClock(s) {
			addClaimActions(actions, &s, m, &now, &issued, genLease, genTTL, checkErr)
		}
		if open.reopen != nil {
			// Close and reopen: the "" check that follows compares the
			// reopened store, due index included, with the model.
			actions["reopen"] = func(*rapid.T) { s = open.again(t, s) }
		}
		rt.Repeat(actions)
	})
}

// addClaimActions adds the claims operations to the state-machine test.
// They set the time, so stores with their own clock skip them.
func addClaimActions(actions map[string]func(*rapid.T), sp *storage.Store, m *model, now *time.Time,
	issued *[]storage.Lease, genLease func(*rapid.T) storage.Lease, genTTL *rapid.Generator[time.Duration],
	checkErr func(*rapid.T, string, error, error)) {
	ctx := context.Background()
	st := func() storage.Store { return *sp } // reopening replaces the store
	actions["tick"] = func(rt *rapid.T) {
		*now = now.Add(rapid.SampledFrom([]time.Duration{0, time.Microsecond, 499 * time.Millisecond, time.Second, 2 * time.Second}).Draw(rt, "tick"))
	}
	actions["claim"] = func(rt *rapid.T) {
		req := storage.ClaimRequest{Owner: "p", Now: *now, TTL: genTTL.Draw(rt, "ttl"), Limit: genLimit.Draw(rt, "limit")}
		want := m.claimable(*now, req.Limit)
		got, err := st().Claim(ctx, req)
		if err != nil {
			rt.Fatalf("Claim: %v", err)
		}
		if d := diff(want, leased(got)); d != "" {
			rt.Fatalf("Claim at %v (-want +got):\n%s", *now, d)
		}
		for _, l := range got {
			if !l.Expires.Equal(storage.NormalizeDue(now.Add(req.TTL))) || l.Owner != req.Owner {
				rt.Fatalf("Claim returned %+v, want expiry %v", l, storage.NormalizeDue(now.Add(req.TTL)))
			}
			if err := m.grant(l); err != nil {
				rt.Fatalf("Claim: %v", err)
			}
			*issued = append(*issued, l)
		}
	}
	actions["acquire"] = func(rt *rapid.T) {
		id := genInstanceID.Draw(rt, "id")
		req := storage.ClaimRequest{Owner: "q", Now: *now, TTL: genTTL.Draw(rt, "ttl")}
		l, err := st().Acquire(ctx, id, req)
		switch _, ok := m.instances[id]; {
		case !ok:
			checkErr(rt, "Acquire", err, storage.ErrNotFound)
		case m.live(id, *now):
			checkErr(rt, "Acquire", err, storage.ErrLeased)
		default:
			checkErr(rt, "Acquire", err, nil)
			if l.Instance != id || !l.Expires.Equal(storage.NormalizeDue(now.Add(req.TTL))) {
				rt.Fatalf("Acquire(%q) = %+v", id, l)
			}
			if err := m.grant(l); err != nil {
				rt.Fatalf("Acquire: %v", err)
			}
			*issued = append(*issued, l)
		}
	}
	actions["renew"] = func(rt *rapid.T) {
		l := genLease(rt)
		ttl := genTTL.Draw(rt, "ttl")
		got, err := st().Renew(ctx, l, *now, ttl)
		if !m.current(l) || !m.live(l.Instance, *now) {
			checkErr(rt, "Renew", err, storage.ErrFenced)
			return
		}
		checkErr(rt, "Renew", err, nil)
		r := m.leases[l.Instance]
		r.Expires = storage.NormalizeDue(now.Add(ttl))
		if got.Token != l.Token || !got.Expires.Equal(r.Expires) {
			rt.Fatalf("Renew = %+v, want token %d until %v", got, l.Token, r.Expires)
		}
	}
	actions["release"] = func(rt *rapid.T) {
		l := genLease(rt)
		err := st().Release(ctx, l)
		if !m.current(l) {
			checkErr(rt, "Release", err, storage.ErrFenced)
			return
		}
		checkErr(rt, "Release", err, nil)
		m.leases[l.Instance].held = false
	}
	actions["pending"] = func(rt *rapid.T) {
		l := genLease(rt)
		limit := genLimit.Draw(rt, "limit")
		got, err := st().Pending(ctx, l, limit)
		if !m.current(l) {
			checkErr(rt, "Pending", err, storage.ErrFenced)
			return
		}
		checkErr(rt, "Pending", err, nil)
		var want []storage.Effect
		for _, e := range m.outbox {
			if e.Instance == l.Instance && len(want) < limit {
				want = append(want, e)
			}
		}
		if d := diff(want, got); d != "" {
			rt.Fatalf("Pending(%q, %d) (-want +got):\n%s", l.Instance, limit, d)
		}
	}
	actions["ack leased"] = func(rt *rapid.T) {
		l := genLease(rt)
		ids := rapid.SliceOfN(genEffectID, 0, 3).Draw(rt, "ids")
		err := st().AckLeased(ctx, l, ids...)
		if !m.current(l) {
			checkErr(rt, "AckLeased", err, storage.ErrFenced)
			return
		}
		checkErr(rt, "AckLeased", err, nil)
		m.outbox = slices.DeleteFunc(m.outbox, func(e storage.Effect) bool {
			return e.Instance == l.Instance && slices.Contains(ids, e.ID)
		})
	}
	retryOrDead := func(dead bool) func(*rapid.T) {
		return func(rt *rapid.T) {
			l := genLease(rt)
			id := genEffectID.Draw(rt, "id")
			r := genRetry(rt)
			var err error
			if dead {
				err = st().DeadLetter(ctx, l, id, r)
			} else {
				err = st().Retry(ctx, l, id, r)
			}
			i := m.effectOf(l.Instance, id)
			switch {
			case !m.current(l):
				checkErr(rt, "Retry/DeadLetter", err, storage.ErrFenced)
				return
			case i < 0:
				checkErr(rt, "Retry/DeadLetter", err, storage.ErrNotFound)
				return
			}
			checkErr(rt, "Retry/DeadLetter", err, nil)
			e := &m.outbox[i]
			e.Attempts, e.NotBefore, e.LastError = r.Attempts, storage.NormalizeDue(r.NotBefore), r.LastError
			if dead {
				m.dead = append(m.dead, *e)
				slices.SortFunc(m.dead, func(a, b storage.Effect) int { return strings.Compare(a.ID, b.ID) })
				m.outbox = slices.Delete(m.outbox, i, i+1)
			}
		}
	}
	actions["retry"] = retryOrDead(false)
	actions["dead letter"] = retryOrDead(true)
	actions["requeue"] = func(rt *rapid.T) {
		ids := rapid.SliceOfN(genEffectID, 0, 3).Draw(rt, "ids")
		want := 0
		for _, id := range ids {
			i := slices.IndexFunc(m.dead, func(e storage.Effect) bool { return e.ID == id })
			if i < 0 {
				continue
			}
			e := m.dead[i]
			e.Attempts, e.NotBefore = 0, time.Time{}
			m.outbox = append(m.outbox, e)
			m.dead = slices.Delete(m.dead, i, i+1)
			want++
		}
		n, err := st().Requeue(ctx, ids...)
		if err != nil || n != want {
			rt.Fatalf("Requeue(%q) = %d, %v, want %d", ids, n, err, want)
		}
	}
	actions["dead letters"] = func(rt *rapid.T) {
		after := rapid.SampledFrom([]string{"", "e1", "e5", "e9"}).Draw(rt, "after")
		limit := genLimit.Draw(rt, "limit")
		var want []storage.Effect
		for _, e := range m.dead {
			if e.ID > after && len(want) < limit {
				want = append(want, e)
			}
		}
		if d := diff(want, mustDeadLetters(rt, st(), after, limit)); d != "" {
			rt.Fatalf("DeadLetters(%q, %d) (-want +got):\n%s", after, limit, d)
		}
	}
	actions["next work"] = func(rt *rapid.T) {
		if got, want := mustNextWork(rt, st(), *now), m.nextWork(*now); !got.Equal(want) {
			rt.Fatalf("NextWork(%v) = %v, want %v", *now, got, want)
		}
	}
}
