-- Tombstones (storage.Retention.Delete): what Delete leaves of a deleted
-- instance, one row per deleted ID. version is the deleted instance's last
-- version; data is the bytes the host gave Delete, NULL for none. A Create
-- of the ID must name version (storage.DeletedError) and stores the new
-- instance at version + 1; a second deletion of the ID replaces the row.
-- Rows stay for as long as the schema, like lease rows.
--
-- Create reads the row by primary key in its one statement; Delete upserts
-- it in the statement that deletes the instance.

CREATE TABLE tombstones (
    id      bytea  NOT NULL,
    version bigint NOT NULL CHECK (version >= 1),
    data    bytea,
    CONSTRAINT tombstones_pkey PRIMARY KEY (id)
);
