-- OpenLineage run events (docs/decisions/0013-openlineage.md).

-- The runs that are open: a row is inserted with the run's START event and deleted by the
-- transaction that writes its terminal event, so a run is closed once at most, and a
-- process that was killed leaves its runs here for the next start to close.
CREATE TABLE lineage_runs (
    run_id        TEXT PRIMARY KEY,
    parent_run_id TEXT,
    kind          TEXT NOT NULL CHECK (kind IN ('process', 'interval', 'export', 'command')),
    event_key     TEXT NOT NULL,
    start_event   TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lineage_runs_parent ON lineage_runs (parent_run_id);

-- What each batch commit added to the open interval run of its process, written in the
-- batch's transaction: rows and bytes per output dataset, records read, reasons.
CREATE TABLE lineage_tallies (
    run_id     TEXT NOT NULL,
    item       TEXT NOT NULL,
    row_count  BIGINT NOT NULL,
    byte_count BIGINT NOT NULL,
    PRIMARY KEY (run_id, item)
);

-- Events for the lineage relay (HTTP, file or console), written in the transaction that
-- opens or closes their run and deleted once delivered. An event the backend refused for
-- good (a 4xx) is kept with the reason and not sent again.
CREATE TABLE lineage_outbox (
    id          BIGSERIAL PRIMARY KEY,
    event       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    rejected    TEXT
);
CREATE INDEX lineage_outbox_pending ON lineage_outbox (id) WHERE rejected IS NULL;
