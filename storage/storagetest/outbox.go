package storagetest

import (
	"testing"

	"github.com/weftflow/weft/storage"
)

func testOutboxOrder(t *testing.T, open opener) {
	s := open.fresh(t)
	if got := mustOutbox(t, s, 10); len(got) != 0 {
		t.Fatalf("Outbox of an empty store = %v", outboxIDs(got))
	}

	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a1", "a2")...)
	mustCreate(t, s, storage.Instance{ID: "b"}, effects("b", "b1")...)
	mustCommit(t, s, 1, storage.Instance{ID: "a"}, effects("a", "a3", "a4")...)
	mustCommit(t, s, 1, storage.Instance{ID: "b"}, effects("b", "b2")...)
	mustCreate(t, s, storage.Instance{ID: "c"})
	mustCommit(t, s, 2, storage.Instance{ID: "a"}) // no effects
	mustCommit(t, s, 1, storage.Instance{ID: "c"},
		storage.Effect{ID: "c1", Instance: "c"}, // no data
		storage.Effect{ID: "0", Instance: "c", Data: []byte("sorts first by ID, comes last")})

	want := append(effects("a", "a1", "a2"), effects("b", "b1")...)
	want = append(want, effects("a", "a3", "a4")...)
	want = append(want, effects("b", "b2")...)
	want = append(want,
		storage.Effect{ID: "c1", Instance: "c"},
		storage.Effect{ID: "0", Instance: "c", Data: []byte("sorts first by ID, comes last")})

	for _, limit := range []int{1, 3, len(want) - 1, len(want), len(want) + 1, all} {
		n := min(limit, len(want))
		if d := diff(want[:n], mustOutbox(t, s, limit)); d != "" {
			t.Errorf("Outbox(%d) (-want +got):\n%s", limit, d)
		}
	}
	// Reading does not consume.
	if d := diff(want, mustOutbox(t, s, all)); d != "" {
		t.Errorf("Outbox read again (-want +got):\n%s", d)
	}
}

func testAck(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Due: at(0), Data: []byte("a")}, effects("a", "e1", "e2", "e3")...)
	mustCreate(t, s, storage.Instance{ID: "b"}, effects("b", "e4", "e5")...)
	instances := snapshot(t, s).Instances

	steps := []struct {
		ack  []string
		want []string
	}{
		{nil, []string{"e1", "e2", "e3", "e4", "e5"}},
		{[]string{"e3"}, []string{"e1", "e2", "e4", "e5"}},         // from the middle
		{[]string{"e3"}, []string{"e1", "e2", "e4", "e5"}},         // again: idempotent
		{[]string{"nope"}, []string{"e1", "e2", "e4", "e5"}},       // unknown
		{[]string{"e1", "nope", "e5"}, []string{"e2", "e4"}},       // partly unknown
		{[]string{}, []string{"e2", "e4"}},                         // nothing
		{[]string{"e2", "e2", ""}, []string{"e4"}},                 // repeated, empty
		{[]string{"e1", "e2", "e3", "e5"}, []string{"e4"}},         // all already gone
		{[]string{"e4"}, []string{}},                               // the last
		{[]string{"e1", "e2", "e3", "e4", "e5", "e6"}, []string{}}, // on an empty outbox
	}
	for _, step := range steps {
		mustAck(t, s, step.ack...)
		if d := diff(step.want, outboxIDs(mustOutbox(t, s, all))); d != "" {
			t.Errorf("Outbox after Ack(%q) (-want +got):\n%s", step.ack, d)
		}
	}
	if d := diff(instances, mustList(t, s, "", all)); d != "" {
		t.Errorf("Ack changed instances (-want +got):\n%s", d)
	}

	// The outbox keeps working after acks: order is still commit order.
	mustCreate(t, s, storage.Instance{ID: "c"}, effects("c", "f1", "f2")...)
	mustCommit(t, s, 1, storage.Instance{ID: "a"}, effects("a", "f3")...)
	mustAck(t, s, "f2")
	mustCommit(t, s, 1, storage.Instance{ID: "c"}, effects("c", "f4")...)
	if d := diff([]string{"f1", "f3", "f4"}, outboxIDs(mustOutbox(t, s, all))); d != "" {
		t.Errorf("Outbox after more commits (-want +got):\n%s", d)
	}
}

func testDuplicateEffectID(t *testing.T, open opener) {
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a", Data: []byte("a1"), Due: at(1)}, effects("a", "a/1")...)
	mustCreate(t, s, storage.Instance{ID: "b", Data: []byte("b1")}, effects("b", "b/1")...)
	before := snapshot(t, s)

	cases := []struct {
		name string
		c    storage.Commit
	}{
		{"own pending effect", storage.Commit{
			Instance: storage.Instance{ID: "a", Data: []byte("a2"), Due: at(2)},
			Expect:   1,
			Effects:  effects("a", "a/new", "a/1"),
		}},
		{"another instance's pending effect", storage.Commit{
			Instance: storage.Instance{ID: "a", Data: []byte("a2")},
			Expect:   1,
			Effects:  effects("a", "b/1", "a/new"),
		}},
	}
	for _, c := range cases {
		_, err := s.Commit(t.Context(), c.c)
		wantErr(t, "Commit reusing the ID of "+c.name, err, storage.ErrExists, "a")
		unchanged(t, s, before, "a commit reusing the ID of "+c.name)
	}

	_, err := s.Create(t.Context(), storage.Instance{ID: "c", Due: at(0)}, effects("c", "c/1", "a/1"))
	wantErr(t, "Create reusing a pending effect ID", err, storage.ErrExists, "c")
	unchanged(t, s, before, "a create reusing a pending effect ID")
	_, err = s.Load(t.Context(), "c")
	wantErr(t, "Load after a failed Create", err, storage.ErrNotFound, "c")

	// Once acknowledged, an ID is forgotten and may be used again.
	mustAck(t, s, "a/1")
	mustCommit(t, s, 1, storage.Instance{ID: "a", Data: []byte("a2")}, effects("a", "a/1")...)
	if d := diff(append(effects("b", "b/1"), effects("a", "a/1")...), mustOutbox(t, s, all)); d != "" {
		t.Errorf("Outbox after reusing an acknowledged ID (-want +got):\n%s", d)
	}
}

func testConflictBeforeExists(t *testing.T, open opener) {
	// Writers racing from one version derive the same effect IDs; the loser
	// must learn that it lost (ErrConflict), not that the IDs clash.
	s := open.fresh(t)
	mustCreate(t, s, storage.Instance{ID: "a"}, effects("a", "a@1")...)
	mustCommit(t, s, 1, storage.Instance{ID: "a", Data: []byte("winner")}, effects("a", "a@2")...)
	before := snapshot(t, s)

	_, err := s.Commit(t.Context(), storage.Commit{
		Instance: storage.Instance{ID: "a", Data: []byte("loser")},
		Expect:   1,
		Effects:  effects("a", "a@2"),
	})
	wantErr(t, "stale Commit with a pending effect ID", err, storage.ErrConflict, "a")
	unchanged(t, s, before, "a stale commit")

	_, err = s.Commit(t.Context(), storage.Commit{
		Instance: storage.Instance{ID: "ghost"},
		Expect:   1,
		Effects:  []storage.Effect{{ID: "a@2", Instance: "ghost"}},
	})
	wantErr(t, "Commit to a missing instance with a pending effect ID", err, storage.ErrNotFound, "ghost")
	unchanged(t, s, before, "a commit to a missing instance")
}
