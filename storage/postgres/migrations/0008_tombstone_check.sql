-- A Create must not pass over a tombstone it did not see (migration 7).
--
-- Create reads the ID's tombstone in its statement's snapshot. If another
-- Create of the ID and a Delete of what it made both commit while the
-- statement runs, the deleted row is no conflict and the new tombstone is
-- not in the snapshot: the insert would go ahead below the tombstone's
-- version. This trigger reads the tombstone again after the row is
-- inserted. A VOLATILE function takes a fresh snapshot for each query, and
-- the insert has already waited for every transaction that held the ID in
-- the unique index, so any such Delete has committed and is seen here. An
-- insert at or below the tombstone's version fails with SQLSTATE WT001,
-- which Create turns into storage.DeletedError; nothing of the statement
-- is kept.
--
-- The function names the tombstones table with this schema's name
-- (current_schema(): the migration runs with search_path set to it),
-- written into its body, because a SET search_path clause on the function
-- made every Create's trigger call cost about 10% more.

DO $do$
BEGIN
    EXECUTE format($fn$
CREATE FUNCTION instances_check_tombstone() RETURNS trigger
LANGUAGE plpgsql AS $body$
DECLARE
    buried bigint;
BEGIN
    SELECT version INTO buried FROM %I.tombstones WHERE id = NEW.id;
    IF buried IS NOT NULL AND NEW.version <= buried THEN
        RAISE EXCEPTION 'weft: instance %% was deleted at version %%', encode(NEW.id, 'escape'), buried
            USING ERRCODE = 'WT001';
    END IF;
    RETURN NULL;
END
$body$$fn$, current_schema());
END
$do$;

CREATE TRIGGER instances_check_tombstone AFTER INSERT ON instances
    FOR EACH ROW EXECUTE FUNCTION instances_check_tombstone();
