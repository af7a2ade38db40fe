-- When an effect may be performed first (storage.Effect.NotBefore); NULL
-- means at once. The claims that read it come with the multi-process engine.

ALTER TABLE outbox ADD COLUMN not_before timestamptz;
