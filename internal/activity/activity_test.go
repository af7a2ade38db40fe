package activity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/codec"
	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/internal/activity"
)

type order struct{ N int }

var errDeclined = errors.New("declined")

func orderDef() *dsl.Definition {
	return dsl.MustCompile[order]("order", dsl.S(
		dsl.Call("double", func(_ context.Context, s order) (int, error) { return 2 * s.N, nil },
			func(s *order, n int) { s.N = n }).Timeout(3*time.Second),
		dsl.Call("fail", func(context.Context, order) (int, error) { return 0, errDeclined }, func(*order, int) {}),
		dsl.Call("panic", func(context.Context, order) (int, error) { panic("boom") }, func(*order, int) {}),
		dsl.Wait("ask", dsl.On("later", dsl.After(time.Hour))),
	))
}

func TestRun(t *testing.T) {
	def := orderDef()
	in, err := codec.Marshal(order{N: 21})
	if err != nil {
		t.Fatal(err)
	}
	out, err := activity.Run(context.Background(), def, "double", in)
	var n int
	if err != nil || codec.Unmarshal(out, &n) != nil || n != 42 {
		t.Fatalf("Run = %x (%d), %v; want 42", out, n, err)
	}
	if _, err := activity.Run(context.Background(), def, "fail", in); !errors.Is(err, errDeclined) {
		t.Fatalf("the activity's error: %v, want %v", err, errDeclined)
	}
	_, err = activity.Run(context.Background(), def, "panic", in)
	if !errors.Is(err, dsl.ErrActivityPanic) || !strings.Contains(err.Error(), `activity "panic": boom`) {
		t.Fatalf("a panic: %v, want dsl.ErrActivityPanic naming the activity and the value", err)
	}
	for _, path := range []string{"ask", "nowhere", ""} {
		_, err := activity.Run(context.Background(), def, path, in)
		if !errors.Is(err, dsl.ErrNoActivity) || !strings.Contains(err.Error(), `in workflow "order"`) {
			t.Errorf("Run at %q: %v, want dsl.ErrNoActivity", path, err)
		}
	}
	if _, err := activity.Run(context.Background(), def, "double", []byte{0xff}); !errors.Is(err, codec.ErrCorrupt) {
		t.Fatalf("an input that is not the state: %v, want codec.ErrCorrupt", err)
	}
}

func TestTimeout(t *testing.T) {
	def := orderDef()
	for _, tc := range []struct {
		path string
		d    time.Duration
		ok   bool
	}{{"double", 3 * time.Second, true}, {"fail", 0, true}, {"ask", 0, false}, {"nowhere", 0, false}} {
		if d, ok := activity.Timeout(def, tc.path); d != tc.d || ok != tc.ok {
			t.Errorf("Timeout(%q) = %v, %v; want %v, %v", tc.path, d, ok, tc.d, tc.ok)
		}
	}
}
