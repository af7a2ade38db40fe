package simulate

import (
	"reflect"
	"testing"

	"github.com/weftflow/weft/internal/outbox"
	"github.com/weftflow/weft/interp"
	"github.com/weftflow/weft/storage"
)

// effectInfo copies every field of a stored entry into the EffectInfo,
// as the engine's dispatcher does: a field added to EffectInfo that it
// leaves zero fails here. Fence alone is the lease's, not the entry's.
func TestEffectInfoFillsEveryField(t *testing.T) {
	oe := outbox.Entry{Kind: interp.EffectRunActivity, Workflow: "w", Thread: "t", Path: "p", Event: "e", Type: "y",
		Callback: 7, At: 1e18, Attempt: 2, Timeout: 3e9, Data: []byte{1}, Error: "x", Child: "c", OnEnd: 2}
	info := effectInfo(storage.Effect{ID: "i/1/0", Instance: "i"}, &oe)
	v := reflect.ValueOf(info)
	for i := range v.NumField() {
		if name := v.Type().Field(i).Name; name != "Fence" && v.Field(i).IsZero() {
			t.Errorf("effectInfo leaves EffectInfo.%s zero", name)
		}
	}
	if info.ID != "i/1/0" || info.Instance != "i" || info.Path != "p" || info.Callback != 7 ||
		!info.At.Equal(oe.NotBefore()) || info.Timeout != oe.AttemptTimeout() || int(info.OnEnd) != 2 {
		t.Errorf("effectInfo = %+v, from %+v", info, oe)
	}
}
