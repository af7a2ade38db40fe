package journal

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
)

// DefaultMaxPayload is the largest payload kept as bytes when a Policy
// does not say: larger ones are kept as a SHA-256 hash and a size.
const DefaultMaxPayload = 4 << 10

// Policy says how much journal a workflow keeps. The zero Policy keeps
// every entry, with payloads up to DefaultMaxPayload bytes.
type Policy struct {
	// Keep bounds the journal to about the last Keep entries (0: no
	// bound by count). The store trims in steps, so up to half as many
	// again may be kept, and the kept window always begins at a snapshot
	// it can be replayed from.
	Keep int
	// For bounds the journal to the entries of the last For (0: no bound
	// by age); with Keep as well, an entry wanted by either is kept.
	// Entries past their age are trimmed when the instance commits its
	// next snapshot entry (see SnapshotEvery), so an instance that stops
	// committing keeps what it had (storage.Journal.TrimJournal trims it
	// on demand).
	For time.Duration
	// MaxPayload is the largest payload kept as bytes: a larger one is
	// kept as its SHA-256 hash and size. 0 means DefaultMaxPayload; a
	// negative value keeps no payload bytes at all.
	MaxPayload int
	// Redact, if set, rewrites a payload (CBOR, as received: a start's
	// input, an event's payload, an activity's result) before it is
	// journaled, so that a journal can be shared without personal data.
	// event names the event ("start" for the input, the On name, or the
	// Call's name). It must not modify payload. See [RedactFields].
	Redact func(event string, payload []byte) ([]byte, error)
}

// Validate reports a policy with negative bounds.
func (p Policy) Validate() error {
	if p.Keep < 0 || p.For < 0 {
		return fmt.Errorf("journal: policy bounds must not be negative (Keep %d, For %v)", p.Keep, p.For)
	}
	return nil
}

// Bounded reports whether the policy bounds the journal.
func (p Policy) Bounded() bool { return p.Keep > 0 || p.For > 0 }

// SnapshotEvery is how many entries apart the engine stores a snapshot
// of the record (a starting point for replay, which lets the store trim
// the entries before it): half the Keep bound, or 64 entries for a
// journal bounded by age only. An unbounded journal needs none.
func (p Policy) SnapshotEvery() uint64 {
	switch {
	case p.Keep > 0:
		return uint64(max(1, p.Keep/2))
	case p.For > 0:
		return 64
	}
	return 0
}

// Payload fills ev's Payload (or Hash), Size and Redacted for payload
// under the policy. ev.Payload may share payload's memory.
func (p Policy) Payload(ev *Event, event string, payload []byte) error {
	if len(payload) == 0 {
		return nil
	}
	if p.Redact != nil {
		r, err := p.Redact(event, payload)
		if err != nil {
			return fmt.Errorf("journal: redact %q payload: %w", event, err)
		}
		// (Marked only where it changed something: a redacted payload
		// cannot be replayed.)
		payload, ev.Redacted = r, !bytes.Equal(r, payload)
	}
	ev.Size = len(payload)
	limit := p.MaxPayload
	if limit == 0 {
		limit = DefaultMaxPayload
	}
	if len(payload) > limit {
		h := sha256.Sum256(payload)
		ev.Hash = h[:]
		return nil
	}
	ev.Payload = payload // (Encode copies it)
	return nil
}

// RedactFields returns a Redact function that replaces, anywhere in a
// payload, the value of every map key (a struct field's name, as weft's
// CBOR encodes structs) named in fields with the text "redacted".
func RedactFields(fields ...string) func(event string, payload []byte) ([]byte, error) {
	drop := map[string]bool{}
	for _, f := range fields {
		drop[f] = true
	}
	return func(_ string, payload []byte) ([]byte, error) {
		var v any
		if err := decode.Into("payload", payload, &v); err != nil {
			return nil, err
		}
		return codec.Marshal(redact(v, drop))
	}
}

func redact(v any, drop map[string]bool) any {
	switch t := v.(type) {
	case map[any]any:
		out := make(map[any]any, len(t))
		for k, x := range t {
			if s, ok := k.(string); ok && drop[s] {
				out[k] = "redacted"
				continue
			}
			out[k] = redact(x, drop)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = redact(x, drop)
		}
		return out
	}
	return v
}

// ErrNoJournal is returned when a journal is asked of an instance whose
// workflow keeps none, or whose entries were all trimmed.
var ErrNoJournal = errors.New("journal: no journal kept")
