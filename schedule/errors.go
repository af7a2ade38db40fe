package schedule

import (
	"errors"
	"fmt"
)

// Errors of the package. Errors of the engine (engine.ErrExists,
// storage.ErrNotFound, ...) are passed through wrapped.
var (
	// ErrInvalidSpec: a Spec (or a New argument) cannot be used. The error
	// is a *[SpecError].
	ErrInvalidSpec = errors.New("schedule: invalid spec")
	// ErrNotFound: no schedule has that name (or it was deleted).
	ErrNotFound = errors.New("schedule: no such schedule")
	// ErrExists: [Scheduler.Create] of a name a schedule has.
	ErrExists = errors.New("schedule: schedule exists")
)

// SpecError reports a Spec field that cannot be used. It matches
// [ErrInvalidSpec].
type SpecError struct {
	Name   string // the schedule's name
	Field  string // the Spec field
	Reason string
}

// Error names the schedule, the field and the reason.
func (e *SpecError) Error() string {
	return fmt.Sprintf("schedule %q: %s: %s", e.Name, e.Field, e.Reason)
}

// Is reports whether target is [ErrInvalidSpec].
func (e *SpecError) Is(target error) bool { return target == ErrInvalidSpec }
