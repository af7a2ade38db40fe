package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weftflow/weft/storage"
)

// tb is what the helpers need from *testing.T and *rapid.T.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// all is a limit larger than anything a test stores.
const all = 1 << 20

var (
	// base is the time the tests count from.
	base = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)
	// farFuture is later than any Due a test sets.
	farFuture = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)
)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// opts compares stored values: nil and empty byte slices are equivalent, and
// times compare with time.Time.Equal (cmp's default for types with Equal).
// Effect.Seq is assigned by the store and only has to grow, so it is left
// out of comparisons and checked on its own (see checkSeq).
var opts = cmp.Options{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(storage.Effect{}, "Seq")}

// checkSeq fails t unless the effects, read in outbox order, have growing,
// non-zero Seq.
func checkSeq(t tb, op string, effs []storage.Effect) {
	t.Helper()
	prev := uint64(0)
	for _, e := range effs {
		if e.Seq <= prev {
			t.Fatalf("%s: effect %q has Seq %d after %d: Seq must be positive and grow in outbox order", op, e.ID, e.Seq, prev)
		}
		prev = e.Seq
	}
}

// diff returns a cmp.Diff of want and got, "(-want +got)".
func diff(want, got any) string { return cmp.Diff(want, got, opts) }

// effects returns effects of instance with the given IDs, each with Data
// "data:" + ID.
func effects(instance string, ids ...string) []storage.Effect {
	out := make([]storage.Effect, len(ids))
	for i, id := range ids {
		out[i] = storage.Effect{ID: id, Instance: instance, Data: []byte("data:" + id)}
	}
	return out
}

// wantErr fails t unless err wraps target and, when mention is non-empty,
// its message contains mention.
func wantErr(t tb, op string, err, target error, mention string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: got no error, want %v", op, target)
	case !errors.Is(err, target):
		t.Errorf("%s: got error %q, want one wrapping %q", op, err, target)
	case mention != "" && !strings.Contains(err.Error(), mention):
		t.Errorf("%s: error %q does not name %q", op, err, mention)
	}
}

func mustCreate(t tb, s storage.Store, inst storage.Instance, effs ...storage.Effect) {
	t.Helper()
	v, err := s.Create(context.Background(), inst, effs)
	if err != nil {
		t.Fatalf("Create(%q): %v", inst.ID, err)
	}
	if v != 1 {
		t.Fatalf("Create(%q) = version %d, want 1", inst.ID, v)
	}
}

func mustLoad(t tb, s storage.Store, id string) storage.Instance {
	t.Helper()
	inst, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load(%q): %v", id, err)
	}
	return inst
}

// mustCommit commits inst with the given effects on top of version expect
// and checks the new version.
func mustCommit(t tb, s storage.Store, expect uint64, inst storage.Instance, effs ...storage.Effect) {
	t.Helper()
	v, err := s.Commit(context.Background(), storage.Commit{Instance: inst, Expect: expect, Effects: effs})
	if err != nil {
		t.Fatalf("Commit(%q, expect %d): %v", inst.ID, expect, err)
	}
	if v != expect+1 {
		t.Fatalf("Commit(%q, expect %d) = version %d, want %d", inst.ID, expect, v, expect+1)
	}
}

func mustOutbox(t tb, s storage.Store, limit int) []storage.Effect {
	t.Helper()
	got, err := s.Outbox(context.Background(), limit)
	if err != nil {
		t.Fatalf("Outbox(%d): %v", limit, err)
	}
	checkSeq(t, "Outbox", got)
	return got
}

func mustAck(t tb, s storage.Store, ids ...string) {
	t.Helper()
	if err := s.Ack(context.Background(), ids...); err != nil {
		t.Fatalf("Ack(%q): %v", ids, err)
	}
}

func mustDue(t tb, s storage.Store, before time.Time, limit int) []storage.Due {
	t.Helper()
	got, err := s.DueBefore(context.Background(), before, limit)
	if err != nil {
		t.Fatalf("DueBefore(%v, %d): %v", before, limit, err)
	}
	return got
}

func mustList(t tb, s storage.Store, after string, limit int) []storage.Instance {
	t.Helper()
	got, err := s.List(context.Background(), after, limit)
	if err != nil {
		t.Fatalf("List(%q, %d): %v", after, limit, err)
	}
	return got
}

// outboxIDs returns the IDs of effects.
func outboxIDs(effs []storage.Effect) []string {
	ids := make([]string, len(effs))
	for i, e := range effs {
		ids[i] = e.ID
	}
	return ids
}

// dueIDs returns the instance IDs of dues.
func dueIDs(dues []storage.Due) []string {
	ids := make([]string, len(dues))
	for i, d := range dues {
		ids[i] = d.ID
	}
	return ids
}

// state is everything a store observably holds.
type state struct {
	Instances   []storage.Instance
	Outbox      []storage.Effect
	Due         []storage.Due
	DeadLetters []storage.Effect
}

func (st state) empty() bool {
	return len(st.Instances) == 0 && len(st.Outbox) == 0 && len(st.Due) == 0 && len(st.DeadLetters) == 0
}

// snapshot reads the whole state of s.
func snapshot(t tb, s storage.Store) state {
	t.Helper()
	return state{
		Instances:   mustList(t, s, "", all),
		Outbox:      mustOutbox(t, s, all),
		Due:         mustDue(t, s, farFuture, all),
		DeadLetters: deadLettersOf(t, s),
	}
}

// deadLettersOf reads every dead letter of s.
func deadLettersOf(t tb, s storage.Store) []storage.Effect {
	t.Helper()
	return mustDeadLetters(t, s, "", all)
}

// unchanged fails t if s no longer holds before.
func unchanged(t tb, s storage.Store, before state, after string) {
	t.Helper()
	if d := diff(before, snapshot(t, s)); d != "" {
		t.Errorf("store changed after %s (-before +after):\n%s", after, d)
	}
}

// counter formats n as instance data.
func counter(n int) []byte { return fmt.Appendf(nil, "%d", n) }

// opCase is a named call of a store method.
type opCase struct {
	name string
	op   func(ctx context.Context) error
}
