package engine_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/storage"
	"github.com/weftflow/weft/storage/memory"
)

// Every option refuses a value it cannot use: New fails with an
// *OptionError matching ErrInvalidOption that names the option and the
// value, and returns no engine.
func TestInvalidOptions(t *testing.T) {
	var nilClock *engine.FakeClock
	var nilMetrics *panickyMetrics
	var nilStore *memory.Store
	for _, c := range []struct {
		name   string
		store  storage.Store
		opts   []engine.Option
		option string // OptionError.Option
		value  string // in the message
	}{
		{"nil store", nil, nil, "store", "store(nil)"},
		{"typed nil store", nilStore, nil, "store", "store(nil)"},
		{"nil option", memory.New(), []engine.Option{engine.WithWorkers(2), nil}, "option 1", "option 1(nil)"},
		{"zero poll interval", memory.New(), []engine.Option{engine.WithPollInterval(0)}, "WithPollInterval", "WithPollInterval(0s)"},
		{"negative poll interval", memory.New(), []engine.Option{engine.WithPollInterval(-time.Second)}, "WithPollInterval", "WithPollInterval(-1s)"},
		{"zero initial backoff", memory.New(), []engine.Option{engine.WithRetryBackoff(0, time.Second)}, "WithRetryBackoff", "WithRetryBackoff(0s, 1s)"},
		{"negative initial backoff", memory.New(), []engine.Option{engine.WithRetryBackoff(-time.Second, time.Second)}, "WithRetryBackoff", "WithRetryBackoff(-1s, 1s)"},
		{"max backoff below initial", memory.New(), []engine.Option{engine.WithRetryBackoff(time.Second, time.Millisecond)}, "WithRetryBackoff", "WithRetryBackoff(1s, 1ms)"},
		{"zero workers", memory.New(), []engine.Option{engine.WithWorkers(0)}, "WithWorkers", "WithWorkers(0)"},
		{"negative workers", memory.New(), []engine.Option{engine.WithWorkers(-3)}, "WithWorkers", "WithWorkers(-3)"},
		{"zero max payload", memory.New(), []engine.Option{engine.WithMaxPayload(0)}, "WithMaxPayload", "WithMaxPayload(0)"},
		{"negative max payload", memory.New(), []engine.Option{engine.WithMaxPayload(-1)}, "WithMaxPayload", "WithMaxPayload(-1)"},
		{"zero max state", memory.New(), []engine.Option{engine.WithMaxState(0)}, "WithMaxState", "WithMaxState(0)"},
		{"negative max state", memory.New(), []engine.Option{engine.WithMaxState(-1)}, "WithMaxState", "WithMaxState(-1)"},
		{"nil clock", memory.New(), []engine.Option{engine.WithClock(nil)}, "WithClock", "WithClock(nil)"},
		{"typed nil clock", memory.New(), []engine.Option{engine.WithClock(nilClock)}, "WithClock", "WithClock(nil)"},
		{"nil logger", memory.New(), []engine.Option{engine.WithLogger(nil)}, "WithLogger", "WithLogger(nil)"},
		{"nil finish hook", memory.New(), []engine.Option{engine.WithFinish(nil)}, "WithFinish", "WithFinish(nil)"},
		{"nil metrics", memory.New(), []engine.Option{engine.WithMetrics(nil)}, "WithMetrics", "WithMetrics(nil)"},
		{"typed nil metrics", memory.New(), []engine.Option{engine.WithMetrics(nilMetrics)}, "WithMetrics", "WithMetrics(nil)"},
		{"bad after good", memory.New(), []engine.Option{engine.WithWorkers(4), engine.WithPollInterval(time.Second), engine.WithWorkers(0)}, "WithWorkers", "WithWorkers(0)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := engine.New(c.store, c.opts...)
			if e != nil {
				t.Errorf("New returned an engine with the error %v", err)
			}
			if !errors.Is(err, engine.ErrInvalidOption) {
				t.Fatalf("New = %v, want ErrInvalidOption", err)
			}
			var oe *engine.OptionError
			if !errors.As(err, &oe) {
				t.Fatalf("New = %v (%T), want an *OptionError", err, err)
			}
			if oe.Option != c.option {
				t.Errorf("OptionError.Option = %q, want %q", oe.Option, c.option)
			}
			if !strings.Contains(err.Error(), c.value) {
				t.Errorf("error %q does not name %s", err, c.value)
			}
		})
	}
}

// Valid values, including the edges, make an engine.
func TestValidOptions(t *testing.T) {
	e, err := engine.New(memory.New(),
		engine.WithPollInterval(time.Nanosecond),
		engine.WithRetryBackoff(time.Millisecond, time.Millisecond),
		engine.WithWorkers(1),
		engine.WithMaxPayload(1),
		engine.WithMaxState(1<<40), // above codec.MaxBytes: means codec.MaxBytes
		engine.WithClock(engine.NewFakeClock(t0)),
		engine.WithLogger(slog.New(slog.DiscardHandler)),
		engine.WithMetrics(engine.NopMetrics{}),
		engine.WithMigrateOnRun(),
	)
	if err != nil || e == nil {
		t.Fatalf("New = %v, %v, want an engine", e, err)
	}
}
