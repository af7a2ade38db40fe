-- Instances, their due index and the outbox.
--
-- Runs with search_path set to the store's schema. IDs are bytea: the storage
-- contract allows any bytes and orders IDs byte-wise, which is how bytea
-- compares. Workflow and status are bytea too: the contract treats them as
-- opaque strings, and a Go string need not be valid UTF-8 nor free of NUL.

CREATE TABLE instances (
    id       bytea       NOT NULL,
    version  bigint      NOT NULL CHECK (version >= 1),
    workflow bytea       NOT NULL,
    status   bytea       NOT NULL,
    due      timestamptz,
    data     bytea,
    CONSTRAINT instances_pkey PRIMARY KEY (id)
);

-- The due index holds only instances that are due at some time.
CREATE INDEX instances_due ON instances (due, id) WHERE due IS NOT NULL;

-- Position is assigned in the write that appends the effect, after the
-- instance's row is locked, so effects of one instance follow its versions.
CREATE TABLE outbox (
    position bigint GENERATED ALWAYS AS IDENTITY,
    id       bytea  NOT NULL,
    instance bytea  NOT NULL,
    data     bytea,
    CONSTRAINT outbox_pkey PRIMARY KEY (position),
    CONSTRAINT outbox_effect_id UNIQUE (id)
);
