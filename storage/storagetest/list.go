package storagetest

import (
	"fmt"
	"testing"

	"github.com/weftflow/weft/storage"
)

func testList(t *testing.T, open opener) {
	s := open.fresh(t)
	if got := mustList(t, s, "", 10); len(got) != 0 {
		t.Fatalf("List of an empty store = %v", got)
	}

	const n = 25
	want := make([]storage.Instance, n)
	for i := range n {
		want[i] = storage.Instance{ID: fmt.Sprintf("i%02d", i), Workflow: "w", Version: 1, Status: "running", Data: counter(i)}
	}
	for i := range n {
		inst := want[(i*7)%n] // not in ID order
		mustCreate(t, s, inst)
	}
	// Listing shows current contents.
	want[3] = storage.Instance{ID: "i03", Workflow: "w", Version: 2, Status: "completed", Due: at(0), Data: []byte("new")}
	mustCommit(t, s, 1, want[3])

	for _, pageSize := range []int{1, 7, n - 1, n, n + 1} {
		var got []storage.Instance
		after := ""
		for pages := 0; ; pages++ {
			if pages > n+1 {
				t.Fatalf("paging with %d per page does not end", pageSize)
			}
			page := mustList(t, s, after, pageSize)
			if len(page) > pageSize {
				t.Fatalf("List(%q, %d) returned %d instances", after, pageSize, len(page))
			}
			got = append(got, page...)
			if len(page) < pageSize {
				break
			}
			after = page[len(page)-1].ID
		}
		if d := diff(want, got); d != "" {
			t.Errorf("paging with %d per page (-want +got):\n%s", pageSize, d)
		}
	}

	checks := []struct {
		after string
		limit int
		want  []storage.Instance
	}{
		{"", 3, want[:3]},
		{"i10", 2, want[11:13]},
		{"i10x", 3, want[11:14]}, // not an ID: starts at the next one
		{"i", 2, want[:2]},
		{"h", all, want},
		{"i23", 5, want[24:]},
		{"i24", 5, nil},
		{"zzz", 5, nil},
	}
	for _, c := range checks {
		if d := diff(c.want, mustList(t, s, c.after, c.limit)); d != "" {
			t.Errorf("List(%q, %d) (-want +got):\n%s", c.after, c.limit, d)
		}
	}
}
