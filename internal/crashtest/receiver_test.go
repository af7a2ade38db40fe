package crashtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/interp"
)

// TestReceiver checks the receiver on its own: first deliveries are
// handled, repeats are duplicates or conflicts, and a line torn by a kill
// is cut off when the log is opened again.
func TestReceiver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "effects.log")
	r, err := OpenReceiver(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	setup := engine.EffectInfo{ID: "i/1/0", Kind: interp.EffectSetup, Instance: "i", Type: "x", Callback: 1, Data: []byte{1}}
	for _, info := range []engine.EffectInfo{setup, setup} {
		if err := r.Setup(context.Background(), info); err != nil {
			t.Fatal(err)
		}
	}
	reused := setup
	reused.Callback = 2
	if err := r.Receive(reused); err != nil {
		t.Fatal(err)
	}
	if err := r.Activity(context.Background(), "i"); err == nil {
		t.Error("an activity without an effect ID in its context was recorded")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	// A kill in the middle of a line.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"op":"handled","id":"i/2`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, torn, err := ReadLog(path); err != nil || !torn {
		t.Fatalf("ReadLog of a torn log: torn %v, err %v", torn, err)
	}

	r, err = OpenReceiver(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	teardown := engine.EffectInfo{ID: "i/2/0", Kind: interp.EffectTeardown, Instance: "i", Type: "x", Callback: 1}
	if err := r.Teardown(context.Background(), teardown); err != nil {
		t.Fatal(err)
	}
	if err := r.Setup(context.Background(), setup); err != nil { // handled by life 1
		t.Fatal(err)
	}
	r.Close()

	log, torn, err := ReadLog(path)
	if err != nil || torn {
		t.Fatalf("ReadLog: torn %v, err %v", torn, err)
	}
	want := []Entry{
		{Op: OpHandled, ID: "i/1/0", Kind: "setup", Instance: "i", Type: "x", Callback: 1, Data: []byte{1}, Life: 1},
		{Op: OpDup, ID: "i/1/0", Kind: "setup", Instance: "i", Type: "x", Callback: 1, Data: []byte{1}, Life: 1},
		{Op: OpConflict, ID: "i/1/0", Kind: "setup", Instance: "i", Type: "x", Callback: 2, Data: []byte{1}, Life: 1},
		{Op: OpHandled, ID: "i/2/0", Kind: "teardown", Instance: "i", Type: "x", Callback: 1, Life: 2},
		{Op: OpDup, ID: "i/1/0", Kind: "setup", Instance: "i", Type: "x", Callback: 1, Data: []byte{1}, Life: 2},
	}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if problems := checkLog(log); len(problems) != 1 {
		t.Errorf("checkLog found %q, want the one conflict", problems)
	}
}
