-- Listing (storage.Listing): instances by workflow and status, and by
-- status alone, each in ID order, so that Find reads a page from an index
-- and Count reads index entries only. A workflow alone is read from
-- instances_kind, one status after the other (a loose index scan).
-- Retention (storage.Retention): Delete checks that an instance has no
-- dead letters without reading the whole outbox.

CREATE INDEX instances_kind ON instances (workflow, status, id);
CREATE INDEX instances_status ON instances (status, id);
CREATE INDEX outbox_dead_instance ON outbox (instance) WHERE dead;
