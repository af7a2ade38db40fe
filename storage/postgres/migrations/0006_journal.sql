-- Each instance's journal (storage.Journal): one row per entry, appended by
-- the Create or Commit statement that writes the record it describes, and
-- trimmed by that statement's Keep or by TrimJournal. seq is the entry's
-- Seq (at most 2^63-1, which the store checks); time is NULL for the zero
-- time; base is the record before the entry, NULL for none. An instance's
-- entries are read and trimmed in seq order through the primary key.
--
-- No foreign key to instances: a key would make every write of an
-- instance's row check for referencing rows. Delete removes an instance's
-- journal rows in the same statement as the instance.

CREATE TABLE journal (
    instance bytea  NOT NULL,
    seq      bigint NOT NULL CHECK (seq >= 1),
    time     timestamptz,
    data     bytea,
    base     bytea,
    CONSTRAINT journal_pkey PRIMARY KEY (instance, seq)
);
