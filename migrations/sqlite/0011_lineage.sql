-- OpenLineage run events (see migrations/postgres/0011_lineage.sql).
CREATE TABLE lineage_runs (
    run_id        TEXT PRIMARY KEY,
    parent_run_id TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('process', 'interval', 'export', 'command')),
    event_key     TEXT NOT NULL,
    start_event   TEXT NOT NULL,
    started_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX lineage_runs_parent ON lineage_runs (parent_run_id);

CREATE TABLE lineage_tallies (
    run_id     TEXT NOT NULL,
    item       TEXT NOT NULL,
    row_count  INTEGER NOT NULL,
    byte_count INTEGER NOT NULL,
    PRIMARY KEY (run_id, item)
);

CREATE TABLE lineage_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event       TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    rejected    TEXT
);
CREATE INDEX lineage_outbox_pending ON lineage_outbox (id) WHERE rejected IS NULL;
