-- The journey of one record: see migrations/postgres/0012_record_lineage.sql. Timestamps are
-- RFC 3339 text. No position index on the rows: the embedded database scans them.
ALTER TABLE transactions ADD COLUMN received_at TEXT;
ALTER TABLE transactions ADD COLUMN pii_removed TEXT;
ALTER TABLE quarantine ADD COLUMN received_at TEXT;
ALTER TABLE quarantine ADD COLUMN pii_removed TEXT;
ALTER TABLE dead_letters ADD COLUMN committed_at TEXT;

CREATE TABLE record_replays (
    transaction_id   TEXT NOT NULL,
    source           TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    INTEGER NOT NULL,
    seen_at          TEXT NOT NULL,
    PRIMARY KEY (transaction_id, source, source_partition, source_offset)
) WITHOUT ROWID;

CREATE TABLE publications (
    topic            TEXT NOT NULL,
    out_partition    INTEGER NOT NULL,
    out_offset       INTEGER NOT NULL,
    source           TEXT NOT NULL,
    source_partition INTEGER NOT NULL,
    source_offset    INTEGER NOT NULL,
    published_at     TEXT NOT NULL,
    PRIMARY KEY (topic, out_partition, out_offset)
) WITHOUT ROWID;
CREATE INDEX publications_source ON publications (source, source_partition, source_offset);
