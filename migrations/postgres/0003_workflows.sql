-- Durable agent workflows. A record decided `review` starts an investigation in the same
-- transaction that commits it (workflow_id = 'investigation:' || transaction_id, so a replay
-- never starts a second one). Workers claim runnable workflows with leases.
CREATE TABLE workflows (
    workflow_id      TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    account_id       TEXT,
    status           TEXT NOT NULL CHECK (status IN ('runnable', 'completed', 'failed')),
    next_step        INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    completed_at     TIMESTAMPTZ
);
CREATE INDEX workflows_runnable ON workflows (status, lease_expires_at) WHERE status = 'runnable';
