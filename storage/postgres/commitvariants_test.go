package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weftflow/weft/storage"
)

// TestCommitVariants runs every variant of the commit statement (unfenced
// and fenced; without a journal entry, with one, with one and a Keep;
// without and with effects: the statements differ in their parameters)
// and checks what each wrote.
func TestCommitVariants(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	n := 0
	for _, fenced := range []bool{false, true} {
		for _, journal := range []string{"none", "entry", "keep"} {
			for _, effects := range []int{0, 2} {
				n++
				id := fmt.Sprintf("v%d", n)
				t.Run(fmt.Sprintf("fenced=%v,journal=%s,effects=%d", fenced, journal, effects), func(t *testing.T) {
					if _, err := s.Create(ctx, storage.Instance{ID: id, Workflow: "w", Status: "running"}, nil); err != nil {
						t.Fatal(err)
					}
					c := storage.Commit{Expect: 1, Instance: storage.Instance{ID: id, Workflow: "w", Status: "done",
						Due: time.Now().Add(time.Hour), Data: []byte("d")}}
					if fenced {
						l, err := s.Acquire(ctx, id, storage.ClaimRequest{Owner: "o", Now: time.Now(), TTL: time.Minute})
						if err != nil {
							t.Fatal(err)
						}
						c.Lease = &l
					}
					if journal != "none" {
						c.Instance.Journal = &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 1, Data: []byte("j")}}
						if journal == "keep" {
							c.Instance.Journal.Keep = &storage.JournalKeep{Last: 1}
						}
					}
					for i := range effects {
						c.Effects = append(c.Effects, storage.Effect{ID: fmt.Sprintf("%s/%d", id, i), Instance: id, Data: []byte("e")})
					}
					if v, err := s.Commit(ctx, c); err != nil || v != 2 {
						t.Fatalf("Commit = %d, %v; want 2", v, err)
					}
					if _, err := s.Commit(ctx, c); err == nil {
						t.Fatal("Commit of a stale version succeeded")
					}
					got, err := s.Load(ctx, id)
					if err != nil || got.Version != 2 || got.Status != "done" || string(got.Data) != "d" {
						t.Fatalf("Load = %+v, %v", got, err)
					}
					entries, err := s.ReadJournal(ctx, id, 0, 10)
					if want := map[bool]int{false: 0, true: 1}[journal != "none"]; err != nil || len(entries) != want {
						t.Fatalf("ReadJournal = %d entries, %v; want %d", len(entries), err, want)
					}
					out, err := s.Outbox(ctx, 1000)
					if err != nil {
						t.Fatal(err)
					}
					mine := 0
					for _, e := range out {
						if e.Instance == id {
							mine++
						}
					}
					if mine != effects {
						t.Fatalf("outbox holds %d effects of %s, want %d", mine, id, effects)
					}
				})
			}
		}
	}
}

// TestCreateVariants runs every variant of the create statement (without
// and with a journal entry, without and with effects) and checks what each
// wrote, and that an instance created with a ready effect has work.
func TestCreateVariants(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	for _, journal := range []bool{false, true} {
		for _, effects := range []int{0, 2} {
			id := fmt.Sprintf("c-%v-%d", journal, effects)
			t.Run(fmt.Sprintf("journal=%v,effects=%d", journal, effects), func(t *testing.T) {
				inst := storage.Instance{ID: id, Workflow: "w", Status: "running", Data: []byte("d")}
				if journal {
					inst.Journal = &storage.JournalWrite{Entry: storage.JournalEntry{Seq: 1, Data: []byte("j")}}
				}
				var effs []storage.Effect
				for i := range effects {
					effs = append(effs, storage.Effect{ID: fmt.Sprintf("%s/%d", id, i), Instance: id, Data: []byte("e")})
				}
				if v, err := s.Create(ctx, inst, effs); err != nil || v != 1 {
					t.Fatalf("Create = %d, %v; want 1", v, err)
				}
				if _, err := s.Create(ctx, inst, effs); err == nil {
					t.Fatal("a second Create succeeded")
				}
				got, err := s.Load(ctx, id)
				if err != nil || got.Version != 1 || got.Status != "running" || string(got.Data) != "d" {
					t.Fatalf("Load = %+v, %v", got, err)
				}
				entries, err := s.ReadJournal(ctx, id, 0, 10)
				if want := map[bool]int{false: 0, true: 1}[journal]; err != nil || len(entries) != want {
					t.Fatalf("ReadJournal = %d entries, %v; want %d", len(entries), err, want)
				}
				// Work (effects_at) only with effects: Acquire leases any
				// instance, Claim only those with work.
				ls, err := s.Claim(ctx, storage.ClaimRequest{Owner: "o", Now: time.Now(), TTL: time.Minute, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]int{false: 0, true: 1}[effects > 0]; len(ls) != want {
					t.Fatalf("Claim leased %d instances, want %d", len(ls), want)
				}
				if len(ls) > 0 {
					p, err := s.Pending(ctx, ls[0], 10)
					if err != nil || len(p) != effects {
						t.Fatalf("Pending = %d effects, %v; want %d", len(p), err, effects)
					}
					if err := s.AckRelease(ctx, ls[0], p[0].ID, p[1].ID); err != nil {
						t.Fatal(err)
					}
				}
			})
		}
	}
}
