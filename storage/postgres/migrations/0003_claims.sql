-- Claims (storage.Claims): leases with fence tokens, effect retry state and
-- dead letters.
--
-- A lease row is kept after its lease is released or expires (held = false
-- or expires in the past) so that the instance's next token is greater than
-- every token issued before. Owner is bytea for the reason workflow is.

CREATE TABLE leases (
    instance bytea       NOT NULL,
    owner    bytea       NOT NULL,
    token    bigint      NOT NULL CHECK (token >= 1),
    held     boolean     NOT NULL,
    expires  timestamptz NOT NULL,
    CONSTRAINT leases_pkey PRIMARY KEY (instance)
);

-- Retry state of an effect. A dead letter stays in the outbox table, flagged,
-- so that it keeps its row, its position and its ID (the unique index
-- outbox_effect_id keeps the ID taken) until it is requeued.
ALTER TABLE outbox
    ADD COLUMN attempts   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN last_error bytea   NOT NULL DEFAULT '\x',
    ADD COLUMN dead       boolean NOT NULL DEFAULT false;

-- Ready effects by (not_before, position), NULL (at once) first; effects of
-- an instance by position; dead letters by ID.
CREATE INDEX outbox_ready ON outbox (not_before NULLS FIRST, position) WHERE NOT dead;
CREATE INDEX outbox_instance ON outbox (instance, position) WHERE NOT dead;
CREATE INDEX outbox_dead ON outbox (id) WHERE dead;
