package storagetest

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/weftflow/weft/storage"
)

// testPages checks storage.Pages, when the store has them, and the
// storage.DueAfter and storage.OutboxAfter helpers over it and over the
// store without them (the helpers' fallback): whatever the position,
// a page is the entries after it in one full read, and chained pages
// read the whole due index and outbox exactly once.
func testPages(t *testing.T, open opener) {
	_, pages := open.fresh(t).(storage.Pages)
	rapid.Check(t, func(rt *rapid.T) {
		s := open.forCheck(t, rt)
		ctx := context.Background()
		fill(rt, ctx, s)

		// One full read of each is the reference.
		dues, err := s.DueBefore(ctx, farFuture, all)
		if err != nil {
			rt.Fatalf("DueBefore: %v", err)
		}
		effs, err := s.Outbox(ctx, all)
		if err != nil {
			rt.Fatalf("Outbox: %v", err)
		}

		readers := []struct {
			name string
			s    storage.Store
		}{{"the store", s}, {"without Pages", hidePages{s}}}
		if !pages {
			readers = readers[1:]
		}
		for _, r := range readers {
			before := rapid.SampledFrom([]time.Time{farFuture, at(0), at(3 * time.Second), at(3*time.Second + 500*time.Nanosecond), at(7 * time.Second)}).Draw(rt, "before")
			var wantDue []storage.Due
			for _, d := range dues {
				if !d.At.After(before) {
					wantDue = append(wantDue, d)
				}
			}
			// Chained pages of one size read everything once, in order.
			limit := rapid.IntRange(1, 5).Draw(rt, "page size")
			var got []storage.Due
			for after := (storage.Due{}); ; {
				page, err := storage.DueAfter(ctx, r.s, before, after, limit)
				if err != nil {
					rt.Fatalf("%s: DueAfter(%v, %d): %v", r.name, after, limit, err)
				}
				got = append(got, page...)
				if len(page) < limit || len(got) > len(dues) {
					break // (the second: pages that do not move on)
				}
				after = page[len(page)-1]
			}
			if d := diff(wantDue, got); d != "" {
				rt.Fatalf("%s: due index read in pages of %d (-want +got):\n%s", r.name, limit, d)
			}
			// A page from any position, stored or not.
			after := genDuePosition(rt, dues)
			var wantAfter []storage.Due
			for _, d := range wantDue {
				if after.At.Before(d.At) || after.At.Equal(d.At) && after.ID < d.ID {
					wantAfter = append(wantAfter, d)
				}
			}
			wantAfter = wantAfter[:min(len(wantAfter), limit)]
			page, err := storage.DueAfter(ctx, r.s, before, after, limit)
			if err != nil {
				rt.Fatalf("%s: DueAfter(%v, %d): %v", r.name, after, limit, err)
			}
			if d := diff(wantAfter, page); d != "" {
				rt.Fatalf("%s: DueAfter(%v, %v, %d) (-want +got):\n%s", r.name, before, after, limit, d)
			}

			var gotEffs []storage.Effect
			for after := uint64(0); ; {
				page, err := storage.OutboxAfter(ctx, r.s, after, limit)
				if err != nil {
					rt.Fatalf("%s: OutboxAfter(%d, %d): %v", r.name, after, limit, err)
				}
				checkSeq(rt, "OutboxAfter", page)
				gotEffs = append(gotEffs, page...)
				if len(page) < limit || len(gotEffs) > len(effs) {
					break
				}
				after = page[len(page)-1].Seq
			}
			if d := diff(effs, gotEffs); d != "" {
				rt.Fatalf("%s: outbox read in pages of %d (-want +got):\n%s", r.name, limit, d)
			}
			seq := genSeqPosition(rt, effs)
			var wantEffs []storage.Effect
			for _, e := range effs {
				if e.Seq > seq {
					wantEffs = append(wantEffs, e)
				}
			}
			wantEffs = wantEffs[:min(len(wantEffs), limit)]
			gotPage, err := storage.OutboxAfter(ctx, r.s, seq, limit)
			if err != nil {
				rt.Fatalf("%s: OutboxAfter(%d, %d): %v", r.name, seq, limit, err)
			}
			if d := diff(wantEffs, gotPage); d != "" {
				rt.Fatalf("%s: OutboxAfter(%d, %d) (-want +got):\n%s", r.name, seq, limit, d)
			}
		}
	})
}

// fill writes instances with due times that tie, fall inside one
// microsecond and change, and effects some of which are acknowledged.
func fill(rt *rapid.T, ctx context.Context, s storage.Store) {
	dueTimes := []time.Time{{}, at(0), at(time.Second), at(3 * time.Second), at(3*time.Second + time.Microsecond), at(5 * time.Second), at(9 * time.Second)}
	n := rapid.IntRange(0, 14).Draw(rt, "instances")
	var acks []string
	for i := range n {
		id := rapid.SampledFrom([]string{"a", "b", "c", "d", "\x00", "\xff", "ab", "a\x00"}).Draw(rt, "id") + string(rune('0'+i))
		inst := storage.Instance{ID: id, Due: rapid.SampledFrom(dueTimes).Draw(rt, "due")}
		var effs []storage.Effect
		for j := range rapid.IntRange(0, 3).Draw(rt, "effects") {
			e := storage.Effect{ID: id + "/" + string(rune('0'+j)), Instance: id, Data: []byte{byte(j)}}
			effs = append(effs, e)
			if rapid.Bool().Draw(rt, "ack") {
				acks = append(acks, e.ID)
			}
		}
		if _, err := s.Create(ctx, inst, effs); err != nil {
			rt.Fatalf("Create %q: %v", id, err)
		}
		if rapid.Bool().Draw(rt, "move due") {
			inst.Due = rapid.SampledFrom(dueTimes).Draw(rt, "new due")
			if _, err := s.Commit(ctx, storage.Commit{Instance: inst, Expect: 1}); err != nil {
				rt.Fatalf("Commit %q: %v", id, err)
			}
		}
	}
	if err := s.Ack(ctx, acks...); err != nil {
		rt.Fatalf("Ack: %v", err)
	}
}

// genDuePosition draws a position in the due index: the zero Due, a stored
// entry, an entry's time with another ID, a time inside a microsecond,
// or one before or after everything.
func genDuePosition(rt *rapid.T, dues []storage.Due) storage.Due {
	cands := []storage.Due{{}, {ID: "a", At: time.Unix(-5, 0)}, {ID: "z", At: farFuture}, {ID: "", At: time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)}}
	for _, d := range dues {
		cands = append(cands, d,
			storage.Due{ID: d.ID + "\x00", At: d.At},
			storage.Due{ID: d.ID[:len(d.ID)-1], At: d.At},
			storage.Due{ID: d.ID, At: d.At.Add(400 * time.Nanosecond)},
			storage.Due{ID: "\xff\xff", At: d.At.Add(-time.Nanosecond)})
	}
	return rapid.SampledFrom(cands).Draw(rt, "after")
}

// genSeqPosition draws an outbox position: zero, an effect's Seq, one
// between two, or past everything.
func genSeqPosition(rt *rapid.T, effs []storage.Effect) uint64 {
	cands := []uint64{0, math.MaxUint64, math.MaxInt64}
	for _, e := range effs {
		cands = append(cands, e.Seq, e.Seq-1, e.Seq+1)
	}
	slices.Sort(cands)
	return rapid.SampledFrom(cands).Draw(rt, "after seq")
}

// hidePages is a store without its Pages, for the helpers' fallback.
type hidePages struct{ storage.Store }
