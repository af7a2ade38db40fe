package simulate

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/interp"
)

// A transition is a function of (state, meta, event). The simulator checks
// the store against the model after every step, so when the host applies an
// event it starts from the model's state: if the host's result and the
// model's differ, the interpreter answered the same question twice with two
// answers. That is a hidden input in the workflow (the clock, randomness, a
// package variable, map order), not a storage fault, and is reported as
// [InvDeterminism] with what differs. Only when the host's answer is lost
// (its process crashed) and the trace holds crashes does a difference
// between store and model point at the store.

// hiddenInputNote is added to every hidden-input report.
const hiddenInputNote = "hidden input: the same event applied to the same state and meta gave different results. " +
	"Something the interpreter cannot see changed the answer: the wall clock, randomness, map iteration order, " +
	"or a package-level variable read or written by a step, condition, handler, setup or timer function."

// hostAnswer is what the host said about one applied event.
type hostAnswer struct {
	res interp.Result
	ok  bool // the host returned no error, so res is the transition it committed
}

// hiddenInput reports whether a difference between the store and the model
// after an applied event is a hidden input rather than a storage fault: the
// host's own transition is what the store holds, or, with the host's answer
// lost, nothing in the trace crashed.
func (w *world) hiddenInput(host *hostAnswer, rec codec.Record) bool {
	if host != nil && host.ok {
		return bytes.Equal(host.res.State, rec.State) && w.encodesTo(&host.res.Meta, rec.Meta)
	}
	return w.crashes == 0
}

// checkHostEffects compares the effects the host committed for an event
// with the model's: the state may agree while a reply or a setup's data
// does not.
func (w *world) checkHostEffects(host *hostAnswer, model []interp.Effect) {
	if w.failure != nil || host == nil || !host.ok || effectsEqual(host.res.Effects, model) {
		return
	}
	w.fail(InvDeterminism, effectsPath(model, host.res.Effects), "%s\nThe host's transition and the model's agree on the state but not on the effects (-model +host):\n%s",
		hiddenInputNote, effectsDiff(model, host.res.Effects))
}

// effectsEqual is reflect.DeepEqual for effect lists, without its cost on
// the common case of equal lists.
func effectsEqual(a, b []interp.Effect) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.ID != y.ID || x.Kind != y.Kind || x.Thread != y.Thread || x.Path != y.Path || x.Event != y.Event ||
			x.Type != y.Type || x.Callback != y.Callback || !x.At.Equal(y.At) || x.Attempt != y.Attempt ||
			x.Timeout != y.Timeout || !bytes.Equal(x.Data, y.Data) || x.Error != y.Error {
			return false
		}
	}
	return true
}

// effectsDiff renders two effect lists one line per effect, payloads
// decoded, and diffs the lines.
func effectsDiff(a, b []interp.Effect) string {
	return "effects:\n" + cmp.Diff(effectLines(a), effectLines(b))
}

func effectLines(es []interp.Effect) []string {
	out := make([]string, len(es))
	for i, e := range es {
		var s strings.Builder
		fmt.Fprintf(&s, "%s %s", e.ID, e.Kind)
		if e.Thread != "" {
			fmt.Fprintf(&s, " thread=%s", e.Thread)
		}
		if e.Path != "" {
			fmt.Fprintf(&s, " path=%q", e.Path)
		}
		if e.Event != "" {
			fmt.Fprintf(&s, " event=%s", e.Event)
		}
		if e.Callback != 0 {
			fmt.Fprintf(&s, " callback=%d", e.Callback)
		}
		if !e.At.IsZero() {
			fmt.Fprintf(&s, " at=%s", e.At.UTC().Format(time.RFC3339Nano))
		}
		if e.Attempt != 0 {
			fmt.Fprintf(&s, " attempt=%d", e.Attempt)
		}
		if e.Timeout != 0 {
			fmt.Fprintf(&s, " timeout=%s", e.Timeout)
		}
		if len(e.Data) > 0 {
			fmt.Fprintf(&s, " data=%s", showCBOR(e.Data))
		}
		if e.Error != "" {
			fmt.Fprintf(&s, " error=%q", e.Error)
		}
		out[i] = s.String()
	}
	return out
}

// showCBOR renders an encoded value for a person: decoded when it decodes.
func showCBOR(b []byte) string {
	var v any
	if err := codec.Unmarshal(b, &v); err != nil {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%+v", v)
}

// effectsPath is the path of the first effect that differs.
func effectsPath(a, b []interp.Effect) string {
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			return b[i].Path
		case i >= len(b) || !reflect.DeepEqual(a[i], b[i]):
			return a[i].Path
		}
	}
	return ""
}
