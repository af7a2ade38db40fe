package schedule_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weftflow/weft/dsl"
	"github.com/weftflow/weft/engine"
	"github.com/weftflow/weft/schedule"
	"github.com/weftflow/weft/storage/memory"
)

// Report is the state of the workflow the example schedules.
type Report struct{ Region string }

var report = dsl.MustCompile[Report]("report", dsl.Return("sent"))

// A schedule runs the report at 02:30 in Paris every night. The fake
// clock stands in for time: move it to the next fire and drain the engine.
// On 29 March 2026 there is no 02:30 in Paris (the clocks jump from 02:00
// to 03:00), so that night does not fire.
func Example() {
	ctx := context.Background()
	clock := engine.NewFakeClock(time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC))
	e, err := engine.New(memory.New(), engine.WithClock(clock))
	if err != nil {
		panic(err)
	}
	if err := e.Register(report); err != nil {
		panic(err)
	}
	s, err := schedule.New(e, []*dsl.Definition{report}, schedule.WithClock(clock))
	if err != nil {
		panic(err)
	}
	err = s.Create(ctx, schedule.Spec{Name: "nightly", Cron: "30 2 * * *", TimeZone: "Europe/Paris",
		Workflow: report, Input: Report{Region: "eu"}, Overlap: schedule.OverlapSkip})
	if err != nil {
		panic(err)
	}
	for range 3 {
		if err := e.Drain(ctx); err != nil { // the engine computes the next fire, then runs it
			panic(err)
		}
		info, err := s.Get(ctx, "nightly")
		if err != nil {
			panic(err)
		}
		fmt.Println("next fire:", info.Next.Format(time.RFC3339))
		clock.Set(info.Next)
	}
	if err := e.Drain(ctx); err != nil {
		panic(err)
	}
	info, _ := s.Get(ctx, "nightly")
	fmt.Println("runs:", info.Recent)
	// Output:
	// next fire: 2026-03-28T01:30:00Z
	// next fire: 2026-03-30T00:30:00Z
	// next fire: 2026-03-31T00:30:00Z
	// runs: [nightly@2026-03-28T01:30:00Z nightly@2026-03-30T00:30:00Z nightly@2026-03-31T00:30:00Z]
}
