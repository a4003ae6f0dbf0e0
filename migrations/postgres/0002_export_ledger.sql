-- Lakehouse exports: one row per decision-log range. A range is recorded as pending before
-- its objects are written and marked done after, so a crash retries the same range with
-- the same deterministic object keys (overwrite, never duplicate).
CREATE TABLE export_ledger (
    start_seq     BIGINT PRIMARY KEY,
    end_seq       BIGINT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'done')),
    objects       JSONB NOT NULL DEFAULT '[]',
    rows_exported BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ
);
