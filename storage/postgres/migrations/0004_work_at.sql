-- Each instance's earliest work time, stored and indexed so that Claim and
-- NextWork read instances in work order and stop after the few they need,
-- instead of grouping every due instance and ready effect.
--
-- effects_at is the earliest not_before of the instance's effects in the
-- outbox (not dead), -infinity for an effect ready at once, NULL for none.
-- The store's writes keep it: Create and Commit lower it to their new
-- effects' earliest (least() ignores NULL), Requeue lowers it to -infinity,
-- and the writes that remove or postpone effects (Ack, AckLeased, Retry,
-- DeadLetter) recompute it from the outbox while they hold the instance's
-- row lock. work_at, the earliest of due and effects_at, does not depend on
-- the time: an instance has work at t exactly when work_at <= t.

ALTER TABLE instances ADD COLUMN effects_at timestamptz;

UPDATE instances i
   SET effects_at = (SELECT min(coalesce(o.not_before, '-infinity'))
                       FROM outbox o
                      WHERE o.instance = i.id AND NOT o.dead);

ALTER TABLE instances
    ADD COLUMN work_at timestamptz GENERATED ALWAYS AS (least(due, effects_at)) STORED;

-- Claim reads this index in (work_at, id) order; it holds only instances
-- with work at some time.
CREATE INDEX instances_work ON instances (work_at, id) WHERE work_at IS NOT NULL;

-- Live leases, for NextWork (the expiry of a lease on an instance with work)
-- without reading every lease row ever written.
CREATE INDEX leases_held ON leases (expires) WHERE held;
