package engine

import (
	"errors"
	"fmt"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/internal/decode"
)

// Limits of idempotency keys (see [IdempotencyKey]).
const (
	// MaxKeyLen is the longest idempotency key, in bytes.
	MaxKeyLen = 256

	// KeysKept is how many idempotency keys an instance remembers: those
	// of its last KeysKept keyed sends. A retry with a key older than that
	// is not recognized and is applied again, so retry within that many
	// keyed sends to the same instance.
	KeysKept = 64

	// MaxKeptReply is the largest reply, in encoded bytes, kept with a
	// key for the retries of its send. A retry of a send whose reply was
	// larger returns a *[ReplyDecodeError] (the event was applied) if it
	// asks for the reply.
	MaxKeptReply = 1024
)

// SendOption configures one [Engine.Send].
type SendOption func(*sendOptions)

type sendOptions struct {
	key      string
	keyed    bool
	noBuffer bool  // NoBuffer: refuse instead of buffering (inbox.go)
	buffered *bool // ReportBuffered's destination, if any
}

// IdempotencyKey makes a [Engine.Send] safe to retry: the instance
// remembers that an event with this key was applied, in the same atomic
// commit as the event, and a later Send with the same key applies
// nothing and returns nil, with the first send's reply. Use it to retry
// after any error whose outcome is unclear, an [ErrOutcomeUnknown] above
// all (see [OutcomeUnknownError]): without a key, a retry is looked up
// again by event name and, if the first call was applied and the workflow
// waits for the same event again, it is taken as a second event.
//
// Keys are scoped to the instance: choose one per event you mean to
// deliver once (an order line's ID, a webhook's delivery ID), not per
// attempt. A key is 1 to [MaxKeyLen] bytes; the instance keeps its last
// [KeysKept] keys (a finished instance keeps them too, so a retry of the
// event that finished it still succeeds), and a key used for another
// event name is refused with [ErrInvalidKey].
func IdempotencyKey(key string) SendOption {
	return func(o *sendOptions) { o.key, o.keyed = key, true }
}

// sendKey is a keyed Send's key, checked against and then added to the
// instance's host data by the transition.
type sendKey struct {
	key   string
	event string
}

// hostData is what the engine keeps in codec.Record.Host.
type hostData struct {
	Keys  []keptKey `cbor:"1,keyasint,omitempty"` // oldest first
	Ended int64     `cbor:"2,keyasint,omitempty"` // unix ns when the instance finished; 0: running, or finished before weft kept it (retention.go)
	// Parent links a child instance to the parent waiting for it (child.go).
	Parent *parentLink `cbor:"3,keyasint,omitempty"`
}

// keptKey is the key of a send that was applied.
type keptKey struct {
	Key      string `cbor:"1,keyasint"`
	Event    string `cbor:"2,keyasint"`
	Callback uint64 `cbor:"3,keyasint"`
	Reply    []byte `cbor:"4,keyasint,omitempty"` // the handler's reply, if kept
	Dropped  bool   `cbor:"5,keyasint,omitempty"` // the reply was larger than MaxKeptReply
}

// keyApplied is how a transition says that a keyed Send's key is known:
// the event was applied before, and nothing is written now.
type keyApplied struct{ kept keptKey }

func (k *keyApplied) Error() string {
	return fmt.Sprintf("engine: event %q with key %q already applied (callback %d)", k.kept.Event, k.kept.Key, k.kept.Callback)
}

// checkKey reports whether key can be an idempotency key.
func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, want 1 to %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	return nil
}

// decodeHost decodes an instance's host data; nil is none.
func decodeHost(id string, b []byte) (hostData, error) {
	var h hostData
	if len(b) == 0 {
		return h, nil
	}
	if err := decode.Into("record host", b, &h); err != nil {
		return hostData{}, opErr("", "", id, err)
	}
	return h, nil
}

// check returns a *keyApplied if host holds k's key for k's event, an
// error matching ErrInvalidKey if it holds it for another event, and nil
// if the key is new.
func (k *sendKey) check(id string, host []byte) error {
	h, err := decodeHost(id, host)
	if err != nil {
		return err
	}
	for _, kk := range h.Keys {
		if kk.Key != k.key {
			continue
		}
		if kk.Event != k.event {
			return fmt.Errorf("%w: key %q of instance %q was used for event %q, not %q", ErrInvalidKey, k.key, id, kk.Event, k.event)
		}
		return &keyApplied{kept: kk}
	}
	return nil
}

// add returns host with k's key added for the event applied to callback,
// whose reply was reply, dropping the oldest keys beyond KeysKept.
func (k *sendKey) add(id string, host []byte, callback uint64, reply []byte) ([]byte, error) {
	h, err := decodeHost(id, host)
	if err != nil {
		return nil, err
	}
	kk := keptKey{Key: k.key, Event: k.event, Callback: callback, Reply: reply}
	if len(reply) > MaxKeptReply {
		kk.Reply, kk.Dropped = nil, true
	}
	keys := h.Keys
	if len(keys) >= KeysKept {
		keys = keys[len(keys)-KeysKept+1:]
	}
	h.Keys = append(append(make([]keptKey, 0, len(keys)+1), keys...), kk)
	b, err := codec.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("engine: instance %q: encode idempotency keys: %w", id, err)
	}
	return b, nil
}

// errReplyNotKept is why a retried keyed Send cannot give its reply.
var errReplyNotKept = errors.New("the reply was larger than MaxKeptReply and was not kept for retries")
