package storage

import (
	"fmt"
	"time"
)

// MaxIDLen is the maximum length in bytes of an instance or effect ID.
const MaxIDLen = 512

// DuePrecision is the precision at which stores keep Instance.Due.
const DuePrecision = time.Microsecond

// The storable range of a non-zero Due: [minDue, maxDue). It lets every
// adapter index Due as an unsigned count of microseconds since the Unix epoch.
var (
	minDue = time.Unix(0, 0).UTC()
	maxDue = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// NormalizeDue returns t as a store keeps it: the zero time stays zero,
// anything else is truncated to [DuePrecision] and converted to UTC (which
// also drops any monotonic clock reading). Stores apply it to Instance.Due on
// every write; callers may apply it too when they compare times.
func NormalizeDue(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(DuePrecision).UTC()
}

// ValidateID reports whether id is usable as an instance or effect ID: it
// must be non-empty and at most [MaxIDLen] bytes. Errors wrap [ErrInvalid].
func ValidateID(id string) error {
	if problem := checkID(id); problem != "" {
		return fmt.Errorf("storage: %s: %w", problem, ErrInvalid)
	}
	return nil
}

// checkID describes what is wrong with id, or returns "".
func checkID(id string) string {
	switch {
	case id == "":
		return "empty ID"
	case len(id) > MaxIDLen:
		return fmt.Sprintf("ID %.32q... is %d bytes, more than %d", id, len(id), MaxIDLen)
	}
	return ""
}

// Validate reports whether inst can be stored: its ID must pass [ValidateID]
// and a non-zero Due must lie between the Unix epoch (inclusive) and the year
// 10000 (exclusive), and a Journal, if set, must pass
// [JournalWrite.Validate]. Version is not checked (stores ignore it).
// Errors wrap [ErrInvalid].
func (inst Instance) Validate() error {
	if problem := checkID(inst.ID); problem != "" {
		return fmt.Errorf("storage: instance: %s: %w", problem, ErrInvalid)
	}
	if !inDueRange(inst.Due) {
		return fmt.Errorf("storage: instance %q: due %v outside [%v, %v): %w",
			inst.ID, inst.Due, minDue, maxDue, ErrInvalid)
	}
	if inst.Journal != nil {
		return inst.Journal.Validate(inst.ID)
	}
	return nil
}

// inDueRange reports whether t is zero or within the storable range of a
// Due.
func inDueRange(t time.Time) bool {
	return t.IsZero() || (!t.Before(minDue) && t.Before(maxDue))
}

// ValidateEffects reports whether effects can be written with the instance
// whose ID is instance: every effect needs a valid ID that no other effect in
// the slice has, a NotBefore that is zero or in the range of a Due, and its
// Instance must equal instance. It does not look for
// clashes with the outbox; that is the store's job ([ErrExists]). Errors wrap
// [ErrInvalid].
func ValidateEffects(instance string, effects []Effect) error {
	var seen map[string]struct{}
	if len(effects) > 1 {
		seen = make(map[string]struct{}, len(effects))
	}
	for i, e := range effects {
		if problem := checkID(e.ID); problem != "" {
			return fmt.Errorf("storage: instance %q: effect %d: %s: %w", instance, i, problem, ErrInvalid)
		}
		if !inDueRange(e.NotBefore) {
			return fmt.Errorf("storage: instance %q: effect %q: not-before %v outside [%v, %v): %w",
				instance, e.ID, e.NotBefore, minDue, maxDue, ErrInvalid)
		}
		if e.Instance != instance {
			return fmt.Errorf("storage: instance %q: effect %q belongs to instance %q: %w",
				instance, e.ID, e.Instance, ErrInvalid)
		}
		if seen != nil {
			if _, dup := seen[e.ID]; dup {
				return fmt.Errorf("storage: instance %q: effect ID %q appears twice in one write: %w",
					instance, e.ID, ErrInvalid)
			}
			seen[e.ID] = struct{}{}
		}
	}
	return nil
}

// Validate reports whether c is well-formed on its own: its Instance passes
// [Instance.Validate], its Effects pass [ValidateEffects], and a Lease, if
// set, is for the same instance. Expect is not checked. Errors wrap
// [ErrInvalid].
func (c Commit) Validate() error {
	if err := c.Instance.Validate(); err != nil {
		return err
	}
	if c.Lease != nil && c.Lease.Instance != c.Instance.ID {
		return fmt.Errorf("storage: commit %q: lease is for instance %q: %w",
			c.Instance.ID, c.Lease.Instance, ErrInvalid)
	}
	return ValidateEffects(c.Instance.ID, c.Effects)
}

// ValidateLimit reports whether limit is usable as the limit of Outbox,
// DueBefore or List: it must be positive. Errors wrap [ErrInvalid].
func ValidateLimit(limit int) error {
	if limit <= 0 {
		return fmt.Errorf("storage: limit %d is not positive: %w", limit, ErrInvalid)
	}
	return nil
}
