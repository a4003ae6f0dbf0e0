-- Durable agent workflows (see migrations/postgres/0003_workflows.sql).
CREATE TABLE workflows (
    workflow_id      TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    account_id       TEXT,
    status           TEXT NOT NULL CHECK (status IN ('runnable', 'completed', 'failed')),
    next_step        INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    completed_at     TEXT
);
CREATE INDEX workflows_runnable ON workflows (status, lease_expires_at) WHERE status = 'runnable';
