package storagetest

import (
	"testing"

	"github.com/weftflow/weft/storage"
)

func testNoAliasing(t *testing.T, open opener) {
	s := open.fresh(t)

	// Inputs: the store must copy them.
	data := []byte("hello")
	effData := []byte("effect")
	effs := []storage.Effect{{ID: "e1", Instance: "a", Data: effData}}
	mustCreate(t, s, storage.Instance{ID: "a", Data: data}, effs...)
	data[0] = 'X'
	effData[0] = 'X'
	effs[0] = storage.Effect{ID: "changed", Instance: "a", Data: []byte("changed")}

	wantInst := storage.Instance{ID: "a", Version: 1, Data: []byte("hello")}
	wantOutbox := []storage.Effect{{ID: "e1", Instance: "a", Data: []byte("effect")}}
	check := func(after string) {
		t.Helper()
		if d := diff(wantInst, mustLoad(t, s, "a")); d != "" {
			t.Errorf("Load after %s (-want +got):\n%s", after, d)
		}
		if d := diff([]storage.Instance{wantInst}, mustList(t, s, "", all)); d != "" {
			t.Errorf("List after %s (-want +got):\n%s", after, d)
		}
		if d := diff(wantOutbox, mustOutbox(t, s, all)); d != "" {
			t.Errorf("Outbox after %s (-want +got):\n%s", after, d)
		}
	}
	check("mutating the inputs of Create")

	data2 := []byte("world")
	effData2 := []byte("second")
	effs2 := []storage.Effect{{ID: "e2", Instance: "a", Data: effData2}}
	mustCommit(t, s, 1, storage.Instance{ID: "a", Data: data2}, effs2...)
	data2[0] = 'X'
	effData2[0] = 'X'
	effs2[0].ID = "changed"
	wantInst = storage.Instance{ID: "a", Version: 2, Data: []byte("world")}
	wantOutbox = append(wantOutbox, storage.Effect{ID: "e2", Instance: "a", Data: []byte("second")})
	check("mutating the inputs of Commit")

	// Results: the caller owns them.
	if got := mustLoad(t, s, "a"); len(got.Data) > 0 {
		got.Data[0] = 'Y'
	}
	check("mutating the result of Load")
	for _, inst := range mustList(t, s, "", all) {
		if len(inst.Data) > 0 {
			inst.Data[0] = 'Y'
		}
	}
	check("mutating the result of List")
	for _, e := range mustOutbox(t, s, all) {
		if len(e.Data) > 0 {
			e.Data[0] = 'Y'
		}
	}
	check("mutating the result of Outbox")
	if got := mustOutbox(t, s, all); len(got) > 0 {
		got[0].ID = "mutated"
		_ = append(got[:1], storage.Effect{ID: "appended"}) // writes into any spare capacity
	}
	check("mutating the slice Outbox returned")
}
