-- Workflow state (see migrations/postgres/0004_workflow_state.sql and
-- docs/decisions/0003-durable-workflows.md). Timestamps are RFC 3339 text.
CREATE TABLE workflow_checkpoints (
    workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),
    step_index  INTEGER NOT NULL,
    step_name   TEXT NOT NULL,
    output      TEXT NOT NULL,
    worker_id   TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (workflow_id, step_index)
);

CREATE TABLE workflow_step_runs (
    run_id      INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id TEXT NOT NULL REFERENCES workflows (workflow_id),
    step_index  INTEGER NOT NULL,
    step_name   TEXT NOT NULL,
    worker_id   TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT CHECK (outcome IN ('checkpointed', 'failed', 'lease_lost')),
    error       TEXT
);
CREATE INDEX workflow_step_runs_wf ON workflow_step_runs (workflow_id, step_index);
CREATE UNIQUE INDEX workflow_step_runs_once ON workflow_step_runs (workflow_id, step_index)
    WHERE outcome = 'checkpointed';

CREATE TABLE workflow_effects (
    idempotency_key TEXT PRIMARY KEY,
    workflow_id     TEXT NOT NULL REFERENCES workflows (workflow_id),
    step_index      INTEGER NOT NULL,
    effect          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    applied_at      TEXT NOT NULL
);
CREATE INDEX workflow_effects_wf ON workflow_effects (workflow_id, step_index);

CREATE TABLE investigation_cases (
    workflow_id    TEXT PRIMARY KEY,
    transaction_id TEXT NOT NULL UNIQUE,
    account_id     TEXT NOT NULL,
    decision       TEXT NOT NULL CHECK (decision IN ('escalate', 'clear')),
    score          REAL NOT NULL,
    factors        TEXT NOT NULL,
    note           TEXT NOT NULL,
    decided_at     TEXT NOT NULL
);
CREATE INDEX investigation_cases_account ON investigation_cases (account_id);

CREATE TABLE audit_findings (
    finding_id   TEXT PRIMARY KEY,
    workflow_id  TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    detail       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX audit_findings_window ON audit_findings (window_start, kind);

CREATE INDEX workflows_terminal ON workflows (completed_at) WHERE status <> 'runnable';
