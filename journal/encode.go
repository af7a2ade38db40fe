package journal

import (
	"fmt"

	"github.com/weftflow/weft/internal/cborhead"
)

// appendEntry appends the CBOR of e to b: the same bytes as
// codec.Marshal(e) (the Core Deterministic Encoding of the struct tags),
// written by hand because the engine encodes an entry in every commit and
// the generic encoder's reflection was most of the journal's cost.
// TestEncodeMatchesCodec holds the two together.
func appendEntry(b []byte, e Entry) []byte {
	return appendEntryMap(b, &e, len(e.Effects), len(e.Moves), func(b []byte) []byte {
		for _, f := range e.Effects {
			b = appendEffect(b, f)
		}
		return b
	}, func(b []byte) []byte {
		for _, m := range e.Moves {
			b = appendMove(b, m)
		}
		return b
	})
}

// appendEntryMap appends the map of an entry whose fields are e's but for
// its effects and moves: nEffects and nMoves of them, written by effects
// and moves (an Entry's, or a Transition's written in place).
func appendEntryMap(b []byte, e *Entry, nEffects, nMoves int, effects, moves func([]byte) []byte) []byte {
	n := 3 // Seq, At, Event
	for _, ok := range []bool{e.Version != 0, nEffects > 0, nMoves > 0, e.StateSize != 0, e.Status != "", len(e.Migrated) > 0, e.Start != nil} {
		if ok {
			n++
		}
	}
	b = cborhead.Append(b, 5, uint64(n))
	b = cborhead.Append(cborhead.Append(b, 0, 1), 0, e.Seq)
	b = cborhead.Int(cborhead.Append(b, 0, 2), unixNano(e.At))
	if e.Version != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 3), int64(e.Version))
	}
	b = appendEvent(cborhead.Append(b, 0, 4), e.Event)
	if nEffects > 0 {
		b = effects(cborhead.Append(cborhead.Append(b, 0, 5), 4, uint64(nEffects)))
	}
	if nMoves > 0 {
		b = moves(cborhead.Append(cborhead.Append(b, 0, 6), 4, uint64(nMoves)))
	}
	if e.StateSize != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 7), int64(e.StateSize))
	}
	if e.Status != "" {
		b = cborhead.Text(cborhead.Append(b, 0, 8), e.Status)
	}
	if len(e.Migrated) > 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 9), 4, uint64(len(e.Migrated)))
		for _, v := range e.Migrated {
			b = cborhead.Int(b, int64(v))
		}
	}
	if e.Start != nil {
		b = appendEvent(cborhead.Append(b, 0, 10), *e.Start)
	}
	return b
}

func appendEvent(b []byte, ev Event) []byte {
	n := 1
	for _, ok := range []bool{ev.Name != "", ev.Trigger != "", ev.Path != "", ev.Thread != "", ev.Callback != 0,
		len(ev.Payload) > 0, len(ev.Hash) > 0, ev.Size != 0, ev.Redacted, ev.Error != ""} {
		if ok {
			n++
		}
	}
	b = cborhead.Append(b, 5, uint64(n))
	b = cborhead.Text(cborhead.Append(b, 0, 1), ev.Kind)
	b = optText(b, 2, ev.Name)
	b = optText(b, 3, ev.Trigger)
	b = optText(b, 4, ev.Path)
	b = optText(b, 5, ev.Thread)
	if ev.Callback != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 6), 0, ev.Callback)
	}
	if len(ev.Payload) > 0 {
		b = append(cborhead.Append(cborhead.Append(b, 0, 7), 2, uint64(len(ev.Payload))), ev.Payload...)
	}
	if len(ev.Hash) > 0 {
		b = append(cborhead.Append(cborhead.Append(b, 0, 8), 2, uint64(len(ev.Hash))), ev.Hash...)
	}
	if ev.Size != 0 {
		b = cborhead.Int(cborhead.Append(b, 0, 9), int64(ev.Size))
	}
	if ev.Redacted {
		b = append(cborhead.Append(b, 0, 10), 0xf5)
	}
	return optText(b, 11, ev.Error)
}

func appendEffect(b []byte, f Effect) []byte {
	n := 2
	for _, ok := range []bool{f.Thread != "", f.Path != "", f.Event != "", f.Callback != 0, f.Error != ""} {
		if ok {
			n++
		}
	}
	b = cborhead.Append(b, 5, uint64(n))
	b = cborhead.Text(cborhead.Append(b, 0, 1), f.ID)
	b = cborhead.Text(cborhead.Append(b, 0, 2), f.Kind)
	b = optText(b, 3, f.Thread)
	b = optText(b, 4, f.Path)
	b = optText(b, 5, f.Event)
	if f.Callback != 0 {
		b = cborhead.Append(cborhead.Append(b, 0, 6), 0, f.Callback)
	}
	return optText(b, 7, f.Error)
}

func appendMove(b []byte, m Move) []byte {
	n := 1
	for _, ok := range []bool{m.From != "", m.To != "", m.Started, m.Ended} {
		if ok {
			n++
		}
	}
	b = cborhead.Append(b, 5, uint64(n))
	b = cborhead.Text(cborhead.Append(b, 0, 1), m.Thread)
	b = optText(b, 2, m.From)
	b = optText(b, 3, m.To)
	if m.Started {
		b = append(cborhead.Append(b, 0, 4), 0xf5)
	}
	if m.Ended {
		b = append(cborhead.Append(b, 0, 5), 0xf5)
	}
	return b
}

func optText(b []byte, key uint64, s string) []byte {
	if s == "" {
		return b
	}
	return cborhead.Text(cborhead.Append(b, 0, key), s)
}

// checkSize refuses an entry beyond what a decoder reads back.
func checkSize(b []byte, e Entry) error {
	if len(b) > maxEntry {
		return fmt.Errorf("journal: entry %d is %d bytes, more than %d", e.Seq, len(b), maxEntry)
	}
	return nil
}

// maxEntry bounds an encoded entry (payloads beyond MaxPayload are kept as
// hashes, so only a transition emitting very many effects comes near).
const maxEntry = 8 << 20
