-- The journey of one record (`pipeline lineage`, the MCP tool `record_lineage`): facts each
-- commit and each publication knew but did not keep. The new columns are NULL on rows
-- committed before this migration; the journey says "not recorded" for them.

-- When the pipeline took the record's batch from its source, and the PII kinds the scrubber
-- removed from its free text (a JSON array of kinds, e.g. ["email","iban"]).
ALTER TABLE transactions ADD COLUMN received_at TIMESTAMPTZ, ADD COLUMN pii_removed TEXT;
ALTER TABLE quarantine ADD COLUMN received_at TIMESTAMPTZ, ADD COLUMN pii_removed TEXT;
-- When a dead letter's batch committed (received_at is when it was read). The default is set
-- apart from ADD COLUMN so that existing rows stay NULL instead of taking this moment.
ALTER TABLE dead_letters ADD COLUMN committed_at TIMESTAMPTZ;
ALTER TABLE dead_letters ALTER COLUMN committed_at SET DEFAULT now();

-- Finding a row by its source position (`pipeline lineage --source-position`). BRIN: a few
-- pages per million rows and nothing to maintain on the COPY path; offsets grow with commit
-- order within a partition or a file, so block ranges prune well.
CREATE INDEX transactions_source_offset ON transactions USING brin (source_offset);
CREATE INDEX quarantine_source_offset ON quarantine USING brin (source_offset);

-- A record seen again after it was committed (same id, same content: a replay), where and
-- when. A replay changes nothing else, so this is its only trace.
CREATE TABLE record_replays (
    transaction_id   TEXT NOT NULL,
    source           TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    BIGINT NOT NULL,
    seen_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (transaction_id, source, source_partition, source_offset)
);

-- Where each outbox message landed: written by the relay in the transaction that deletes the
-- acknowledged outbox row, from the message's source headers (`pfm-source`,
-- `pfm-source-partition`, `pfm-source-offset`), the partition the relay chose and the offset
-- the broker acknowledged (or the in-doubt check found).
CREATE TABLE publications (
    topic            TEXT NOT NULL,
    out_partition    INTEGER NOT NULL,
    out_offset       BIGINT NOT NULL,
    source           TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    BIGINT NOT NULL,
    published_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (topic, out_partition, out_offset)
);
CREATE INDEX publications_source ON publications (source, source_partition, source_offset);
